"""Shared by the lesion services: the access capability and engine input rows read from the database."""

from __future__ import annotations

from lesions import engine
from lesions.models import Assessment, Measurement
from trial.models import Participant

CAPABILITY = "lesions"


def lesion_rows(participant: Participant) -> list[engine.LesionRow]:
    return [
        engine.LesionRow(les.label, les.role, les.organ.strip().lower(), les.nodal)
        for les in participant.lesions.filter(voided=False)
    ]


def measurement_row(m: Measurement) -> engine.MeasurementRow:
    value = float(m.value_mm) if m.value_mm is not None else None
    return engine.MeasurementRow(m.lesion.label, m.state, value, m.non_target_state)


def assessment_rows(participant: Participant) -> list[engine.AssessmentRow]:
    rows = {a.pk: engine.AssessmentRow(a.pk, a.date) for a in participant.assessments.filter(voided=False)}
    qs = Measurement.objects.filter(
        assessment__in=list(rows), voided=False, lesion__voided=False
    ).select_related("lesion")
    for m in qs:
        rows[m.assessment_id].measurements[m.lesion.label] = measurement_row(m)
    return sorted(rows.values(), key=lambda r: r.date)


def baseline_assessment(participant: Participant) -> Assessment | None:
    return participant.assessments.filter(voided=False).order_by("date").first()


def baseline_mm(participant: Participant) -> dict[str, float | None]:
    base = baseline_assessment(participant)
    if base is None:
        return {}
    return {
        m.lesion.label: engine.effective_mm(measurement_row(m))
        for m in base.measurements.filter(voided=False).select_related("lesion")
    }
