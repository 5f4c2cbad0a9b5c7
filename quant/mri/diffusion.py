"""Input checks shared by the diffusion fits (IVIM, DKI)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant.errors import QuantInputError

FloatArray = NDArray[np.float64]


def validate_b_signal(
    b_s_mm2: ArrayLike, signal: ArrayLike, min_distinct: int
) -> tuple[FloatArray, FloatArray]:
    """Return (b, S) as float arrays, refusing shapes, NaNs, negative b, non-positive signal, too few b."""
    b = np.asarray(b_s_mm2, dtype=float)
    s = np.asarray(signal, dtype=float)
    if b.ndim != 1 or s.shape != b.shape:
        raise QuantInputError(
            f"b-values and signal must be 1-D of the same length (got {b.shape}, {s.shape})"
        )
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(s))):
        raise QuantInputError("b-values and signal must be finite numbers")
    if np.any(b < 0):
        raise QuantInputError("b-values must be >= 0")
    if np.any(s <= 0):
        raise QuantInputError("signal must be positive at every b-value")
    if np.unique(b).size < min_distinct:
        raise QuantInputError(f"need at least {min_distinct} distinct b-values, got {np.unique(b).size}")
    return b, s


def reference_signal(b: FloatArray, s: FloatArray) -> float:
    """Mean signal at the lowest b-value, used to normalise before fitting."""
    return float(s[b == b.min()].mean())
