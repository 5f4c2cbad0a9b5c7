"""Writes for PET scans: scheduling, validated de-identified uploads, findings, VOIs and worker results.

Every write goes through trial.audit. Upload ingestion validates and de-identifies everything in a
temp dir before the first DB row or stored file; a failure after storing files removes them again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import zoneinfo
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from pydicom.errors import InvalidDicomError

from imaging import pet_adapters
from imaging.models import (
    Finding,
    Modality,
    Scan,
    ScanStatus,
    SeriesUpload,
    Severity,
    StoredInstance,
    UploadState,
    Voi,
    VoiKind,
    VoiResult,
    VoiSource,
)
from imaging.upload import UploadRefused
from quant.dicom.series import Geometry, PetSeries, SeriesError, read_series
from quant.pet import crosscheck
from quant.pet.suv import SuvError, SuvResult, compute_suv
from quant.pet.voi import VoiError, nifti_voi, rtstruct_voi, seg_vois, sphere_voi, voi_metrics
from trial import access
from trial.audit import AuditContext, audited_create, audited_update, write_entry
from trial.models import AuditSource, Participant, TracerDose, Visit

ENGINE_VERSION = "cd8pet-pet 1.0 (quant.pet.suv QIBA, quant.pet.voi)"
SUV_MATCH_RTOL = 1e-9


# ---------------------------------------------------------------- scheduling


def _plan_for(visit: Visit) -> dict[str, Any]:
    """Tracer visit, planned hours after it and the window in hours, from the protocol calendar."""
    definition = visit.definition
    anchor = definition.anchor if definition else ""
    prefix = "OT_" if visit.code.startswith("OT_") else "BL_"
    tracer_code = anchor if anchor.endswith("TRACER") else f"{prefix}TRACER"
    if visit.kind == "pet" and definition is not None:
        hours = float(definition.day) * 24.0
    else:
        tracer = visit.participant.visits.filter(code=tracer_code).first()
        hours = float((visit.planned_date - tracer.planned_date).days * 24) if tracer else None
    return {
        "tracer_visit_code": tracer_code,
        "planned_hours_post_injection": hours,
        "window_hours_before": float(visit.window_before) * 24.0,
        "window_hours_after": float(visit.window_after) * 24.0,
    }


def scans_ensure_for_participant(participant: Participant) -> list[Scan]:
    """Create the Scan of every PET/MRI visit that has none yet (lazily, idempotent, audited as system)."""
    missing = participant.visits.filter(kind__in=("pet", "mri"), voided=False, scan__isnull=True)
    if not missing.exists():
        return list(participant.scans.all())
    ctx = AuditContext.system(source=AuditSource.SYSTEM)
    with transaction.atomic():
        for visit in missing.select_related("definition").select_for_update(of=("self",)):
            if Scan.objects.filter(visit=visit).exists():
                continue
            audited_create(
                Scan(
                    participant=participant,
                    visit=visit,
                    modality=Modality.PET if visit.kind == "pet" else Modality.MRI,
                    **_plan_for(visit),
                ),
                ctx=ctx,
                reason="Scan planned from the protocol calendar",
            )
    return list(participant.scans.all())


def scans_ensure_for_participants(participants) -> None:
    from trial.models import Visit as VisitModel

    ids = set(
        VisitModel.objects.filter(
            participant__in=participants, kind__in=("pet", "mri"), voided=False, scan__isnull=True
        ).values_list("participant_id", flat=True)
    )
    for participant in Participant.objects.filter(pk__in=ids):
        scans_ensure_for_participant(participant)


@transaction.atomic
def scan_mark_acquired(*, ctx: AuditContext, scan: Scan, reason: str = "Scan acquired") -> Scan:
    access.require(ctx.user, "imaging", scan.participant.site_id)
    if scan.status != ScanStatus.SCHEDULED:
        raise ValidationError(
            {"status": f"Only a scheduled scan can be marked acquired (it is {scan.status})."}
        )
    audited_update(scan, ctx=ctx, data={"status": ScanStatus.ACQUIRED}, reason=reason)
    return scan


# ---------------------------------------------------------------- upload


def _refuse(message: str, field: str = "files") -> ValidationError:
    return ValidationError({field: message})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _headers(files: list[tuple[Path, str]]) -> dict[str, list[tuple[Path, str, Any]]]:
    """Group files by SeriesInstanceUID; every file must be DICOM (DICM prefix, never forced)."""
    groups: dict[str, list] = {}
    for path, name in files:
        with open(path, "rb") as handle:
            head = handle.read(132)
        if len(head) < 132 or head[128:132] != b"DICM":
            raise _refuse(f"{name}: not a DICOM file (no DICM prefix)")
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
            raise _refuse(f"{name}: unreadable or truncated DICOM ({type(exc).__name__})") from exc
        missing = [k for k in ("SOPInstanceUID", "SeriesInstanceUID", "Modality") if not ds.get(k)]
        if missing:
            raise _refuse(
                f"{name}: incomplete DICOM header (no {', '.join(missing)}): truncated or not an image"
            )
        groups.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append((path, name, ds))
    return groups


def _choose_series(groups: dict[str, list], series_uid: str | None) -> list[tuple[Path, str, Any]]:
    if series_uid:
        if series_uid not in groups:
            raise _refuse(f"series {series_uid} is not in this upload", "series_instance_uid")
        return groups[series_uid]
    if len(groups) > 1:
        listing = "; ".join(
            f"{uid} ({items[0][2].get('Modality', '?')}, '{items[0][2].get('SeriesDescription', '')}', "
            f"{len(items)} files)"
            for uid, items in groups.items()
        )
        raise _refuse(f"the upload holds {len(groups)} series; choose one: {listing}", "series_instance_uid")
    return next(iter(groups.values()))


def _wall_clock(moment: dt.datetime, tz_name: str) -> dt.datetime:
    """UTC instant -> site wall-clock time carried as UTC-aware (how DICOM DA/TM are read)."""
    return moment.astimezone(zoneinfo.ZoneInfo(tz_name)).replace(tzinfo=dt.UTC)


def _instant(wall: dt.datetime, tz_name: str) -> dt.datetime:
    return wall.replace(tzinfo=zoneinfo.ZoneInfo(tz_name)).astimezone(dt.UTC)


def tracer_dose_for(scan: Scan) -> TracerDose | None:
    return (
        TracerDose.objects.filter(
            participant_id=scan.participant_id, visit__code=scan.tracer_visit_code, voided=False
        )
        .order_by("administered_at")
        .first()
    )


def suv_parameters(scan: Scan, series: PetSeries) -> dict[str, Any]:
    """What SUV uses, with sources: the dosing record is the authority for injection time and activity."""
    participant = scan.participant
    dose = tracer_dose_for(scan)
    header = series.header
    params: dict[str, Any] = {
        "weight_kg": None,
        "injection_datetime": None,
        "injected_mbq": None,
        "sources": {},
    }
    if dose is not None:
        wall = _wall_clock(dose.administered_at, participant.site.time_zone)
        params["injection_datetime"] = wall.replace(tzinfo=None).isoformat()
        params["injected_mbq"] = float(dose.net_injected_mbq)
        params["sources"]["injection"] = (
            f"dosing record {scan.tracer_visit_code} (net activity, site wall clock)"
        )
        params["tracer_dose_id"] = dose.pk
    elif not header.rp_start_datetime:
        raise _refuse(
            f"the header gives the injection time without a date and no tracer administration is recorded for "
            f"{scan.tracer_visit_code}: record the dose first (89Zr is scanned days after injection)"
        )
    else:
        params["sources"]["injection"] = "DICOM header (no dosing record)"
    if not header.patient_weight_kg:
        params["weight_kg"] = float(participant.weight_kg)
        params["sources"]["weight"] = "recorded weight (header has none)"
    else:
        params["sources"]["weight"] = "DICOM PatientWeight (day of scan)"
    return params


def _compute(series: PetSeries, params: dict[str, Any]) -> SuvResult:
    injection = params.get("injection_datetime")
    return compute_suv(
        series.header,
        injection_datetime=dt.datetime.fromisoformat(injection).replace(tzinfo=dt.UTC) if injection else None,
        injected_mbq=params.get("injected_mbq"),
        weight_kg=params.get("weight_kg"),
        strict_zr89=False,
    )


def _suv_record(result: SuvResult) -> dict[str, Any]:
    return {
        "suv_bw_factor": result.suv_bw_factor,
        "decay_time_s": result.decay_time_s,
        "reference_time": result.reference_time.replace(tzinfo=None).isoformat()
        if result.reference_time
        else None,
        "reference_time_source": result.reference_time_source,
        "injection_time": result.injection_time.replace(tzinfo=None).isoformat()
        if result.injection_time
        else None,
        "injection_time_source": result.injection_time_source,
        "weight_kg": result.weight_kg,
        "dose_bq": result.dose_bq,
        "half_life_s": result.half_life_s,
        "units": result.units,
        "decay_correction": result.decay_correction,
        "formula": result.formula,
        "warnings": list(result.warnings),
    }


def _findings_for(
    scan: Scan, series: PetSeries, result: SuvResult, params: dict
) -> list[crosscheck.CheckFinding]:
    dose = tracer_dose_for(scan)
    tz = scan.participant.site.time_zone
    dosed_wall = _wall_clock(dose.administered_at, tz) if dose else None
    out = crosscheck.check_half_life(series.header)
    out += crosscheck.check_injection(series.header, dosed_wall, scan.tracer_visit_code)
    out += crosscheck.check_activity(series.header.total_dose, float(dose.net_injected_mbq) if dose else None)
    out += crosscheck.check_weight(series.header.patient_weight_kg, float(scan.participant.weight_kg))
    out += crosscheck.check_window(
        result.reference_time,
        dosed_wall or result.injection_time,
        scan.planned_hours_post_injection,
        scan.window_hours_before,
        scan.window_hours_after,
    )
    return out


def geometry_json(geometry: Geometry) -> dict[str, Any]:
    return {
        "origin": [float(v) for v in geometry.origin],
        "row_direction": [float(v) for v in geometry.row_direction],
        "column_direction": [float(v) for v in geometry.column_direction],
        "normal": [float(v) for v in geometry.normal],
        "spacing": [float(v) for v in geometry.spacing],
        "shape": [int(v) for v in geometry.shape],
        "affine": np.asarray(geometry.affine, dtype=float).tolist(),
        "frame_of_reference_uid": geometry.frame_of_reference_uid,
        "sop_instance_uids": list(geometry.sop_instance_uids),
        "slice_positions": [float(v) for v in geometry.slice_positions],
    }


def geometry_from_json(data: dict[str, Any]) -> Geometry:
    return Geometry(
        origin=np.array(data["origin"]),
        row_direction=np.array(data["row_direction"]),
        column_direction=np.array(data["column_direction"]),
        normal=np.array(data["normal"]),
        spacing=tuple(data["spacing"]),
        shape=tuple(data["shape"]),
        affine=np.array(data["affine"]),
        frame_of_reference_uid=data["frame_of_reference_uid"],
        sop_instance_uids=tuple(data["sop_instance_uids"]),
        slice_positions=tuple(data["slice_positions"]),
    )


def uid_key(participant: Participant) -> str:
    """Per-participant key of the UID remapping (stable, so re-uploads and VOI files map consistently)."""
    from django.conf import settings

    return hashlib.sha256(f"{settings.SECRET_KEY}|pet-uid|{participant.pk}".encode()).hexdigest()


def _duplicate_check(scan: Scan, source_hashes: list[str]) -> None:
    clash = (
        StoredInstance.objects.filter(
            source_sha256__in=source_hashes, upload__voided=False, upload__participant_id=scan.participant_id
        )
        .select_related("upload", "upload__scan__visit")
        .first()
    )
    if clash is not None:
        same = clash.upload.instances.count() == len(source_hashes)
        what = "This series was already uploaded" if same else "Some of these instances were already uploaded"
        raise _refuse(
            f"{what} (upload #{clash.upload.pk}, {clash.upload.scan.visit.code}); nothing was stored."
        )


def series_upload_ingest(
    *,
    ctx: AuditContext,
    scan: Scan,
    files: list[tuple[Path, str]],
    work_dir: Path,
    series_uid: str | None = None,
) -> SeriesUpload:
    """Validate, cross-check and de-identify one PET series, then store it; see the module docstring."""
    access.require(ctx.user, "imaging", scan.participant.site_id)
    if scan.modality != Modality.PET:
        raise _refuse("only PET series are uploaded here", "scan")
    if scan.voided:
        raise _refuse("this scan is voided", "scan")
    try:
        chosen = _choose_series(_headers(files), series_uid)
        paths = [p for p, _n, _ds in chosen]
        source_hashes = [_sha256(p) for p in paths]
        _duplicate_check(scan, source_hashes)
        series = read_series([str(p) for p in paths], modality="PT")
        params = suv_parameters(scan, series)
        before = _compute(series, params)
        key = uid_key(scan.participant)
        outcome = pet_adapters.deidentify_files(
            [Path(f) for f in series.files], work_dir / "deid", study_id=scan.participant.study_id, key=key
        )
        stored_series = read_series([str(p) for p in outcome.paths], modality="PT")
        after = _compute(stored_series, params)
    except (SeriesError, SuvError, UploadRefused) as exc:
        raise _refuse(_client_names(str(exc), files)) from exc
    _check_same_suv(before, after)
    source_by_path = {str(p): h for p, h in zip(paths, source_hashes)}
    ordered_sources = [source_by_path[f] for f in series.files]
    findings = _findings_for(scan, series, before, params)
    params["hours_post_injection"] = before.decay_time_s / 3600.0 if before.decay_time_s else None
    return _store(ctx, scan, stored_series, outcome, ordered_sources, before, after, params, findings)


def _client_names(message: str, files: list[tuple[Path, str]]) -> str:
    """Messages name files as the user named them, not by their temp-file names."""
    for path, name in files:
        message = message.replace(Path(path).name + ":", name + ":")
    return message


def _check_same_suv(before: SuvResult, after: SuvResult) -> None:
    same_factor = abs(before.suv_bw_factor - after.suv_bw_factor) <= SUV_MATCH_RTOL * abs(
        before.suv_bw_factor
    )
    if not same_factor or abs(before.decay_time_s - after.decay_time_s) > 1e-6:
        raise _refuse(
            f"de-identification changed SUV (factor {before.suv_bw_factor:.9g} -> {after.suv_bw_factor:.9g}, "
            f"decay interval {before.decay_time_s:.1f} s -> {after.decay_time_s:.1f} s); nothing was stored"
        )


def _store(ctx, scan, series, outcome, source_hashes, before, after, params, findings) -> SeriesUpload:
    storage_dir = f"pet/{scan.participant.study_id}/{uuid.uuid4().hex}"
    saved: list[str] = []
    try:
        with transaction.atomic():
            blocked = any(f.severity == Severity.ERROR for f in findings)
            stored = []
            for z, path in enumerate(outcome.paths):
                name = default_storage.save(
                    f"{storage_dir}/{z:05d}.dcm", ContentFile(Path(path).read_bytes())
                )
                saved.append(name)
                stored.append((name, _sha256(Path(path)), Path(path).stat().st_size))
            geometry = series.geometry
            upload = audited_create(
                SeriesUpload(
                    participant=scan.participant,
                    scan=scan,
                    uploaded_by=_user(ctx),
                    storage_dir=storage_dir,
                    instance_count=len(stored),
                    total_bytes=sum(s[2] for s in stored),
                    series_instance_uid=series.series_instance_uid,
                    study_instance_uid=_study_uid(outcome.paths[0]),
                    frame_of_reference_uid=geometry.frame_of_reference_uid,
                    source_fingerprint=hashlib.sha256("".join(sorted(source_hashes)).encode()).hexdigest(),
                    geometry=geometry_json(geometry),
                    suv_before_deid=_suv_record(before),
                    suv_after_deid=_suv_record(after),
                    suv_parameters=params,
                    deid_profile=outcome.profile,
                    state=UploadState.BLOCKED if blocked else UploadState.STORED,
                    state_message="Blocked: an error finding needs resolving."
                    if blocked
                    else "Waiting for the worker.",
                ),
                ctx=ctx,
            )
            StoredInstance.objects.bulk_create(
                [
                    StoredInstance(
                        upload=upload,
                        sop_instance_uid=uid,
                        path=name,
                        sha256=sha,
                        source_sha256=src,
                        size=size,
                        z_index=z,
                    )
                    for z, ((name, sha, size), src, uid) in enumerate(
                        zip(stored, source_hashes, geometry.sop_instance_uids)
                    )
                ]
            )
            for f in findings:
                audited_create(
                    Finding(
                        participant=scan.participant,
                        scan=scan,
                        upload=upload,
                        code=f.code,
                        severity=f.severity,
                        message=f.message,
                        details=f.details,
                    ),
                    ctx=ctx,
                )
            acquired = (
                _instant(before.reference_time, scan.participant.site.time_zone)
                if before.reference_time
                else None
            )
            audited_update(
                scan,
                ctx=ctx,
                data={
                    "status": ScanStatus.REJECTED if blocked else ScanStatus.UPLOADED,
                    "acquired_at": acquired,
                },
                reason=f"Series uploaded (upload #{upload.pk})",
            )
            if not blocked:
                transaction.on_commit(lambda: _enqueue(upload.pk))
            return upload
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise


def _study_uid(path: Path) -> str:
    return str(pydicom.dcmread(str(path), stop_before_pixels=True).get("StudyInstanceUID", ""))


def _user(ctx: AuditContext) -> Any:
    return ctx.user if getattr(ctx.user, "is_authenticated", False) else None


def enqueue_after_commit(upload_id: int) -> None:
    """Queue processing once per upload per transaction (several VOIs added together -> one run)."""
    from django.db import connection

    pending = [
        getattr(func, "pet_upload_id", None)
        for _sids, func, *_rest in connection.run_on_commit
        if not getattr(func, "done", False)
    ]
    if upload_id in pending:
        return

    def run() -> None:
        run.done = True  # type: ignore[attr-defined]
        _enqueue(upload_id)

    run.pet_upload_id = upload_id  # type: ignore[attr-defined]
    transaction.on_commit(run)


def _enqueue(upload_id: int) -> None:
    from imaging.tasks import process_series_upload

    process_series_upload.delay(upload_id)


@transaction.atomic
def finding_acknowledge(*, ctx: AuditContext, finding: Finding, note: str) -> Finding:
    access.require(ctx.user, "imaging", finding.participant.site_id)
    if finding.acknowledged:
        raise ValidationError("This finding is already acknowledged.")
    if not note.strip():
        raise ValidationError({"note": "Say how the finding was reviewed."})
    audited_update(
        finding,
        ctx=ctx,
        data={
            "acknowledged": True,
            "acknowledged_by": _user(ctx),
            "acknowledged_at": timezone.now(),
            "acknowledgement_note": note.strip(),
        },
        reason=f"Finding acknowledged: {note.strip()}",
    )
    return finding


def on_upload_void(*, ctx: AuditContext, instance: SeriesUpload) -> None:
    """Voiding an upload (e.g. a blocked or wrong series) frees the scan for a new upload; restoring re-links it."""
    scan = Scan.objects.select_for_update().get(pk=instance.scan_id)
    live = scan.uploads.filter(voided=False).order_by("-created_at", "-id").first()
    if live is None:
        status = ScanStatus.ACQUIRED
    elif live.state == UploadState.BLOCKED:
        status = ScanStatus.REJECTED
    else:
        status = ScanStatus.ANALYSED if live.state == UploadState.DONE else ScanStatus.UPLOADED
    if status != scan.status:
        audited_update(
            scan, ctx=ctx, data={"status": status}, reason=f"Upload #{instance.pk} voided or restored"
        )


# ---------------------------------------------------------------- VOIs


def _live_upload(scan: Scan) -> SeriesUpload:
    upload = (
        scan.uploads.filter(voided=False)
        .exclude(state=UploadState.BLOCKED)
        .order_by("-created_at", "-id")
        .first()
    )
    if upload is None:
        raise ValidationError({"scan": "Upload a usable PET series before adding VOIs."})
    return upload


def _check_lesion(scan: Scan, kind: str, organ: str, lesion) -> None:
    if lesion is not None and lesion.participant_id != scan.participant_id:
        raise ValidationError({"lesion": "The lesion belongs to another participant."})
    if kind == VoiKind.ORGAN and not organ:
        raise ValidationError({"organ": "Choose the organ of an organ VOI."})
    if kind == VoiKind.LESION and organ:
        raise ValidationError({"organ": "A tumour lesion VOI has no reference organ."})


def _create_voi(
    ctx, scan, upload, name, kind, organ, source, parameters, voxels, lesion, mask_path="", mask_sha=""
):
    if upload.vois.filter(name=name, voided=False).exists():
        raise ValidationError({"name": f"A VOI named {name!r} already exists on this scan."})
    voi = audited_create(
        Voi(
            participant=scan.participant,
            scan=scan,
            upload=upload,
            name=name,
            kind=kind,
            organ=organ or "",
            source=source,
            parameters=parameters,
            voxel_count=voxels,
            lesion=lesion,
            mask_path=mask_path,
            mask_sha256=mask_sha,
            created_by=_user(ctx),
        ),
        ctx=ctx,
    )
    enqueue_after_commit(upload.pk)
    return voi


@transaction.atomic
def voi_create_sphere(
    *,
    ctx: AuditContext,
    scan: Scan,
    name: str,
    kind: str,
    organ: str = "",
    centre_mm: tuple[float, float, float],
    radius_mm: float,
    lesion=None,
) -> Voi:
    """A sphere holding the voxels whose centres lie within its radius of the centre (patient mm, LPS)."""
    access.require(ctx.user, "imaging", scan.participant.site_id)
    upload = _live_upload(scan)
    _check_lesion(scan, kind, organ, lesion)
    if not (0 < radius_mm <= 150):
        raise ValidationError({"radius_mm": "The radius must be between 0 and 150 mm."})
    try:
        voi = sphere_voi(name, geometry_from_json(upload.geometry), centre_mm, radius_mm)
    except VoiError as exc:
        raise ValidationError({"centre_x": str(exc)}) from exc
    params = {
        "centre_mm": [float(v) for v in centre_mm],
        "radius_mm": float(radius_mm),
        "frame_of_reference_uid": upload.frame_of_reference_uid,
    }
    return _create_voi(
        ctx, scan, upload, name, kind, organ, VoiSource.SPHERE, params, voi.voxel_count, lesion
    )


def _mask_from_file(source: str, geometry: Geometry, path: Path, name: str, roi: str) -> list:
    if source == VoiSource.NIFTI:
        return [nifti_voi(name, geometry, str(path))]
    if source == VoiSource.RTSTRUCT:
        if not roi:
            raise VoiError("name the RTSTRUCT ROI to use")
        return [rtstruct_voi(name, geometry, str(path), roi)]
    if source == VoiSource.SEG:
        return seg_vois(geometry, str(path), roi or None)
    raise VoiError(f"unknown VOI source {source}")


def _deid_voi_file(source: str, path: Path, work_dir: Path, scan: Scan) -> Path:
    """RTSTRUCT/SEG carry patient identity and original UIDs: de-identify with the same UID mapping."""
    if source == VoiSource.NIFTI:
        return path
    with open(path, "rb") as handle:
        head = handle.read(132)
    if len(head) < 132 or head[128:132] != b"DICM":
        raise VoiError(f"the {source.upper()} file is not DICOM")
    try:
        ds = pydicom.dcmread(str(path))
    except Exception as exc:  # pydicom raises many types on damaged files
        raise VoiError(f"the {source.upper()} file is unreadable") from exc
    expected = "RTSTRUCT" if source == VoiSource.RTSTRUCT else "SEG"
    if str(ds.get("Modality", "")) != expected:
        raise VoiError(f"the file's Modality is {ds.get('Modality', 'missing')}, not {expected}")
    ds = pet_adapters.deidentify_dataset(
        ds, study_id=scan.participant.study_id, key=uid_key(scan.participant)
    )
    out = work_dir / f"voi-{uuid.uuid4().hex}.dcm"
    ds.save_as(str(out), enforce_file_format=True)
    return out


@transaction.atomic
def voi_create_from_file(
    *,
    ctx: AuditContext,
    scan: Scan,
    source: str,
    path: Path,
    work_dir: Path,
    name: str,
    kind: str,
    organ: str = "",
    roi: str = "",
    lesion=None,
) -> list[Voi]:
    """NIfTI (aligned by affine), RTSTRUCT (rasterised) or SEG masks; refused with the reason if off-grid."""
    access.require(ctx.user, "imaging", scan.participant.site_id)
    upload = _live_upload(scan)
    _check_lesion(scan, kind, organ, lesion)
    geometry = geometry_from_json(upload.geometry)
    try:
        clean = _deid_voi_file(source, path, work_dir, scan)
        masks = _mask_from_file(source, geometry, clean, name, roi)
    except VoiError as exc:
        raise ValidationError({"mask_file": str(exc)}) from exc
    suffix = ".nii.gz" if source == VoiSource.NIFTI else ".dcm"
    stored = default_storage.save(
        f"{upload.storage_dir}/vois/{uuid.uuid4().hex}{suffix}", ContentFile(clean.read_bytes())
    )
    sha = _sha256(clean)
    vois = []
    try:
        for mask in masks:
            voi_name = name if len(masks) == 1 else f"{name} {mask.name}"
            params = {
                "file": Path(stored).name,
                "roi": roi if source == VoiSource.RTSTRUCT else "",
                "segment": mask.name if source == VoiSource.SEG else "",
                "frame_of_reference_uid": upload.frame_of_reference_uid,
            }
            vois.append(
                _create_voi(
                    ctx,
                    scan,
                    upload,
                    voi_name,
                    kind,
                    organ,
                    source,
                    params,
                    mask.voxel_count,
                    lesion,
                    stored,
                    sha,
                )
            )
    except BaseException:
        default_storage.delete(stored)
        raise
    return vois


def voi_mask(voi: Voi, geometry: Geometry):
    """Rebuild a VOI's mask on the PET grid from its stored definition."""
    if voi.source == VoiSource.SPHERE:
        return sphere_voi(voi.name, geometry, voi.parameters["centre_mm"], voi.parameters["radius_mm"])
    path = Path(default_storage.path(voi.mask_path))
    if voi.source == VoiSource.NIFTI:
        return nifti_voi(voi.name, geometry, str(path))
    if voi.source == VoiSource.RTSTRUCT:
        return rtstruct_voi(voi.name, geometry, str(path), voi.parameters["roi"])
    return seg_vois(geometry, str(path), voi.parameters["segment"])[0]


