"""RECIST 1.1 and iRECIST together: the one entry point that validates and evaluates a whole course."""

from __future__ import annotations

from collections.abc import Sequence

from quant.response import irecist
from quant.response.recist import (
    PD,
    Assessment,
    Evaluation,
    Lesion,
    Settings,
    best_overall_recist,
    check_assessments,
    recist_timepoints,
)


def evaluate(
    lesions: Sequence[Lesion], assessments: Sequence[Assessment], settings: Settings | None = None
) -> Evaluation:
    """Validate, then compute RECIST 1.1 and iRECIST time-point and best overall responses."""
    settings = settings or Settings()
    check_assessments(lesions, assessments)
    rows = recist_timepoints(lesions, assessments)
    timepoints = irecist.add_irecist(assessments, rows)
    best_r, why_r = best_overall_recist(timepoints, settings)
    best_i, why_i = irecist.best_overall_irecist(timepoints, settings)
    first_pd = next((tp.date for tp in timepoints[1:] if tp.recist == PD), None)
    return Evaluation(
        timepoints,
        best_r,
        best_i,
        {"recist": why_r, "irecist": why_i},
        {"recist": first_pd, "irecist": irecist.progression_date(timepoints)},
    )
