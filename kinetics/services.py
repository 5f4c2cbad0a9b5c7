"""Writes of the PK side: recording a TIAC export handed to dosimetry software (audited)."""

from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError
from django.db import transaction

from kinetics.analysis import TiacTable, tiac_csv
from kinetics.models import DosimetryExport
from trial import access
from trial.audit import AuditContext, audited_create
from trial.models import Participant


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