# ---------------------------------------------------------------- worker


def _set_state(upload_id: int, **fields: Any) -> None:
    SeriesUpload.objects.filter(pk=upload_id).update(**fields, updated_at=timezone.now())


def series_process(upload_id: int) -> dict[str, Any]:
    """Compute the SUV volume, the MIP and every VOI's metrics; idempotent (results updated in place)."""
    upload = SeriesUpload.objects.select_related("scan", "participant").get(pk=upload_id)
    if upload.voided or upload.state == UploadState.BLOCKED:
        return {"skipped": upload.state}
    _set_state(
        upload_id,
        state=UploadState.PROCESSING,
        progress=5,
        attempts=upload.attempts + 1,
        state_message="Reading the stored series",
    )
    instances = list(upload.instances.order_by("z_index"))
    paths = [default_storage.path(i.path) for i in instances]
    for inst, path in zip(instances, paths):
        if _sha256(Path(path)) != inst.sha256:
            return _fail(upload_id, f"stored file {inst.path} does not match its checksum")
    try:
        series = read_series(paths, modality="PT")
        result = _compute(series, upload.suv_parameters)
    except (SeriesError, SuvError) as exc:
        return _fail(upload_id, str(exc))
    _set_state(upload_id, progress=30, state_message="SUV volume computed; rendering the MIP")
    factors = np.asarray(result.slice_factors, dtype=np.float32)
    suv = series.volume * factors[:, None, None]
    mip_name, window = _save_mip(upload, suv, series.geometry.spacing)
    _set_state(upload_id, progress=45, state_message="Computing VOI metrics")
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
    count = 0
    for n, voi in enumerate(vois, start=1):
        _store_voi_result(voi, suv, series.geometry, result, provenance_base)
        count += 1
        _set_state(upload_id, progress=45 + int(50 * n / max(len(vois), 1)))
    summary = {
        "suv_max": float(suv.max()),
        "suv_p99": float(np.percentile(suv, 99)),
        "suv_bw_factor": result.suv_bw_factor,
        "decay_time_h": result.decay_time_s / 3600.0,
    }
    _finish(upload, mip_name, window, summary, count)
    return {"upload": upload_id, "vois": count, "suv_bw_factor": result.suv_bw_factor}


