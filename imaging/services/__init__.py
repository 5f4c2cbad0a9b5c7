"""PET writes split by subdomain (scans, ingest, vois, processing, common); re-exports the public API."""

from imaging.services.blocks import block_limits, upload_override
from imaging.services.common import enqueue_after_commit, geometry_from_json, geometry_json, uid_key
from imaging.services.ingest import (
    SUV_MATCH_RTOL,
    finding_acknowledge,
    on_upload_void,
    series_upload_ingest,
    suv_parameters,
)
from imaging.services.processing import ENGINE_VERSION, series_process
from imaging.services.scans import (
    scan_mark_acquired,
    scans_ensure_for_participant,
    scans_ensure_for_participants,
    tracer_dose_for,
)
from imaging.services.vois import voi_create_from_file, voi_create_sphere, voi_mask

__all__ = [
    "block_limits",
    "ENGINE_VERSION",
    "SUV_MATCH_RTOL",
    "enqueue_after_commit",
    "finding_acknowledge",
    "geometry_from_json",
    "geometry_json",
    "on_upload_void",
    "scan_mark_acquired",
    "scans_ensure_for_participant",
    "scans_ensure_for_participants",
    "series_process",
    "series_upload_ingest",
    "suv_parameters",
    "tracer_dose_for",
    "uid_key",
    "upload_override",
    "voi_create_from_file",
    "voi_create_sphere",
    "voi_mask",
]
