"""Checks and derived values of casebook records, shared by the forms, the API and imports via the services.

Each `check_<kind>(participant, values)` returns the values to store or raises ValidationError with field
errors; messages use the labels a coordinator sees, never field names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from quant.labs import LabGradeError, grade, lab_input
from quant.labs.criteria import TESTS
from quant.labs.pk_counts import PkCountError, serum_activity
from trial.models import Participant
from trial.site_time import site_today

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _dates(
    participant: Participant, values: dict[str, Any], errors: Errors, *, start: str, end: str | None
) -> None:
    today = site_today(participant.site)
    for name in (start, end):
        when = values.get(name) if name else None
        if isinstance(when, dt.datetime):
            when = when.date()
        if when and when > today:
            _add(errors, name, "This date is in the future.")
    if end and values.get(start) and values.get(end) and values[end] < values[start]:
        _add(errors, end, "The end date is before the start date.")


def _ongoing(values: dict[str, Any], errors: Errors) -> None:
    if values.get("ongoing") and values.get("end_date"):
        _add(errors, "end_date", "Leave the end date empty when the record is ongoing, or untick ongoing.")
    if not values.get("ongoing") and not values.get("end_date"):
        _add(errors, "end_date", "Give the end date, or tick ongoing.")


def _own(participant: Participant, values: dict[str, Any], errors: Errors, *names: str) -> None:
    for name in names:
        obj = values.get(name)
        if obj is not None and getattr(obj, "participant_id", participant.pk) != participant.pk:
            _add(errors, name, "This belongs to another participant.")


def _raise(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def check_medication(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _dates(participant, values, errors, start="start_date", end="end_date")
    _ongoing(values, errors)
    if values.get("category") == "prior" and values.get("ongoing"):
        _add(errors, "ongoing", "A prior medication has stopped: record it as concomitant if it continues.")
    if values.get("dose") is not None and not values.get("dose_unit"):
        _add(errors, "dose_unit", "Give the unit of the dose.")
    values["atc_code"] = (values.get("atc_code") or "").strip().upper()
    values["whodrug_code"] = (values.get("whodrug_code") or "").strip()
    _coded(values, errors)
    _raise(errors)
    return values


def _coded(values: dict[str, Any], errors: Errors) -> None:
    """With a drug dictionary loaded, a WHODrug code must exist there and fills an empty ATC code."""
    from casebook.models import WhoDrugEntry

    code = values.get("whodrug_code")
    if not code or not WhoDrugEntry.objects.exists():
        return
    entry = WhoDrugEntry.objects.filter(drug_code=code).first()
    if entry is None:
        _add(errors, "whodrug_code", f"{code} is not in the loaded drug dictionary.")
    elif not values.get("atc_code"):
        values["atc_code"] = entry.atc_code


def check_medical_history(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _dates(participant, values, errors, start="start_date", end="end_date")
    if values.get("ongoing") and values.get("end_date"):
        _add(errors, "end_date", "Leave the end date empty when the condition is ongoing.")
    _raise(errors)
    return values


def check_cancer_history(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _dates(participant, values, errors, start="diagnosis_date", end=None)
    _raise(errors)
    return values


def check_prior_therapy(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _dates(participant, values, errors, start="start_date", end="end_date")
    _raise(errors)
    return values


def check_vital_signs(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _own(participant, values, errors, "visit", "tracer_dose")
    _dates(participant, values, errors, start="measured_at", end=None)
    sys_bp, dia_bp = values.get("systolic_mmhg"), values.get("diastolic_mmhg")
    if sys_bp is not None and dia_bp is not None and dia_bp >= sys_bp:
        _add(errors, "diastolic_mmhg", "The diastolic pressure must be below the systolic pressure.")
    dose, when, timepoint = values.get("tracer_dose"), values.get("measured_at"), values.get("timepoint")
    if timepoint in ("pre_infusion", "post_infusion") and dose is None:
        _add(errors, "tracer_dose", "Choose the tracer infusion these vital signs were taken around.")
    if dose is not None and when is not None and "tracer_dose" not in errors:
        if timepoint == "pre_infusion" and when > dose.administered_at:
            _add(errors, "measured_at", "Measured after the infusion started, yet marked as before it.")
        if timepoint == "post_infusion" and when < dose.administered_at:
            _add(errors, "measured_at", "Measured before the infusion, yet marked as after it.")
    _raise(errors)
    return values


def check_body_measurement(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _own(participant, values, errors, "visit")
    _dates(participant, values, errors, start="measured_on", end=None)
    _raise(errors)
    return values


def check_ecog(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _own(participant, values, errors, "visit")
    _dates(participant, values, errors, start="assessed_on", end=None)
    _raise(errors)
    return values


def lab_baseline(
    participant: Participant, values: dict[str, Any], exclude_pk: int | None = None
) -> Decimal | None:
    """The latest baseline result of the same test and unit collected on or before this one (not itself)."""
    if values.get("is_baseline"):
        return None
    from casebook.models import LabResult

    qs = LabResult.objects.filter(
        participant=participant,
        voided=False,
        is_baseline=True,
        test_code=values.get("test_code"),
        unit=values.get("unit"),
        collected_on__lte=values.get("collected_on"),
    ).exclude(pk=exclude_pk)
    latest = qs.order_by("-collected_on", "-id").first()
    return latest.value if latest else None


def check_lab_result(
    participant: Participant, values: dict[str, Any], *, exclude_pk: int | None = None
) -> dict[str, Any]:
    """Check ranges and units; store the CTCAE v5.0 grade, direction and term (quant.labs)."""
    errors: Errors = {}
    _own(participant, values, errors, "visit")
    _dates(participant, values, errors, start="collected_on", end=None)
    lln, uln = values.get("lln"), values.get("uln")
    if lln is not None and uln is not None and lln > uln:
        _add(errors, "lln", "The lower limit of normal is above the upper limit.")
    _raise(errors)
    code = values.get("test_code")
    values.update(ctcae_grade=0, direction="", ctcae_term="", grade_note="", baseline_value=None)
    if code not in TESTS:
        values["grade_note"] = "Not graded: CTCAE v5.0 gives no value bands for this test."
        return values
    baseline = lab_baseline(participant, values, exclude_pk)
    try:
        result = grade(
            lab_input(
                test=code, value=values["value"], unit=values["unit"], lln=lln, uln=uln, baseline=baseline
            )
        )
    except LabGradeError as exc:
        text = str(exc)
        field = "unit" if "unit" in text else ("lln" if "LLN" in text else "uln")
        raise ValidationError({field: [text[0].upper() + text[1:] + "."]}) from None
    values.update(
        baseline_value=baseline,
        ctcae_grade=result.grade,
        direction=result.direction or "",
        ctcae_term=result.ctcae_term or "",
        grade_note=result.criterion[:300] if result.grade else "Within the graded bands: no CTCAE grade.",
    )
    return values


def check_pk_sample(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _own(participant, values, errors, "tracer_dose")
    _dates(participant, values, errors, start="sampled_at", end="counted_at")
    _raise(errors)
    dose = values["tracer_dose"]
    try:
        activity = serum_activity(
            injected_at=dose.administered_at,
            sampled_at=values["sampled_at"],
            counted_at=values["counted_at"],
            gross_counts=float(values["gross_counts"]),
            background_counts=float(values.get("background_counts") or 0),
            count_time_s=float(values["count_time_s"]),
            efficiency=float(values["counter_efficiency"]),
            calibration=float(values.get("calibration_factor") or 1),
            volume_ml=float(values["sample_volume_ml"]),
        )
    except PkCountError as exc:
        text = str(exc)
        field = (
            "sampled_at"
            if "drawn before" in text
            else "counted_at"
            if "counted before" in text
            else "background_counts"
        )
        raise ValidationError({field: [text[0].upper() + text[1:] + "."]}) from None
    values["minutes_after_injection"] = Decimal(f"{activity.minutes_after_injection:.2f}")
    values["activity_bq_per_ml"] = Decimal(f"{activity.bq_per_ml_at_injection:.3f}")
    return values


def check_ada_sample(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _own(participant, values, errors, "visit")
    _dates(participant, values, errors, start="collected_on", end=None)
    if values.get("titre") is not None and values.get("result") != "positive":
        _add(errors, "titre", "A titre is given only for a positive sample.")
    _raise(errors)
    return values


def check_disposition(participant: Participant, values: dict[str, Any]) -> dict[str, Any]:
    errors: Errors = {}
    _dates(participant, values, errors, start="end_date", end=None)
    died = values.get("status") == "death"
    if died and not values.get("death_date"):
        _add(errors, "death_date", "Give the date of death.")
    if not died and (values.get("death_date") or values.get("death_cause")):
        _add(errors, "death_date", "A date or cause of death is recorded only when the reason is death.")
    if values.get("death_date") and values.get("end_date") and values["death_date"] > values["end_date"]:
        _add(errors, "death_date", "The date of death is after the end of study date.")
    _raise(errors)
    return values


CHECKS: dict[str, Callable[..., dict[str, Any]]] = {
    "medication": check_medication,
    "medicalhistory": check_medical_history,
    "cancerhistory": check_cancer_history,
    "priortherapyline": check_prior_therapy,
    "vitalsigns": check_vital_signs,
    "bodymeasurement": check_body_measurement,
    "ecogassessment": check_ecog,
    "labresult": check_lab_result,
    "pksample": check_pk_sample,
    "adasample": check_ada_sample,
    "disposition": check_disposition,
}
