"""Export resources of imaging: PET scans, their findings, VOIs and SUV metrics per VOI."""

from __future__ import annotations

from exports.resources.base import Col, Resource, register

try:
    from imaging.models import Finding, Scan, Voi, VoiResult
except ImportError:  # the imaging app has not landed these models
    Finding = Scan = Voi = VoiResult = None

P = Col("participant", "participant__study_id")
SITE = Col("site", "participant__site__code")
COMMON = (Col("voided"), Col("created_at"), Col("updated_at"))

if Scan is not None:
    SCANS = register(
        Resource(
            name="scans",
            model=Scan,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("visit", "visit_id"),
                Col("visit_code", "visit__code"),
                Col("modality"),
                Col("tracer_visit_code"),
                Col("planned_hours_post_injection"),
                Col("window_hours_before"),
                Col("window_hours_after"),
                Col("status"),
                Col("acquired_at"),
                *COMMON,
            ),
            date_fields=("acquired_at",),
            description="PET scans per visit.",
        )
    )

if Finding is not None:
    FINDINGS = register(
        Resource(
            name="scan-findings",
            model=Finding,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("scan", "scan_id"),
                Col("code"),
                Col("severity"),
                Col("message"),
                Col("details"),
                Col("acknowledged"),
                Col("acknowledged_at"),
                Col("acknowledgement_note"),
                *COMMON,
            ),
            description="Checks and cross-check findings on scans (e.g. DICOM vs recorded dose).",
        )
    )

if Voi is not None:
    VOIS = register(
        Resource(
            name="vois",
            model=Voi,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("scan", "scan_id"),
                Col("name"),
                Col("kind"),
                Col("organ"),
                Col("source"),
                Col("voxel_count"),
                Col("lesion", "lesion_id"),
                Col("lesion_label", "lesion__label"),
                *COMMON,
            ),
            description="Volumes of interest on PET scans.",
        )
    )

if VoiResult is not None:
    SUV = register(
        Resource(
            name="suv-metrics",
            model=VoiResult,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("voi", "voi_id"),
                Col("voi_name", "voi__name"),
                Col("scan", "voi__scan_id"),
                Col("lesion", "voi__lesion_id"),
                Col("lesion_label", "voi__lesion__label"),
                Col("suv_max"),
                Col("suv_mean"),
                Col("suv_peak"),
                Col("pct_id_per_kg_mean"),
                Col("pct_id_per_kg_max"),
                Col("volume_ml"),
                Col("metrics"),
                Col("provenance"),
                Col("computed_at"),
            ),
            date_fields=("computed_at",),
            description="SUV metrics per VOI (SUVmax/mean/peak, %ID/kg, volume) with provenance.",
        )
    )
