"""Tracer pharmacokinetics: exponential fits, AUC, half-lives, TIAC and paired cohort statistics (pure).

Everything here is Django-free and works on plain sequences of hours after injection and values.
89Zr physical half-life 78.41 h (DOMAIN-IMAGING.md).
"""

from __future__ import annotations

from quant.pk.constants import LAMBDA_PHYS_PER_H, ZR89_HALF_LIFE_H
from quant.pk.errors import PkInputError
from quant.pk.fit import PkResult, analyse

__all__ = ["LAMBDA_PHYS_PER_H", "ZR89_HALF_LIFE_H", "PkInputError", "PkResult", "analyse"]
