"""The SDV status export resource (registered into exports.resources.REGISTRY by MonitoringConfig.ready)."""

from __future__ import annotations

from exports.resources.base import Col, Resource, register
from monitoring.models import SdvMark


def register_sdv_resource() -> Resource:
    return register(
        Resource(
            name="sdv-status",
            model=SdvMark,
            columns=(
                Col("id"),
                Col("participant", "participant__study_id"),
                Col("site", "site__code"),
                Col("resource", help="Export resource of the verified record."),
                Col("object_id", help="Id of the verified record in that resource."),
                Col("field", help='Verified field; "" = the whole record.'),
                Col("record_version", help="Version of the record that was verified."),
                Col("value_hash", help="SHA-256 of the verified value(s)."),
                Col("verified_by", "verified_by__username"),
                Col("verified_at"),
                Col("cleared_at", help="Set when the verified value changed (changed since verification)."),
                Col("cleared_reason"),
                Col("created_at"),
                Col("updated_at"),
            ),
            site_field="site",
            participant_field=None,
            description="Source data verification marks; a cleared mark means changed since verification.",
        )
    )
