"""Every error type that ``quant`` raises; each message is one readable line, fit to show a user as is.

All derive from :class:`QuantError` (a ``ValueError``), so an entry point can refuse any bad input with
one ``except`` and the message, never a traceback.
"""

from __future__ import annotations

from collections import Counter


class QuantError(ValueError):
    """Input that a pure computation cannot use."""


class QuantInputError(QuantError):
    """Data or options that a model fit cannot use (DCE, IVIM, DKI, curve CSVs)."""


class ModelValidityError(QuantInputError):
    """Data outside the range where the model is valid (e.g. DKI b-values beyond 3/(D K))."""


class SeriesError(QuantError):
    """A DICOM series that cannot be used."""


class MixedSeriesError(SeriesError):
    """Files of several series; ``series`` lists them (uid, modality, description, instances) for a chooser."""

    def __init__(self, seen: list[tuple[str, str, str]]) -> None:
        counts = Counter(seen)
        self.series = [
            {"series_instance_uid": uid, "modality": mod, "description": desc, "instances": n}
            for (uid, mod, desc), n in counts.items()
        ]
        super().__init__(f"files belong to {len(self.series)} series: {series_summary(seen)}")


def series_summary(seen: list[tuple[str, str, str]]) -> str:
    """'uid (modality, 'description', n files); ...' for the series among some files."""
    counts = Counter(seen)
    return "; ".join(
        f"{uid} ({mod or '?'}, '{desc or ''}', {count} files)" for (uid, mod, desc), count in counts.items()
    )


class SuvError(QuantError):
    """A header from which SUV cannot be computed correctly."""


class VoiError(QuantError):
    """A VOI that cannot be placed on the PET grid."""


class TextureError(QuantError):
    """Invalid image, mask, spacing or settings given to texture feature extraction."""


class VolumetryError(QuantError):
    """Invalid mask or spacing given to a volumetry function."""


class RecistInputError(QuantError):
    """Lesions or assessments that the RECIST 1.1 / iRECIST engine refuses."""


class MriInputError(QuantError):
    """An uploaded MRI file (curve CSV, NIfTI) that cannot be used."""


class PetCommandError(QuantError):
    """Bad arguments or input to the ``pet_suv`` command."""
