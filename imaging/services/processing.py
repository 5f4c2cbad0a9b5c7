"""Worker-side processing of a stored PET series: SUV volume, MIP, VOI results and provenance."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from imaging import pet_adapters
from imaging.models import Scan, ScanStatus, SeriesUpload, UploadState
from imaging.services.common import _compute, _sha256, suv_volume
from imaging.services.recovery import pause_for_tests
from imaging.services.vois import _save_voi_result, _voi_result_values
from quant.errors import SeriesError
from quant.pet.series import read_pet_series
from quant.pet.suv import SuvError
from trial.audit import AuditContext, audited_update, write_entry
from trial.models import AuditSource
from trial.write_gate import RecordLocked, check_write, report_refusal

ENGINE_VERSION = "cd8pet-pet 1.0 (quant.pet.suv QIBA, quant.pet.voi)"


# The worker's state transitions: which states each may start from (a voided upload never moves).
STATE_FROM: dict[str, set[str]] = {
    UploadState.PROCESSING: {
        UploadState.STORED,
        UploadState.PROCESSING,
        UploadState.FAILED,
        UploadState.DONE,
    },
    UploadState.DONE: {UploadState.PROCESSING},
    UploadState.FAILED: {UploadState.PROCESSING},
    UploadState.STORED: {UploadState.PROCESSING},  # back after a run refused by a lock (nothing stored)
}


def _set_progress(upload_id: int, **fields: Any) -> None:
    """Progress and message only (a display hint, not clinical data): no version step, no audit entry."""
    SeriesUpload.objects.filter(pk=upload_id, voided=False).update(**fields, updated_at=timezone.now())


@transaction.atomic
def _set_state(upload_id: int, *, state: str, **fields: Any) -> bool:
    """Move the upload to `state` under a row lock, re-checking where it stands; False if it may not move.

    The same UPDATE raises `version`; the transition is audited (source worker).
    """
    upload = SeriesUpload.objects.select_for_update().get(pk=upload_id)
    if upload.voided or upload.state not in STATE_FROM[state]:
        return False
    SeriesUpload.objects.filter(pk=upload_id).update(
        **fields, state=state, version=F("version") + 1, updated_at=timezone.now()
    )
    write_entry(
        upload,
        ctx=AuditContext.system(source=AuditSource.WORKER),
        action="update",
        changes={"state": [upload.state, state], "version": [upload.version, upload.version + 1]},
        reason=str(fields.get("state_message", "")) or f"Worker: {state}",
    )
    return True


def series_process(upload_id: int) -> dict[str, Any]:
    """Compute the SUV volume, the MIP and every VOI's metrics; idempotent (results updated in place)."""
    upload = SeriesUpload.objects.select_related("scan", "participant").get(pk=upload_id)
    if upload.voided or upload.state == UploadState.BLOCKED:
        return {"skipped": upload.state}
    try:  # a recompute is a write: frozen or locked data refuses it before anything moves (write gate)
        check_write(upload, action="update", changes={"state": [upload.state, UploadState.PROCESSING]})
    except RecordLocked as exc:  # recorded where people see it (monitoring: the data manager overview)
        message = report_refusal(
            upload,
            ctx=AuditContext.system(source=AuditSource.WORKER),
            what="PET series processing",
            refusal=exc,
        )
        _set_progress(
            upload_id, state_message=f"Processing refused, nothing stored: {message}"
        )  # a display hint
        return {"upload": upload_id, "refused": message}
    previous = upload.state
    started = _set_state(
        upload_id,
        state=UploadState.PROCESSING,
        progress=5,
        attempts=F("attempts") + 1,
        state_message="Reading the stored series",
    )
    if not started:
        upload.refresh_from_db(fields=["state", "voided"])
        return {"skipped": "voided" if upload.voided else upload.state}
    instances = list(upload.instances.order_by("z_index"))
    paths = [default_storage.path(i.path) for i in instances]
    for inst, path in zip(instances, paths):
        if _sha256(Path(path)) != inst.sha256:
            return _fail(upload_id, f"stored file {inst.path} does not match its checksum")
    try:
        series = read_pet_series(paths)
        result = _compute(series, upload.suv_parameters)
    except (SeriesError, SuvError) as exc:
        return _fail(upload_id, str(exc))
    _set_progress(upload_id, progress=30, state_message="SUV volume computed; rendering the MIP")
    suv = suv_volume(series, result)
    png, window = pet_adapters.render_mip(suv, tuple(series.geometry.spacing))
    _set_progress(upload_id, progress=45, state_message="Computing VOI metrics")
    pause_for_tests()  # PET_PROCESSING_TEST_DELAY_SECONDS: a worker-kill test stops the run here
    provenance_base = {
        "engine_version": ENGINE_VERSION,
        "input_checksums": {
            "series_sha256": hashlib.sha256("".join(i.sha256 for i in instances).encode()).hexdigest(),
            "instances": len(instances),
        },
        "parameters": {
            **upload.suv_parameters,
            "suv_bw_factor": result.suv_bw_factor,
            "decay_time_s": result.decay_time_s,
            "reference_time_source": result.reference_time_source,
        },
        "formula": result.formula,
    }
    vois = list(upload.vois.filter(voided=False))
    computed = []  # computed first, stored together below: a refusal leaves nothing half-stored
    for n, voi in enumerate(vois, start=1):
        computed.append((voi, *_voi_result_values(voi, suv, series.geometry, result, provenance_base)))
        _set_progress(upload_id, progress=45 + int(50 * n / max(len(vois), 1)))
    summary = {
        "suv_max": float(suv.max()),
        "suv_p99": float(np.percentile(suv, 99)),
        "suv_bw_factor": result.suv_bw_factor,
        "decay_time_h": result.decay_time_s / 3600.0,
    }
    try:
        _store(upload, computed, png, window, summary)
    except RecordLocked as exc:  # a freeze or lock that arrived during the computation: nothing was stored
        return _refused_midway(upload_id, previous, exc)
    return {"upload": upload_id, "vois": len(computed), "suv_bw_factor": result.suv_bw_factor}


