"""Scan planning from the protocol calendar, scan status changes and the tracer dose of a scan."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from imaging.models import Modality, Scan, ScanStatus
from trial import access
from trial.audit import AuditContext, audited_create, audited_update
from trial.models import AuditSource, Participant, TracerDose, Visit
from trial.versioning import lock_current


def _plan_for(visit: Visit) -> dict[str, Any]:
    """Tracer visit, planned hours after it and the window in hours, from the protocol calendar.

    A PET time point of the calendar (`pet_time_points` of a tracer visit) gives its hours and hour window;
    otherwise (an unscheduled visit, MRI) the hours come from the visit dates and the window from its days.
    """
    definition = visit.definition
    anchor = definition.anchor if definition else ""
    prefix = "OT_" if visit.code.startswith("OT_") else "BL_"
    tracer_code = anchor if anchor.endswith("TRACER") else f"{prefix}TRACER"
    if visit.kind == "pet" and definition is not None and definition.hours_after_anchor is not None:
        return {
            "tracer_visit_code": tracer_code,
            "planned_hours_post_injection": float(definition.hours_after_anchor),
            "window_hours_before": float(definition.window_hours_before or 0.0),
            "window_hours_after": float(definition.window_hours_after or 0.0),
        }
    if visit.kind == "pet" and definition is not None:
        hours = float(definition.day) * 24.0
    else:
        tracer = visit.participant.visits.filter(code=tracer_code).first()
        hours = float((visit.planned_date - tracer.planned_date).days * 24) if tracer else None
    return {
        "tracer_visit_code": tracer_code,
        "planned_hours_post_injection": hours,
        "window_hours_before": float(visit.window_before) * 24.0,
        "window_hours_after": float(visit.window_after) * 24.0,
    }


def scans_ensure_for_participant(participant: Participant) -> list[Scan]:
    """Create the Scan of every PET/MRI visit that has none yet (lazily, idempotent, audited as system)."""
    missing = participant.visits.filter(kind__in=("pet", "mri"), voided=False, scan__isnull=True)
    if not missing.exists():
        return list(participant.scans.all())
    ctx = AuditContext.system(source=AuditSource.SYSTEM)
    with transaction.atomic():
        for visit in missing.select_related("definition").select_for_update(of=("self",)):
            if Scan.objects.filter(visit=visit).exists():
                continue
            audited_create(
                Scan(
                    participant=participant,
                    visit=visit,
                    modality=Modality.PET if visit.kind == "pet" else Modality.MRI,
                    **_plan_for(visit),
                ),
                ctx=ctx,
                reason="Scan planned from the protocol calendar",
            )
    return list(participant.scans.all())


def scans_ensure_for_participants(participants) -> None:
    from trial.models import Visit as VisitModel

    ids = set(
        VisitModel.objects.filter(
            participant__in=participants, kind__in=("pet", "mri"), voided=False, scan__isnull=True
        ).values_list("participant_id", flat=True)
    )
    for participant in Participant.objects.filter(pk__in=ids):
        scans_ensure_for_participant(participant)


@transaction.atomic
def scan_mark_acquired(*, ctx: AuditContext, scan: Scan, reason: str = "Scan acquired") -> Scan:
    access.require(ctx.user, "imaging", scan.participant.site_id)
    lock_current(scan)  # re-read the status under a row lock: two clicks never both pass the check
    if scan.status != ScanStatus.SCHEDULED:
        raise ValidationError(
            {"status": f"Only a scheduled scan can be marked acquired (it is {scan.status})."}
        )
    audited_update(scan, ctx=ctx, data={"status": ScanStatus.ACQUIRED}, reason=reason)
    return scan


def tracer_dose_for(scan: Scan) -> TracerDose | None:
    return (
        TracerDose.objects.filter(
            participant_id=scan.participant_id, visit__code=scan.tracer_visit_code, voided=False
        )
        .order_by("administered_at")
        .first()
    )
