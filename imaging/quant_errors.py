"""Error types raised by the pure quantification modules (DCE, IVIM, DKI)."""

from __future__ import annotations


class QuantInputError(ValueError):
    """Input data or options that a quantification function cannot use; message is one readable line."""


class ModelValidityError(QuantInputError):
    """Data outside the range where the model is valid (e.g. DKI b-values beyond 3/(D K))."""
