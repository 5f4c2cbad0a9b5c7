"""The one error type of :mod:`quant.pk`: input a pharmacokinetic fit or TIAC cannot use."""

from __future__ import annotations

from quant.errors import QuantError


class PkInputError(QuantError):
    """Too few points, negative times, non-positive values, or options the PK engine refuses."""