def _fail(upload_id: int, message: str) -> dict[str, Any]:
    _set_state(upload_id, state=UploadState.FAILED, state_message=f"Processing failed: {message}")
    return {"upload": upload_id, "error": message}


def _save_mip(upload: SeriesUpload, suv: np.ndarray, spacing) -> tuple[str, dict]:
    png, window = pet_adapters.render_mip(suv, tuple(spacing))
    name = f"{upload.storage_dir}/mip.png"
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(png)), window


def _store_voi_result(voi: Voi, suv: np.ndarray, geometry: Geometry, result: SuvResult, base: dict) -> None:
    mask = voi_mask(voi, geometry)
    metrics = voi_metrics(suv, mask, tuple(geometry.spacing)).to_dict()
    weight = result.weight_kg
    metrics["pct_id_per_kg_mean"] = 100.0 * metrics["suv_mean"] / weight
    metrics["pct_id_per_kg_max"] = 100.0 * metrics["suv_max"] / weight
    provenance = {
        **base,
        "voi": {"source": voi.source, "parameters": voi.parameters, "mask_sha256": voi.mask_sha256},
        "pct_id_formula": "%ID/kg = 100 * SUVbw / W[kg]",
    }
    VoiResult.objects.update_or_create(
        voi=voi,
        defaults={
            "participant_id": voi.participant_id,
            "suv_max": metrics["suv_max"],
            "suv_mean": metrics["suv_mean"],
            "suv_peak": metrics["suv_peak"],
            "pct_id_per_kg_mean": metrics["pct_id_per_kg_mean"],
            "pct_id_per_kg_max": metrics["pct_id_per_kg_max"],
            "volume_ml": metrics["volume_ml"],
            "metrics": metrics,
            "provenance": provenance,
            "computed_at": timezone.now(),
        },
    )


@transaction.atomic
def _finish(upload: SeriesUpload, mip_name: str, window: dict, summary: dict, count: int) -> None:
    _set_state(
        upload.pk,
        state=UploadState.DONE,
        progress=100,
        mip_path=mip_name,
        mip_window=window,
        suv_summary=summary,
        processed_at=timezone.now(),
        state_message=f"Results ready: SUV volume and {count} VOI(s)",
    )
    scan = Scan.objects.select_for_update().get(pk=upload.scan_id)
    if scan.status in (ScanStatus.UPLOADED, ScanStatus.ACQUIRED, ScanStatus.SCHEDULED):
        audited_update(
            scan,
            ctx=AuditContext.system(source=AuditSource.WORKER),
            data={"status": ScanStatus.ANALYSED},
            reason="SUV and VOI metrics computed",
        )
    else:
        write_entry(
            upload,
            ctx=AuditContext.system(source=AuditSource.WORKER),
            action="update",
            changes={"state": [None, UploadState.DONE]},
            reason="Results recomputed",
        )
