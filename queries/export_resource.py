"""The sponsor export resource "queries": one row per query, in the export API and its change feed."""

from __future__ import annotations

from exports.resources.base import Col, Resource, register
from queries.models import Query

QUERIES = register(
    Resource(
        name="queries",
        model=Query,
        site_field="site",
        participant_field="participant__study_id",
        columns=(
            Col("id"),
            Col("participant", "participant__study_id", help="Study id of the participant."),
            Col("site", "site__code", help="Site code."),
            Col("resource", help="Export resource of the queried record."),
            Col("object_id", help="Id of the queried record in that resource."),
            Col("field", help="Queried column of the record."),
            Col("status"),
            Col("origin"),
            Col("rule_code", help="Edit-check rule of an automatic query."),
            Col("text", help="The question as first raised."),
            Col("raised_by", "raised_by_display", help="Printed name of the raiser, or system."),
            Col("raised_at"),
            Col("answered_at"),
            Col("closed_at"),
            Col("closed_automatically"),
            Col("reopen_count"),
            Col("updated_at"),
        ),
        date_fields=("raised_at",),
        description="Data queries (manual and automatic) with their state; the thread is in /api/v1/queries/.",
    )
)
