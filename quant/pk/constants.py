"""Physical constants of the tracer."""

from __future__ import annotations

import math

ZR89_HALF_LIFE_H = 78.41  # 282,276 s (DOMAIN-IMAGING.md)
LAMBDA_PHYS_PER_H = math.log(2.0) / ZR89_HALF_LIFE_H


def decay_factor(hours: float) -> float:
    """Fraction of 89Zr activity left after `hours`: 2^(-t/T1/2)."""
    return 2.0 ** (-hours / ZR89_HALF_LIFE_H)
