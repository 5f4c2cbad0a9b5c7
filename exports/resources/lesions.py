"""Export resources of lesions: registry, assessments with RECIST 1.1/iRECIST responses, measurements, MRI parameters."""

from __future__ import annotations

from exports.resources.base import Col, Resource, register

try:
    from lesions.models import Assessment, Lesion, Measurement, MriParameterSet, ParticipantResponse
except ImportError:  # the lesions app has not landed these models
    Assessment = Lesion = Measurement = MriParameterSet = ParticipantResponse = None

P = Col("participant", "participant__study_id")
SITE = Col("site", "participant__site__code")
COMMON = (Col("voided"), Col("created_at"), Col("updated_at"))

if Lesion is not None:
    LESIONS = register(
        Resource(
            name="lesions",
            model=Lesion,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("label"),
                Col("organ"),
                Col("location"),
                Col("nodal"),
                Col("role"),
                Col("description"),
                *COMMON,
            ),
            description="Lesion registry (target, non-target, new).",
        )
    )

if Assessment is not None:
    ASSESSMENTS = register(
        Resource(
            name="assessments",
            model=Assessment,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("date"),
                Col("visit", "visit_id"),
                Col("modality"),
                Col("sum_mm"),
                Col("nadir_mm"),
                Col("new_lesion_target_sum_mm"),
                Col("target_response"),
                Col("non_target_response"),
                Col("new_lesions_present"),
                Col("recist_response"),
                Col("irecist_response"),
                Col("reasons"),
                Col("engine_error"),
                Col("notes"),
                *COMMON,
            ),
            date_fields=("date",),
            description="Radiological time points with the stored RECIST 1.1 and iRECIST responses.",
        )
    )

if Measurement is not None:
    MEASUREMENTS = register(
        Resource(
            name="measurements",
            model=Measurement,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("assessment", "assessment_id"),
                Col("assessment_date", "assessment__date"),
                Col("lesion", "lesion_id"),
                Col("lesion_label", "lesion__label"),
                Col("lesion_role", "lesion__role"),
                Col("nodal", "lesion__nodal"),
                Col("state"),
                Col("value_mm"),
                Col("non_target_state"),
                *COMMON,
            ),
            description="Lesion diameters (mm) and non-target states per assessment.",
        )
    )

if ParticipantResponse is not None:
    RESPONSES = register(
        Resource(
            name="best-responses",
            model=ParticipantResponse,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("best_recist"),
                Col("best_irecist"),
                Col("progression_date_recist"),
                Col("progression_date_irecist"),
                Col("reasons"),
                Col("engine_error"),
                *COMMON,
            ),
            description="Best overall response per participant (RECIST 1.1 and iRECIST).",
        )
    )

if MriParameterSet is not None:
    PARAMETERS = register(
        Resource(
            name="mri-parameters",
            model=MriParameterSet,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("lesion", "roi__lesion_id"),
                Col("lesion_label", "roi__lesion__label"),
                Col("roi", "roi_id"),
                Col("acquired_on", "roi__acquired_on"),
                Col("kind"),
                Col("method"),
                Col("model"),
                Col("status"),
                Col("error"),
                Col("ktrans_per_min"),
                Col("ve"),
                Col("vp"),
                Col("kep_per_min"),
                Col("fp_ml_100ml_min"),
                Col("ps_per_min"),
                Col("ivim_f"),
                Col("ivim_d_mm2_s"),
                Col("ivim_dstar_mm2_s"),
                Col("dki_d_mm2_s"),
                Col("dki_k"),
                Col("iauc60_mm_s"),
                Col("iauc90_mm_s"),
                Col("time_to_peak_s"),
                Col("initial_slope_mm_per_s"),
                Col("washout_fraction"),
                Col("fit_rms"),
                Col("fit_success"),
                Col("mr_roi", "mr_roi_id"),
                Col("voxel_count"),
                Col("volume_ml"),
                Col("spread"),
                Col("provenance"),
                *COMMON,
            ),
            description="MRI parameter sets per lesion ROI (DCE Tofts/ETofts/2CXM, IVIM, DKI, semi-quantitative).",
        )
    )
