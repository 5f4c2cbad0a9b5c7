"""Export resources of safety: adverse events with CTCAE term, grade, seriousness and per-exposure relatedness."""

from __future__ import annotations

from exports.resources.base import Col, Resource, register

try:
    from safety.models import AdverseEvent
except ImportError:  # the safety app has not landed its models
    AdverseEvent = None

if AdverseEvent is not None:
    ADVERSE_EVENTS = register(
        Resource(
            name="adverse-events",
            model=AdverseEvent,
            columns=(
                Col("id"),
                Col("participant", "participant__study_id"),
                Col("site", "participant__site__code"),
                Col("term", "term__term", help="CTCAE term (MedDRA LLT)."),
                Col("meddra_code", "term__meddra_code", help="MedDRA LLT code."),
                Col("soc", "term__soc", help="MedDRA system organ class."),
                Col("ctcae_version"),
                Col("verbatim_term"),
                Col("grade"),
                Col("onset_date", help="ISO 8601, partial dates kept partial."),
                Col("onset_precision"),
                Col("end_date"),
                Col("end_precision"),
                Col("ongoing"),
                Col("serious"),
                Col("sae_death"),
                Col("sae_life_threatening"),
                Col("sae_hospitalisation"),
                Col("sae_disability"),
                Col("sae_congenital_anomaly"),
                Col("sae_other_important"),
                Col("sae_aware_at"),
                Col("outcome"),
                Col("death_date"),
                Col("action_anti_pd1"),
                Col("anti_pd1_drug"),
                Col("immune_related"),
                Col("rel_tracer"),
                Col("rel_pet"),
                Col("rel_biopsy"),
                Col("rel_anti_pd1"),
                Col("description"),
                Col("out_of_window"),
                Col("out_of_window_reason"),
                Col("previous", "previous_id"),
                Col("voided"),
                Col("created_at"),
                Col("updated_at"),
            ),
            date_fields=("death_date",),
            description="Adverse events (CTCAE), with per-exposure relatedness and SAE criteria.",
        )
    )
