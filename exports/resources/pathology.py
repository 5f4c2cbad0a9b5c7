"""Export resources of pathology: biopsies and IHC scores."""

from __future__ import annotations

from exports.resources.base import Col, Resource, register

try:
    from pathology.models import Biopsy, IhcScore
except ImportError:  # the pathology app has not landed its models
    Biopsy = IhcScore = None

P = Col("participant", "participant__study_id")
SITE = Col("site", "participant__site__code")
COMMON = (Col("voided"), Col("created_at"), Col("updated_at"))

if Biopsy is not None:
    BIOPSIES = register(
        Resource(
            name="biopsies",
            model=Biopsy,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("period"),
                Col("visit", "visit_id"),
                Col("biopsy_date"),
                Col("organ"),
                Col("site_detail"),
                Col("lesion", "lesion_id"),
                Col("lesion_label", "lesion__label"),
                Col("sample_id"),
                Col("core_count"),
                Col("tumour_cells_present"),
                Col("adequacy_comment"),
                *COMMON,
            ),
            date_fields=("biopsy_date",),
            description="Tumour biopsies linked to lesions.",
        )
    )

if IhcScore is not None:
    IHC_SCORES = register(
        Resource(
            name="ihc-scores",
            model=IhcScore,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("biopsy", "biopsy_id"),
                Col("sample_id", "biopsy__sample_id"),
                Col("marker", "marker__code"),
                Col("marker_name", "marker__name"),
                Col("scorer_number"),
                Col("score_date"),
                Col("antibody_clone"),
                Col("scoring_method"),
                Col("density_intratumoural"),
                Col("density_stromal"),
                Col("percent_positive"),
                Col("semi_quant"),
                Col("immune_phenotype"),
                Col("tps"),
                Col("cps"),
                Col("pdl1_pos_tumour_cells"),
                Col("pdl1_pos_lymphocytes"),
                Col("pdl1_pos_macrophages"),
                Col("viable_tumour_cells"),
                Col("h_score"),
                Col("value"),
                Col("value_category"),
                Col("comment"),
                *COMMON,
            ),
            date_fields=("score_date",),
            description="IHC scores per biopsy, marker and scorer (CD8 density, PD-L1 TPS/CPS, ...).",
        )
    )
