"""MR series uploads (validated, de-identified, stored) and voxel-wise map jobs (writes; audited).

Ingestion reads the chosen series before de-identification (quant.mri.dicom_series: b-values from the
standard, Siemens CSA, GE and Philips tags, timing, flip angles), de-identifies every file with the trial's
profile (imaging.pet_adapters, quant.dicom.deid) and writes the standard DiffusionBValue/gradient into a
classic file whose b-value came from a private tag (private tags are removed by de-identification). The
de-identified series is read again and must give the same pixels and acquisition parameters, else nothing
is stored. Map jobs run in the worker (mri.tasks) and store NIfTI, DICOM Parametric Map and PNG per map.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from imaging.models import Modality, Scan
from imaging.pet_adapters import deidentify_dataset
from imaging.services.common import _sha256, uid_key
from mri.models import JobState, MrMap, MrMapJob, MrSeriesUpload, SeriesKind
from quant.dicom.deid import DEIDENTIFICATION_METHOD, dataset_bytes
from quant.dicom.files import read_dicom
from quant.errors import QuantError
from quant.mri import map_outputs
from quant.mri.dicom_series import MrSeries, read_mr_series
from quant.mri.dicom_tags import diffusion
from quant.mri.pipeline import CONTRACT_KEYS, SEMIQUANT_KEYS, FitOptions, fit_series, foreground
from trial import access
from trial.audit import AuditContext, audited_create, audited_update, write_entry
from trial.models import AuditAction, AuditSource
from trial.write_gate import RecordLocked, refused_before_work, report_refusal

CAPABILITY = "imaging"


class SeriesChoiceNeeded(ValidationError):
    """The upload holds several series: ``series`` lists them for the chooser."""

    def __init__(self, series: list[dict[str, Any]]) -> None:
        self.series = series
        listing = "; ".join(f"{s['description'] or '?'} ({s['instances']} files)" for s in series)
        super().__init__(
            {"series_instance_uid": f"the upload holds {len(series)} MR series; choose one: {listing}"}
        )


def _refuse(message: str, field: str = "files") -> ValidationError:
    return ValidationError({field: message})


def _groups(files: list[tuple[Path, str]]) -> tuple[dict[str, list[tuple[Path, str, Any]]], list[str]]:
    groups: dict[str, list] = {}
    ignored = []
    for path, name in files:
        try:
            with open(path, "rb") as handle:
                head = handle.read(132)
            if head[128:132] != b"DICM":
                raise ValueError
            ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        except (ValueError, OSError, EOFError, pydicom.errors.InvalidDicomError):
            ignored.append(name)
            continue
        if "SeriesInstanceUID" not in ds or str(ds.get("Modality", "")) != "MR":
            ignored.append(name)
            continue
        groups.setdefault(str(ds.SeriesInstanceUID), []).append((path, name, ds))
    if not groups:
        raise _refuse(
            "no MR image in the upload" + (f" (ignored: {', '.join(ignored[:5])})" if ignored else "")
        )
    return groups, ignored


def _choose(groups: dict[str, list], series_uid: str | None, kind: str) -> list[tuple[Path, str, Any]]:
    if series_uid:
        if series_uid not in groups:
            raise _refuse(f"series {series_uid} is not in this upload", "series_instance_uid")
        return groups[series_uid]
    if len(groups) > 1 and kind != SeriesKind.VFA:
        raise SeriesChoiceNeeded(
            [
                {
                    "series_instance_uid": uid,
                    "description": str(items[0][2].get("SeriesDescription", "")),
                    "instances": len(items),
                }
                for uid, items in groups.items()
            ]
        )
    return [item for items in groups.values() for item in items]


def acquisition_json(series: MrSeries) -> dict[str, Any]:
    def arr(a: Any) -> list | None:
        return None if a is None else [float(v) for v in np.asarray(a).ravel()]

    return {
        "shape": list(series.data.shape),
        "enhanced": series.enhanced,
        "affine": [[float(v) for v in row] for row in series.affine],
        "times_s": arr(series.times_s),
        "b_values": arr(series.b_values),
        "flip_deg": arr(series.flip_deg),
        "tr_ms": series.tr_ms,
        "warnings": series.warnings,
    }


def _check_kind(kind: str, series: MrSeries) -> None:
    if kind == SeriesKind.DCE and (series.n_volumes < 2 or series.times_s is None):
        raise _refuse("a DCE series needs several temporal positions with frame times")
    if kind == SeriesKind.DWI and (
        series.b_values is None or np.unique(np.round(series.b_values, 3)).size < 2
    ):
        raise _refuse("a DWI series needs at least 2 different b-values")
    if kind == SeriesKind.VFA and (
        series.flip_deg is None or np.unique(series.flip_deg).size < 2 or not series.tr_ms
    ):
        raise _refuse("a VFA series needs at least 2 flip angles and a RepetitionTime")


def _deidentify(paths: list[Path], out_dir: Path, study_id: str, key: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, path in enumerate(paths):
        ds = read_dicom(str(path))
        b, direction = diffusion(ds) if int(ds.get("NumberOfFrames") or 1) == 1 else (None, None)
        clean = deidentify_dataset(ds, study_id=study_id, key=key)
        if b is not None and "DiffusionBValue" not in clean:
            clean.DiffusionBValue = float(b)
            clean.DiffusionGradientOrientation = [
                float(v) for v in (direction if direction is not None else (0, 0, 0))
            ]
        target = out_dir / f"{index:06d}.dcm"
        target.write_bytes(dataset_bytes(clean))
        written.append(target)
    return written


def _same(before: MrSeries, after: MrSeries) -> None:
    same = before.data.shape == after.data.shape and np.array_equal(before.data, after.data)
    for attr in ("times_s", "b_values", "flip_deg"):
        a, b = getattr(before, attr), getattr(after, attr)
        same = same and ((a is None and b is None) or (a is not None and b is not None and np.allclose(a, b)))
    if not same:
        raise _refuse(
            "de-identification changed the pixels or the acquisition parameters; nothing was stored"
        )


def series_upload_ingest(
    *,
    ctx: AuditContext,
    scan: Scan,
    kind: str,
    files: list[tuple[Path, str]],
    work_dir: Path,
    series_uid: str | None = None,
) -> MrSeriesUpload:
    """Validate, de-identify and store one MR series of an MRI scan."""
    access.require(ctx.user, CAPABILITY, scan.participant.site_id)
    if scan.modality != Modality.MRI:
        raise _refuse("MR series are uploaded to MRI scans only", "scan")
    if scan.voided:
        raise _refuse("this scan is voided", "scan")
    if kind not in SeriesKind.values:
        raise _refuse("choose the kind of series", "kind")
    groups, ignored = _groups(files)
    chosen = _choose(groups, series_uid, kind)
    paths = [p for p, _n, _ds in chosen]
    several = kind == SeriesKind.VFA
    try:
        before = read_mr_series([str(p) for p in paths], allow_several_series=several)
        _check_kind(kind, before)
        deid_paths = _deidentify(
            [Path(p) for p in before.files],
            work_dir / "deid",
            scan.participant.study_id,
            uid_key(scan.participant),
        )
        after = read_mr_series([str(p) for p in deid_paths], allow_several_series=several)
    except QuantError as exc:
        raise _refuse(str(exc)) from exc
    _same(before, after)
    sources = sorted(_sha256(Path(p)) for p in before.files)
    fingerprint = hashlib.sha256("".join(sources).encode()).hexdigest()
    if MrSeriesUpload.objects.filter(scan=scan, source_fingerprint=fingerprint, voided=False).exists():
        raise _refuse("this series was already uploaded to this scan; nothing was stored")
    report = {
        "ignored_files": ignored,
        "other_series": [uid for uid in groups if uid not in {str(c[2].SeriesInstanceUID) for c in chosen}],
    }
    return _store(ctx, scan, kind, after, deid_paths, fingerprint, report)


def _store(
    ctx, scan, kind, series: MrSeries, paths: list[Path], fingerprint: str, report: dict
) -> MrSeriesUpload:
    storage_dir = f"mri/{scan.participant.study_id}/{uuid.uuid4().hex}"
    saved: list[str] = []
    try:
        with transaction.atomic():
            checksums = []
            for i, path in enumerate(paths):
                saved.append(
                    default_storage.save(f"{storage_dir}/{i:05d}.dcm", ContentFile(path.read_bytes()))
                )
                checksums.append(_sha256(path))
            upload = audited_create(
                MrSeriesUpload(
                    participant=scan.participant,
                    scan=scan,
                    kind=kind,
                    uploaded_by=ctx.user if getattr(ctx.user, "is_authenticated", False) else None,
                    storage_dir=storage_dir,
                    instance_count=len(paths),
                    total_bytes=sum(p.stat().st_size for p in paths),
                    series_instance_uid=series.series_uids[0][:64],
                    description=series.description[:128],
                    source_fingerprint=fingerprint,
                    stored_checksums=checksums,
                    acquisition=acquisition_json(series),
                    deid_profile={"method": DEIDENTIFICATION_METHOD, "standard_b_value_written": True},
                    intake_report=report,
                ),
                ctx=ctx,
            )
            if scan.status in ("scheduled", "acquired"):
                audited_update(
                    scan, ctx=ctx, data={"status": "uploaded"}, reason=f"MR series uploaded (#{upload.pk})"
                )
            return upload
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise


# --------------------------------------------------------------------------- map jobs
def map_job_create(
    *,
    ctx: AuditContext,
    series: MrSeriesUpload,
    model: str,
    vfa: MrSeriesUpload | None = None,
    options: dict[str, Any],
) -> MrMapJob:
    access.require(ctx.user, CAPABILITY, series.participant.site_id)
    dce = model in ("tofts", "extended_tofts", "2cxm")
    if dce and series.kind != SeriesKind.DCE:
        raise _refuse(f"{model} needs a DCE series", "series")
    if not dce and series.kind != SeriesKind.DWI:
        raise _refuse(f"{model} needs a DWI series", "series")
    if dce and vfa is None and not options.get("t10_ms"):
        raise _refuse("give a fixed T10 or choose the VFA series", "t10_ms")
    if vfa is not None and (vfa.kind != SeriesKind.VFA or vfa.scan_id != series.scan_id):
        raise _refuse("the T10 series must be a VFA series of this scan", "vfa")
    with transaction.atomic():
        job = audited_create(
            MrMapJob(
                participant=series.participant,
                scan=series.scan,
                series=series,
                vfa=vfa,
                model=model,
                options=options,
            ),
            ctx=ctx,
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from mri.tasks import make_maps

    make_maps.delay(job_id)


def _download(upload: MrSeriesUpload, directory: Path) -> MrSeries:
    directory.mkdir(parents=True, exist_ok=True)
    names = sorted(default_storage.listdir(upload.storage_dir)[1])
    for name in names:
        with default_storage.open(f"{upload.storage_dir}/{name}", "rb") as src:
            (directory / name).write_bytes(src.read())
    return read_mr_series(str(directory), allow_several_series=upload.kind == SeriesKind.VFA)


def _worker_ctx() -> AuditContext:
    return AuditContext.system(source=AuditSource.WORKER)


WHAT = "MR parameter maps"


def _refused_message(message: str) -> str:
    """The job's message after a lock refused its run (the lock's message names the lock and its reason)."""
    return f"refused: {message.rstrip('.')}; nothing stored"


def map_job_run(job_id: int) -> dict[str, Any]:
    """Fit the job's maps (worker): progress on the job, maps stored, summary and provenance recorded.

    A recompute is a write: frozen or locked data (monitoring, through the write gate) refuses it before any
    work, and a lock that arrives during the fit refuses the results as a whole (the maps, their files and the
    job's summary are written in one transaction; the files this run saved are removed again). Either way the
    refusal is recorded (monitoring.RefusedWrite, audited) and the job ends "failed" with "refused: ...,
    nothing stored" as its message, never left "running".
    """
    job = MrMapJob.objects.select_related("series", "vfa", "participant").get(pk=job_id)
    if job.state == JobState.DONE or job.voided:
        return {"job": job.pk, "skipped": "voided" if job.voided else "done"}
    ctx = _worker_ctx()
    refused = refused_before_work(job, ctx=ctx, what=WHAT)
    if refused is not None:
        _set_state(job.pk, JobState.FAILED, _refused_message(refused), "map job refused by a lock")
        return {"job": job.pk, "refused": refused}
    try:
        with transaction.atomic():
            audited_update(
                job, ctx=ctx, data={"state": JobState.RUNNING, "progress": 0.05}, reason="map job started"
            )
    except RecordLocked as exc:  # locked between the check and the start
        return _refused_midway(job.pk, ctx, exc)

    def progress(fraction: float) -> None:  # a display hint, not clinical data: no version step, no audit
        MrMapJob.objects.filter(pk=job.pk).update(progress=round(0.1 + 0.7 * fraction, 3))

    written: list[str] = []  # files this run saved: removed again unless its writes commit
    try:
        with tempfile.TemporaryDirectory() as tmp:
            series = _download(job.series, Path(tmp) / "series")
            vfa = _download(job.vfa, Path(tmp) / "vfa") if job.vfa else None
            opts = FitOptions(
                model=job.model,
                t10_ms=job.options.get("t10_ms"),
                vfa=vfa,
                r1=float(job.options.get("r1") or 4.5),
                hematocrit=float(job.options.get("hematocrit") or 0.45),
                fit_delay=bool(job.options.get("fit_delay")),
            )
            outcome = fit_series(series, opts, {"all": foreground(series)}, progress=progress)
            source = pydicom.dcmread(
                str(sorted((Path(tmp) / "series").iterdir())[0]), stop_before_pixels=True
            )
            provenance = {
                **outcome.provenance,
                "inputs": {
                    "series": {"upload": job.series.pk, "sha256": job.series.stored_checksums},
                    "vfa": {"upload": job.vfa.pk, "sha256": job.vfa.stored_checksums} if job.vfa else None,
                },
                "options": job.options,
                "warnings": outcome.warnings,
            }
            with transaction.atomic():  # the maps, their rows and the job's result: all stored, or nothing
                maps = _store_maps(job, ctx, outcome.maps, series, source, provenance, written)
                audited_update(
                    job,
                    ctx=ctx,
                    data={
                        "state": JobState.DONE,
                        "progress": 1.0,
                        "summary": {m.parameter: m.stats for m in maps},
                        "provenance": provenance,
                        "message": "",
                    },
                    reason="maps computed by worker",
                )
    except RecordLocked as exc:  # a freeze or lock that arrived during the fit: nothing was stored
        _remove(written)
        return _refused_midway(job.pk, ctx, exc)
    except (QuantError, ValueError, ArithmeticError) as exc:
        _remove(written)
        _set_state(job.pk, JobState.FAILED, str(exc)[:500], "map job failed")
        return {"job": job.pk, "state": "failed"}
    except BaseException:
        _remove(written)
        raise
    return {"job": job.pk, "state": "done", "maps": len(maps)}


def _remove(paths: list[str]) -> None:
    for name in paths:
        default_storage.delete(name)


def _refused_midway(job_id: int, ctx: AuditContext, exc: RecordLocked) -> dict[str, Any]:
    """Record the refusal (monitoring: a RefusedWrite row, audited) and end the job with the lock's message."""
    job = MrMapJob.objects.get(pk=job_id)
    message = report_refusal(job, ctx=ctx, what=WHAT, refusal=exc)
    _set_state(job_id, JobState.FAILED, _refused_message(message), "map job refused by a lock")
    return {"job": job_id, "refused": message}


@transaction.atomic
def _set_state(job_id: int, state: str, message: str, reason: str) -> None:
    """End a job that stored nothing (failed, or refused by a lock): its state and message, audited (source worker).

    The job's run state is the worker's bookkeeping, not a clinical value, so it is written even on locked data
    (as the PET worker puts a refused upload back with the lock's message): a refused job must not stay
    "running" or "queued" for ever. The row is locked, ``version`` raised in the same UPDATE.
    """
    job = MrMapJob.objects.select_for_update().get(pk=job_id)
    fields = {"state": state, "message": message}
    changes = {k: [getattr(job, k), v] for k, v in fields.items() if getattr(job, k) != v}
    if not changes:
        return
    changes["version"] = [job.version, job.version + 1]
    MrMapJob.objects.filter(pk=job_id).update(**fields, version=F("version") + 1, updated_at=timezone.now())
    write_entry(job, ctx=_worker_ctx(), action=AuditAction.UPDATE, changes=changes, reason=reason)


def _store_maps(
    job: MrMapJob,
    ctx: AuditContext,
    maps: dict,
    series: MrSeries,
    source: Any,
    provenance: dict,
    written: list[str],
) -> list[MrMap]:
    """Save each map's files (their names appended to ``written`` as they are saved) and store its MrMap row;
    the caller holds the transaction and removes ``written`` when it does not commit."""
    extra = ("ktrans_per_min", "kep_per_min", "delay_s", *SEMIQUANT_KEYS.values())
    keys = [k for k in (*CONTRACT_KEYS[job.model], *extra) if k in maps]
    keys = list(dict.fromkeys(keys))
    folder = f"mri/{job.participant.study_id}/maps/{job.pk}-{uuid.uuid4().hex[:8]}"
    background = series.data[..., 0].astype(float)

    def save(name: str, content: bytes) -> str:
        written.append(default_storage.save(f"{folder}/{name}", ContentFile(content)))
        return written[-1]

    out = []
    for number, key in enumerate(keys):
        values = maps[key]
        label = map_outputs.PARAMETERS.get(key, (key,))[0]
        nifti = save(f"{key}.nii", map_outputs.to_nifti(values, series))
        pm = save(
            f"{key}_pm.dcm",
            map_outputs.parametric_map(values, key, series, source, provenance, series_number=900 + number),
        )
        png = save(f"{key}.png", map_outputs.preview_png(values, background, label))
        out.append(
            audited_create(
                MrMap(
                    participant=job.participant,
                    job=job,
                    parameter=key,
                    label=label,
                    nifti_path=nifti,
                    parametric_map_path=pm,
                    preview_path=png,
                    stats=map_outputs.map_stats(values),
                ),
                ctx=ctx,
            )
        )
    return out
