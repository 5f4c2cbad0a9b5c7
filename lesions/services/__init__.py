"""Lesion writes split by subdomain (registry, mri, common); re-exports the public API."""

from lesions.services.common import (
    CAPABILITY,
    assessment_rows,
    baseline_assessment,
    baseline_mm,
    lesion_rows,
    measurement_row,
)
from lesions.services.mri import (
    DCE_MODELS,
    curve_upload,
    job_finish,
    mask_analysis_upload,
    parameters_enter,
    read_bytes,
    roi_get_or_create,
    store_bytes,
    voxelwise_upload,
)
from lesions.services.registry import (
    MAX_MM,
    assessment_create,
    assessment_update,
    clean_entry,
    lesion_create,
    lesion_update,
    measurements_record,
    on_registry_void,
    responses_recompute,
)

__all__ = [
    "CAPABILITY",
    "DCE_MODELS",
    "MAX_MM",
    "assessment_create",
    "assessment_rows",
    "assessment_update",
    "baseline_assessment",
    "baseline_mm",
    "clean_entry",
    "curve_upload",
    "job_finish",
    "lesion_create",
    "lesion_rows",
    "lesion_update",
    "mask_analysis_upload",
    "measurement_row",
    "measurements_record",
    "on_registry_void",
    "parameters_enter",
    "read_bytes",
    "responses_recompute",
    "roi_get_or_create",
    "store_bytes",
    "voxelwise_upload",
]
