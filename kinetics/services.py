"""Writes of the PK side: recording a TIAC export handed to dosimetry software and storing the PK parameters
of a participant's curves (both audited)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from kinetics import parameters, selectors
from kinetics.analysis import TiacTable, tiac_csv
from kinetics.models import DosimetryExport, PkParameter
from trial import access
from trial.audit import AuditContext, audited_create, audited_update, audited_void
from trial.duplicates import lock_participant
from trial.models import Participant
from trial.write_gate import RecordLocked, refused_before_work, report_refusal


@transaction.atomic
def dosimetry_export_record(
    *, ctx: AuditContext, participant: Participant, table: TiacTable
) -> tuple[DosimetryExport, bytes]:
    """Store what is exported (rows, method, checksum) and return it with the CSV bytes."""
    access.require(ctx.user, "imaging", participant.site_id)
    if not table.rows:
        raise ValidationError({"tracer_visit_code": "No source organ has enough time points for a TIAC."})
    data = tiac_csv(table)
    rows = [[r["organ"], r["tiac_h"], r["n"], r["source"]] for r in table.rows]
    if table.remainder_h is not None:
        rows.append(["Remainder of body", table.remainder_h, None, "whole body minus source organs"])
    export = DosimetryExport(
        participant=participant,
        tracer_visit_code=table.tracer_visit_code,
        method=table.method,
        method_text=table.method_text,
        rows=rows,
        data_sha256=hashlib.sha256(data).hexdigest(),
        exported_by=ctx.user,
    )
    audited_create(export, ctx=ctx, reason=f"TIAC export for dosimetry ({table.method})")
    return export, data


REFRESH_REASON = "PK parameters recomputed from the current curves"


def _fields(p: parameters.Parameter, digest: str) -> dict:
    return {
        "series_label": p.series_label[:120],
        "category": p.category,
        "specimen": p.specimen,
        "test_name": p.test_name,
        "value": p.value,
        "unit": p.unit,
        "not_done_reason": p.not_done_reason[:200],
        "fit_model": p.model,
        "n_points": p.n_points,
        "method": parameters.METHOD_TEXT,
        "inputs_sha256": digest,
    }


@transaction.atomic
def pk_parameters_refresh(*, ctx: AuditContext, participant: Participant) -> dict[str, int]:
    """Store the participant's PK parameters as computed now: new ones created, changed ones updated, ones no
    longer computed voided (all audited); unchanged rows are not touched. Returns the counts.

    A person needs the imaging capability at the participant's site; a system context (no user: the demo, the
    `pk_parameters` command) may refresh any participant.
    """
    if ctx.user is not None:
        access.require(ctx.user, "imaging", participant.site_id)
    lock_participant(participant)  # one refresh of a participant at a time
    points = selectors.participant_points(participant)
    curve_digests = parameters.digests(points, participant.sex)
    wanted = {p.key: p for p in parameters.compute(points, participant.sex)}
    stored = {
        (r.tracer_visit_code, r.series_key, r.quantity, r.test_code): r
        for r in PkParameter.objects.select_for_update().filter(participant=participant, voided=False)
    }
    counts = {"created": 0, "updated": 0, "voided": 0, "unchanged": 0}
    for key, p in wanted.items():
        data = _fields(p, curve_digests[(p.tracer_visit_code, p.series_key)])
        row = stored.get(key)
        if row is None:
            audited_create(
                PkParameter(
                    participant=participant,
                    tracer_visit_code=p.tracer_visit_code,
                    series_key=p.series_key,
                    quantity=p.quantity,
                    test_code=p.test_code,
                    **data,
                ),
                ctx=ctx,
                reason=REFRESH_REASON,
            )
            counts["created"] += 1
        elif any(getattr(row, k) != v for k, v in data.items()):
            audited_update(row, ctx=ctx, data=data, reason=REFRESH_REASON)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    for key, row in stored.items():
        if key not in wanted:
            audited_void(row, ctx=ctx, reason="No longer computed from the current curves")
            counts["voided"] += 1
    return counts


# What the stored parameters are computed from: a write to one of these (audited, through the write gate)
# queues a refresh of its participant once the write commits.
PK_INPUTS = frozenset(
    {"imaging.seriesupload", "imaging.voi", "casebook.pksample", "trial.tracerdose", "trial.participant"}
)


def refresh_on_write(instance: Any, *, action: str, changes: dict, ctx: Any, reason: str = "") -> None:
    """Write-gate listener: after a change to a PK input commits, queue one refresh of its participant (one per
    transaction, however many inputs it wrote)."""
    from kinetics import tasks

    label = instance._meta.label_lower
    if label not in PK_INPUTS or not getattr(settings, "PK_AUTO_REFRESH", True):
        return
    participant_id = (
        instance.pk if label == "trial.participant" else getattr(instance, "participant_id", None)
    )
    if participant_id is None:
        return
    connection = transaction.get_connection()
    queued = any(
        getattr(entry[1], "pk_refresh_of", None) == participant_id for entry in connection.run_on_commit
    )
    if queued:
        return

    def queue() -> None:
        tasks.refresh_pk_parameters.delay(participant_id)

    queue.pk_refresh_of = participant_id  # type: ignore[attr-defined]
    transaction.on_commit(queue)


def pk_parameters_refresh_after_change(participant_id: int) -> str:
    """The worker's refresh: refused (and recorded) while the participant's data are frozen or locked, nothing
    written when nothing changed."""
    participant = Participant.objects.get(pk=participant_id)
    ctx = AuditContext.system()
    if (message := refused_before_work(participant, ctx=ctx, what="PK parameter refresh")) is not None:
        return f"refused: {message}"
    try:
        with transaction.atomic():
            counts = pk_parameters_refresh(ctx=ctx, participant=participant)
    except RecordLocked as exc:
        return f"refused: {report_refusal(participant, ctx=ctx, what='PK parameter refresh', refusal=exc)}"
    return ", ".join(f"{k} {v}" for k, v in counts.items())
