"""Finding DICOM files and telling which series they hold (for a chooser and for mixed-folder refusals)."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError

from quant.dicom.values import text_value
from quant.errors import MixedSeriesError, SeriesError

Identity = tuple[str, str, str]  # series instance uid, modality, description


def list_dicom_files(directory: str) -> list[str]:
    """All regular files under a directory (sorted); DICOM-ness is checked by the reader."""
    if not os.path.isdir(directory):
        raise SeriesError(f"{directory}: not a directory")
    out = []
    for root, _dirs, files in os.walk(directory):
        out.extend(os.path.join(root, f) for f in files if not f.startswith("."))
    if not out:
        raise SeriesError(f"{directory}: no files")
    return sorted(out)


def read_dicom(path: str) -> Any:
    """A whole Part 10 file read by pydicom (never with ``force``), or SeriesError naming the file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
            if len(head) < 132 or head[128:132] != b"DICM":
                raise SeriesError(f"{os.path.basename(path)}: not a DICOM file (no preamble/DICM prefix)")
            handle.seek(0)
            return pydicom.dcmread(handle)
    except SeriesError:
        raise
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise SeriesError(f"{os.path.basename(path)}: unreadable DICOM ({type(exc).__name__})") from exc


def header_identity(ds: Any) -> Identity:
    """(series uid, modality, description) of a header read by pydicom."""
    return (
        str(ds.get("SeriesInstanceUID", "")),
        text_value(ds, "Modality") or "",
        text_value(ds, "SeriesDescription") or "",
    )


def scan_series(paths: list[str]) -> list[dict]:
    """Headers only: the series found among files (uid, modality, description, count) for a chooser UI."""
    found: Counter = Counter()
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, EOFError, OSError, ValueError):
            continue
        key = (
            str(ds.get("SeriesInstanceUID", "")),
            text_value(ds, "Modality"),
            text_value(ds, "SeriesDescription"),
        )
        found[key] += 1
    return [
        {"series_instance_uid": uid, "modality": mod, "description": desc, "instances": count}
        for (uid, mod, desc), count in found.items()
    ]


def raise_if_mixed(paths: list[str], seen: list[Identity]) -> None:
    """Report a mixed folder (with what it holds) in preference to any per-file error.

    ``seen`` holds the identities of the files read so far (``paths[:len(seen)]``); the rest are read here.
    """
    for path in paths[len(seen) :]:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError):
            continue
        seen.append(header_identity(ds))
    if len({s[0] for s in seen}) > 1:
        raise MixedSeriesError(seen)