def _store(upload: SeriesUpload, computed: list, png: bytes, window: dict, summary: dict) -> None:
    """Every result of the run in one transaction through the write gate (the upload, each VOI, the scan): all
    stored, or nothing (the MIP file of a refused or failed run is removed; the earlier one stays in use)."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            locked = SeriesUpload.objects.select_for_update().get(pk=upload.pk)
            check_write(locked, action="update", changes={"state": [locked.state, UploadState.DONE]})
            for voi, metrics, provenance in computed:
                _save_voi_result(voi, metrics, provenance)
            stored.append(default_storage.save(f"{upload.storage_dir}/mip.png", ContentFile(png)))
            previous_mip = locked.mip_path
            if _finish(upload, stored[0], window, summary, len(computed)):
                if previous_mip and previous_mip != stored[0]:  # replaced once the new one is committed
                    transaction.on_commit(lambda: default_storage.delete(previous_mip))
            else:  # voided meanwhile: this run's MIP is not used
                transaction.on_commit(lambda: default_storage.delete(stored[0]))
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


def _refused_midway(upload_id: int, previous: str, exc: RecordLocked) -> dict[str, Any]:
    """Record the refusal (monitoring: a RefusedWrite row, audited) and put the upload back where it stood, with
    the lock's message for the scan page and the API (the upload's own state, not clinical data)."""
    upload = SeriesUpload.objects.get(pk=upload_id)
    message = report_refusal(
        upload, ctx=AuditContext.system(source=AuditSource.WORKER), what="PET series processing", refusal=exc
    )
    back = UploadState.STORED if previous == UploadState.PROCESSING else previous
    _set_state(
        upload_id,
        state=back,
        progress=100 if back == UploadState.DONE else 0,
        state_message=f"Processing refused, nothing stored: {message}",
    )
    return {"upload": upload_id, "refused": message}


def _fail(upload_id: int, message: str) -> dict[str, Any]:
    _set_state(upload_id, state=UploadState.FAILED, state_message=f"Processing failed: {message}")
    return {"upload": upload_id, "error": message}


@transaction.atomic
def _finish(upload: SeriesUpload, mip_name: str, window: dict, summary: dict, count: int) -> bool:
    """Mark the upload done (audited by `_set_state`) and the scan analysed; False if voided meanwhile."""
    done = _set_state(
        upload.pk,
        state=UploadState.DONE,
        progress=100,
        mip_path=mip_name,
        mip_window=window,
        suv_summary=summary,
        processed_at=timezone.now(),
        state_message=f"Results ready: SUV volume and {count} VOI(s)",
    )
    if not done:
        return False
    scan = Scan.objects.select_for_update().get(pk=upload.scan_id)
    if scan.status in (ScanStatus.UPLOADED, ScanStatus.ACQUIRED, ScanStatus.SCHEDULED):
        audited_update(
            scan,
            ctx=AuditContext.system(source=AuditSource.WORKER),
            data={"status": ScanStatus.ANALYSED},
            reason="SUV and VOI metrics computed",
        )
    return True
