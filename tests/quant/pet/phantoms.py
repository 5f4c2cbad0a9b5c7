"""Shared helpers for the PET tests here and in tests/imaging (phantom writing into tmp_path)."""

from __future__ import annotations

from pathlib import Path

from quant.pet.phantom import PhantomInfo, PhantomSpec, write_phantom

DATA = Path(__file__).resolve().parents[2] / "data" / "suv_reference"
SMALL = (12, 40, 40)


def small_phantom(directory: Path, **fields) -> PhantomInfo:
    """A 12 x 40 x 40 phantom (4 mm voxels) with the given PhantomSpec fields."""
    fields.setdefault("shape", SMALL)
    return write_phantom(str(directory), PhantomSpec(**fields))
