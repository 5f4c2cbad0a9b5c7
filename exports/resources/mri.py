"""Export resources of the MRI app: MR series uploads, voxel-wise map jobs (with each map's summary) and the ROIs
placed on their maps (each map's median and spread inside).

Site-scoped through the participant like every subject-level resource; stored file paths (storage
directories, map files) are not exported, the de-identified series' UIDs and checksums are.
"""

from __future__ import annotations

from exports.resources.base import Col, Resource, register

try:
    from mri.models import MrMapJob, MrRoi, MrSeriesUpload
except ImportError:  # the MRI app has not landed these models
    MrMapJob = MrRoi = MrSeriesUpload = None

P = Col("participant", "participant__study_id")
SITE = Col("site", "participant__site__code")
COMMON = (Col("voided"), Col("created_at"), Col("updated_at"))

if MrSeriesUpload is not None:
    SERIES = register(
        Resource(
            name="mr-series-uploads",
            model=MrSeriesUpload,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("scan", "scan_id"),
                Col("visit_code", "scan__visit__code"),
                Col("kind"),
                Col("instance_count"),
                Col("total_bytes"),
                Col("series_instance_uid", help="De-identified (remapped) SeriesInstanceUID."),
                Col("description"),
                Col("source_fingerprint", help="SHA-256 over the received files' SHA-256."),
                Col("stored_checksums", help="SHA-256 of every stored (de-identified) file."),
                Col(
                    "acquisition",
                    help="Grid, affine, frame times, b-values, flip angles, TR (read before de-identification).",
                ),
                Col("deid_profile"),
                Col("intake_report"),
                *COMMON,
            ),
            description="MR series (DCE, VFA, DWI, anatomical) uploaded to MRI scans, de-identified.",
        )
    )

if MrMapJob is not None:
    MAP_JOBS = register(
        Resource(
            name="mr-map-jobs",
            model=MrMapJob,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("scan", "scan_id"),
                Col("visit_code", "scan__visit__code"),
                Col("series", "series_id"),
                Col("vfa", "vfa_id", help="VFA series giving T10 (empty: fixed T10 in options)."),
                Col("model"),
                Col("options", help="t10_ms, r1, hematocrit, aif, fit_delay."),
                Col("state"),
                Col("message"),
                Col("summary", help="Median and spread of each map over the fitted voxels."),
                Col("provenance"),
                *COMMON,
            ),
            description="Voxel-wise MRI parameter-map jobs (Tofts, extended Tofts, 2CXM, IVIM, DKI) and results.",
        )
    )

if MrRoi is not None:
    ROIS = register(
        Resource(
            name="mr-rois",
            model=MrRoi,
            columns=(
                Col("id"),
                P,
                SITE,
                Col("job", "job_id"),
                Col("model", "job__model"),
                Col("scan", "job__scan_id"),
                Col("name"),
                Col("source"),
                Col("definition"),
                Col("voxel_count"),
                Col("stats", help="{parameter: {median, q1, q3, mean, sd, n_voxels}}"),
                *COMMON,
            ),
            description="ROIs on MRI parameter maps with each map's median and spread inside.",
        )
    )
