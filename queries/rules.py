"""Edit checks that raise automatic queries: each rule has a code, the record and field it queries, and a check.

`check(record)` returns '' when the record passes, else the query text. `targets(instance)` names the records
to re-check after an audited write of `instance` (a visit write can move the AE reporting window), and
`sweep()` yields every record the rule applies to (`manage.py run_query_rules`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models

from trial.models import Visit, VisitStatus
from trial.schedule import is_out_of_window


@dataclass(frozen=True)
class Rule:
    code: str
    label: str
    resource: str
    field: str
    triggers: tuple[str, ...]
    check: Callable[[Any], str]
    targets: Callable[[models.Model], Iterable[models.Model]]
    sweep: Callable[[], Iterable[models.Model]]
    # Fields whose update on a secondary trigger (not the queried record's own model) can change the outcome.
    watch: frozenset[str] = frozenset(
        {"actual_date", "planned_date", "status", "is_study_procedure", "voided", "administered_at"}
    )


def _label(instance: models.Model) -> str:
    return f"{instance._meta.app_label}.{instance._meta.model_name}"


# --- visits: done out of window without an explanation ------------------------------------------------


def visit_window_check(visit: Visit) -> str:
    if visit.voided or visit.status != VisitStatus.DONE or visit.actual_date is None:
        return ""
    if not is_out_of_window(visit.planned_date, visit.window_before, visit.window_after, visit.actual_date):
        return ""
    if visit.out_of_window_reason.strip():
        return ""
    return (
        f"{visit.name} was done on {visit.actual_date}, outside its window {visit.window_start} to "
        f"{visit.window_end}, and no explanation is recorded. Please explain the deviation."
    )


VISIT_WINDOW = Rule(
    code="VISIT_OUT_OF_WINDOW",
    label="Visit done out of window without an explanation",
    resource="visits",
    field="out_of_window_reason",
    triggers=("trial.visit",),
    check=visit_window_check,
    targets=lambda instance: [instance],
    sweep=lambda: Visit.objects.filter(voided=False, status=VisitStatus.DONE).select_related("participant"),
)


# --- AEs: onset outside the CTCAE reporting window ------------------------------------------------------


def ae_window_check(ae: Any) -> str:
    from safety import partial_dates
    from safety.rules import outside_window
    from trial.selectors import reporting_window

    if ae.voided:
        return ""
    try:
        onset = partial_dates.parse(ae.onset_date)
    except ValueError:
        return ""
    why = outside_window(onset, reporting_window(ae.participant))
    if not why:
        return ""
    reason = f' The stated reason is: "{ae.out_of_window_reason}".' if ae.out_of_window_reason else ""
    return (
        f"The AE onset lies outside the reporting window (first study procedure to 100 days after the last): "
        f"{why}. Please confirm or correct the onset date.{reason}"
    )


def _aes_of(participant_id: int) -> Iterable[Any]:
    from safety.models import AdverseEvent

    return AdverseEvent.objects.filter(participant_id=participant_id).select_related("participant")


def ae_window_targets(instance: models.Model) -> Iterable[Any]:
    if _label(instance) == "safety.adverseevent":
        return [instance]
    return _aes_of(instance.participant_id)  # a visit or tracer dose moved the window


def _ae_sweep() -> Iterable[Any]:
    from safety.models import AdverseEvent

    return AdverseEvent.objects.filter(voided=False).select_related("participant")


AE_WINDOW = Rule(
    code="AE_ONSET_OUTSIDE_WINDOW",
    label="AE onset outside the reporting window",
    resource="adverse-events",
    field="onset_date",
    triggers=("safety.adverseevent", "trial.visit", "trial.tracerdose"),
    check=ae_window_check,
    targets=ae_window_targets,
    sweep=_ae_sweep,
)


# --- imaging findings: injection, activity, weight, scan window ----------------------------------------

FINDING_FAMILIES = {
    "IMG_INJECTION_MISMATCH": (
        "PET header injection time or date contradicts the dosing record",
        ("INJECTION_TIME_MISMATCH", "INJECTION_DATE_MISMATCH"),
    ),
    "IMG_ACTIVITY_MISMATCH": ("PET header activity contradicts the dosing record", ("ACTIVITY_MISMATCH",)),
    "IMG_WEIGHT_MISMATCH": (
        "PET header weight contradicts the participant's weight",
        ("WEIGHT_MISMATCH", "WEIGHT_CONTRADICTS_RECORD"),
    ),
    "IMG_SCAN_OUT_OF_WINDOW": (
        "Scan acquired outside its window",
        ("SCAN_OUT_OF_WINDOW", "SCAN_FAR_OUTSIDE_WINDOW"),
    ),
}


def _finding_check(codes: tuple[str, ...]) -> Callable[[Any], str]:
    def check(finding: Any) -> str:
        if finding.voided or finding.code not in codes or finding.acknowledged:
            return ""
        if finding.upload_id is not None and finding.upload.voided:
            return ""
        return (
            f"Imaging check {finding.code} on {finding.scan}: {finding.message} "
            "Please review the dosing record or the series and acknowledge the finding with how it was resolved."
        )

    return check


def _finding_targets(instance: models.Model) -> Iterable[Any]:
    if _label(instance) == "imaging.finding":
        return [instance]
    return instance.findings.select_related("upload", "scan")  # an upload voided or restored


def _finding_sweep(codes: tuple[str, ...]) -> Callable[[], Iterable[Any]]:
    def sweep() -> Iterable[Any]:
        from imaging.models import Finding

        return Finding.objects.filter(voided=False, code__in=codes, acknowledged=False).select_related(
            "upload", "scan", "scan__participant", "scan__visit"
        )

    return sweep


FINDING_RULES = tuple(
    Rule(
        code=code,
        label=label,
        resource="scan-findings",
        field="acknowledged",
        triggers=("imaging.finding", "imaging.seriesupload"),
        check=_finding_check(codes),
        targets=_finding_targets,
        sweep=_finding_sweep(codes),
    )
    for code, (label, codes) in FINDING_FAMILIES.items()
)


# --- pathology: two pathologists' PD-L1 TPS on opposite sides of 1 % or 50 % ---------------------------

TPS_CUTOFFS = (Decimal("1"), Decimal("50"))


def tps_category(tps: Decimal) -> int:
    """0: < 1 %, 1: 1-49 %, 2: >= 50 % (the PD-L1 TPS cut-offs)."""
    return sum(1 for cut in TPS_CUTOFFS if tps >= cut)


def _pdl1_pair(score: Any) -> list[Any]:
    from pathology.models import IhcScore

    return list(
        IhcScore.objects.filter(biopsy_id=score.biopsy_id, marker_id=score.marker_id, voided=False)
        .select_related("marker", "biopsy")
        .order_by("scorer_number", "id")
    )


def tps_check(score: Any) -> str:
    """Queried on the second scorer's record of a biopsy's PD-L1 pair."""
    if score.voided or score.marker.code != "PD-L1" or score.tps is None:
        return ""
    pair = _pdl1_pair(score)
    if len(pair) < 2 or pair[-1].pk != score.pk:
        return ""
    first = pair[0]
    if first.tps is None or tps_category(first.tps) == tps_category(score.tps):
        return ""
    return (
        f"The two PD-L1 TPS of biopsy {score.biopsy.sample_id} fall on opposite sides of a cut-off "
        f"(1 % or 50 %): scorer {first.scorer_number} {first.tps} %, scorer {score.scorer_number} {score.tps} %. "
        "Please re-review and correct one score, or explain."
    )


def _tps_targets(instance: models.Model) -> Iterable[Any]:
    from pathology.models import IhcScore

    return IhcScore.objects.filter(biopsy_id=instance.biopsy_id, marker_id=instance.marker_id).select_related(
        "marker", "biopsy"
    )


def _tps_sweep() -> Iterable[Any]:
    from pathology.models import IhcScore

    return IhcScore.objects.filter(voided=False, marker__code="PD-L1", scorer_number=2).select_related(
        "marker", "biopsy"
    )


PDL1_TPS = Rule(
    code="PDL1_TPS_DISCORDANT",
    label="Two pathologists' PD-L1 TPS on opposite sides of 1 % or 50 %",
    resource="ihc-scores",
    field="tps",
    triggers=("pathology.ihcscore",),
    check=tps_check,
    targets=_tps_targets,
    sweep=_tps_sweep,
)


# --- labs: CTCAE grade >= 2 without a matching AE (when the casebook's lab forms exist) ------------------


def lab_check(lab: Any) -> str:
    from casebook.selectors import _ae_covers
    from safety.models import AdverseEvent

    if lab.voided or (lab.ctcae_grade or 0) < 2:
        return ""
    aes = AdverseEvent.objects.filter(participant_id=lab.participant_id, voided=False).select_related("term")
    if any(_ae_covers(ae, lab) for ae in aes):
        return ""
    return (
        f"{lab} is CTCAE grade {lab.ctcae_grade} ({lab.ctcae_term or 'graded term'}) and no adverse event of that "
        "term covers the collection day. Please record the AE, or correct the lab value or explain."
    )


def _lab_targets(instance: models.Model) -> Iterable[Any]:
    from casebook.models import LabResult

    if _label(instance) == "casebook.labresult":
        return [instance]
    return LabResult.objects.filter(participant_id=instance.participant_id, ctcae_grade__gte=2)


def _lab_sweep() -> Iterable[Any]:
    from casebook.models import LabResult

    return LabResult.objects.filter(voided=False, ctcae_grade__gte=2)


def _lab_rules() -> tuple[Rule, ...]:
    try:
        from casebook.models import LabResult
    except ImportError:  # pragma: no cover - the lab forms are not there
        return ()
    if not any(f.name == "ctcae_grade" for f in LabResult._meta.concrete_fields):  # pragma: no cover
        return ()
    return (
        Rule(
            code="LAB_GRADE2_WITHOUT_AE",
            label="Lab value of CTCAE grade 2 or more without a matching AE",
            resource="lab-results",
            field="ctcae_grade",
            triggers=("casebook.labresult", "safety.adverseevent"),
            check=lab_check,
            targets=_lab_targets,
            sweep=_lab_sweep,
            watch=frozenset({"term", "onset_date", "end_date", "ongoing", "voided"}),
        ),
    )


RULES: tuple[Rule, ...] = (VISIT_WINDOW, AE_WINDOW, *FINDING_RULES, PDL1_TPS, *_lab_rules())


def rules_for(label: str) -> list[Rule]:
    return [r for r in RULES if label in r.triggers]
