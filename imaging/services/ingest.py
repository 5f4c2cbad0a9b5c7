"""Upload ingestion: validation, de-identification, cross-check findings and storing of PET series.

Every write goes through trial.audit. Upload ingestion validates and de-identifies everything in a
temp dir before the first DB row or stored file; a failure after storing files removes them again.
A header that contradicts the dosing record, the planned window or the recorded weight beyond the block
limits is stored as a blocked upload awaiting override (imaging/services/blocks.py); a series that already
has a live upload on the scan is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import Path
from typing import Any

import pydicom
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

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
)
from imaging.services import blocks
from imaging.services import ct as ct_link
from imaging.services.common import (
    _compute,
    _enqueue,
    _instant,
    _sha256,
    _user,
    _wall_clock,
    geometry_json,
    uid_key,
)
from imaging.services.scans import tracer_dose_for
from imaging.upload import UploadRefused
from quant.dicom import files as dicom_files
from quant.errors import SeriesError
from quant.pet import crosscheck, plausibility
from quant.pet.series import PetSeries, read_pet_series
from quant.pet.suv import SuvError, SuvResult
from trial import access
from trial.audit import AuditContext, audited_create, audited_update
from trial.versioning import lock_current

SUV_MATCH_RTOL = 1e-9


def _refuse(message: str, field: str = "files") -> ValidationError:
    return ValidationError({field: message})


def series_headers(
    files: list[tuple[Path, str]],
) -> tuple[dict[str, list[tuple[Path, str, Any]]], list[dict]]:
    """Group DICOM files by SeriesInstanceUID; non-DICOM files and DICOMDIRs are ignored and listed.

    A file is DICOM when it is Part 10 or, without the preamble, when quant.dicom.files validated its
    first elements (never forced). A damaged DICOM file or an image without its identifiers is refused.
    """
    names = {str(p): n for p, n in files}
    try:
        found = dicom_files.inventory([str(p) for p, _n in files])
    except SeriesError as exc:
        raise _refuse(with_client_names(str(exc), files)) from exc
    ignored = found.report(names)
    groups: dict[str, list] = {}
    for path, ds in found.dicom:
        groups.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append((Path(path), names[path], ds))
    if not groups:
        listing = "; ".join(f"{i['file']}: {i['reason']}" for i in ignored[:5])
        raise _refuse(f"no DICOM image in the upload ({listing})")
    return groups, ignored


def _choose_series(groups: dict[str, list], series_uid: str | None) -> list[tuple[Path, str, Any]]:
    if series_uid:
        if series_uid not in groups:
            raise _refuse(f"series {series_uid} is not in this upload", "series_instance_uid")
        return groups[series_uid]
    pet = [items for items in groups.values() if str(items[0][2].get("Modality", "")) == "PT"]
    if len(groups) > 1 and len(pet) == 1:
        return pet[0]  # a CD or PACS export: the one PET series, the others are listed in the report
    if len(groups) > 1:
        listing = "; ".join(
            f"{uid} ({items[0][2].get('Modality', '?')}, '{items[0][2].get('SeriesDescription', '')}', "
            f"{len(items)} files)"
            for uid, items in groups.items()
        )
        raise _refuse(f"the upload holds {len(groups)} series; choose one: {listing}", "series_instance_uid")
    return next(iter(groups.values()))


def intake_report(
    groups: dict[str, list],
    chosen: list,
    ignored: list[dict],
    series: PetSeries,
    ct: ct_link.PreparedCt | None = None,
    reasons: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the upload held besides the series used (kept on the upload and shown on the scan page): the linked
    CT, and every other series with why it is not used."""
    used = {str(chosen[0][2].get("SeriesInstanceUID", "")), ct.received_uid if ct else ""}
    reasons = reasons or {}
    others = [
        {
            "modality": str(items[0][2].get("Modality", "")),
            "description": str(items[0][2].get("SeriesDescription", "")),
            "files": len(items),
            "reason": reasons.get(uid, ""),
        }
        for uid, items in groups.items()
        if uid not in used
    ]
    return {
        "ignored_files": ignored,
        "linked_ct": ct_link.ct_report(ct) if ct else None,
        "other_series": others,
        "transfer_syntaxes": list(series.transfer_syntaxes),
        "lossy_compression": list(series.lossy),
    }


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
        "site_time_zone": participant.site.time_zone,
    }
    if dose is not None:
        params["injection_instant"] = dose.administered_at.astimezone(dt.UTC).isoformat()
        if dose.activity_measured_at is not None:
            params["activity_measured_at"] = dose.activity_measured_at.astimezone(dt.UTC).isoformat()
            params["sources"]["activity"] = (
                "net activity decayed from its measurement time to the injection (89Zr half-life of the header)"
            )
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
        "time_basis": result.time_basis,
        "activity_decay_factor": result.activity_decay_factor,
    }


def _findings_for(
    scan: Scan, series: PetSeries, result: SuvResult, params: dict
) -> list[crosscheck.CheckFinding]:
    dose = tracer_dose_for(scan)
    tz = scan.participant.site.time_zone
    dosed_wall = _wall_clock(dose.administered_at, tz) if dose else None
    limits = blocks.block_limits()
    out = crosscheck.check_half_life(series.header)
    out += crosscheck.check_injection(series.header, dosed_wall, scan.tracer_visit_code, limits)
    out += crosscheck.check_activity(series.header.total_dose, float(dose.net_injected_mbq) if dose else None)
    weight_kg, weight_label = blocks.recorded_weight(scan.participant, result.reference_time)
    out += crosscheck.check_weight(series.header.patient_weight_kg, weight_kg, weight_label, limits)
    out += crosscheck.check_window(
        result.reference_time,
        dosed_wall or result.injection_time,
        scan.planned_hours_post_injection,
        scan.window_hours_before,
        scan.window_hours_after,
        limits,
    )
    out += plausibility.check_series_date(series.header)
    out += plausibility.check_activity_range(
        series.header.total_dose,
        float(dose.net_injected_mbq) if dose else None,
        scan.tracer_visit_code,
        activity_range(),
    )
    out += plausibility.check_lossy(series.lossy)
    return out


def activity_range() -> plausibility.ActivityRange:
    """The protocol's activity range (settings.PET_PROTOCOL_ACTIVITY_MBQ overrides the 37 MBq nominal)."""
    from django.conf import settings

    nominal = float(getattr(settings, "PET_PROTOCOL_ACTIVITY_MBQ", 37.0))
    return plausibility.ActivityRange(nominal_mbq=nominal)


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
        groups, ignored = series_headers(files)
        chosen = _choose_series(groups, series_uid)
        paths = [p for p, _n, _ds in chosen]
        source_hashes = [_sha256(p) for p in paths]
        _duplicate_check(scan, source_hashes)
        fingerprint = blocks.series_fingerprint(str(chosen[0][2].SeriesInstanceUID))
        blocks.refuse_if_live(scan, fingerprint)
        series = read_pet_series([str(p) for p in paths])
        params = suv_parameters(scan, series)
        before = _compute(series, params)
        key = uid_key(scan.participant)
        outcome = pet_adapters.deidentify_files(
            [Path(f) for f in series.files], work_dir / "deid", study_id=scan.participant.study_id, key=key
        )
        stored_series = read_pet_series([str(p) for p in outcome.paths])
        after = _compute(stored_series, params)
        ct, reasons = ct_link.prepare_ct(
            groups,
            chosen,
            pet_frame_after=stored_series.geometry.frame_of_reference_uid,
            study_id=scan.participant.study_id,
            key=key,
            work_dir=work_dir,
        )
    except (SeriesError, SuvError, UploadRefused) as exc:
        raise _refuse(with_client_names(str(exc), files)) from exc
    _check_same_suv(before, after)
    source_by_path = {str(p): h for p, h in zip(paths, source_hashes)}
    ordered_sources = [source_by_path[f] for f in series.files]
    findings = _findings_for(scan, series, before, params)
    params["hours_post_injection"] = before.decay_time_s / 3600.0 if before.decay_time_s else None
    params["series_fingerprint"] = fingerprint
    params["intake_report"] = intake_report(groups, chosen, ignored, series, ct, reasons)
    return _store(ctx, scan, stored_series, outcome, ordered_sources, before, after, params, findings, ct)


def with_client_names(message: str, files: list[tuple[Path, str]]) -> str:
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


def _state_message(findings: list[crosscheck.CheckFinding]) -> str:
    errors = [f.message for f in findings if f.severity == Severity.ERROR]
    if not errors:
        return "Waiting for the worker."
    return (
        "Blocked, nothing analysed: " + " ".join(errors) + " A radiologist or data manager may override "
        "with a reason, or void the upload."
    )


def _store(
    ctx, scan, series, outcome, source_hashes, before, after, params, findings, ct=None
) -> SeriesUpload:
    storage_dir = f"pet/{scan.participant.study_id}/{uuid.uuid4().hex}"
    saved: list[str] = []
    fingerprint = params.pop("series_fingerprint")
    report = params.pop("intake_report", {})
    try:
        with transaction.atomic():
            blocks.refuse_if_live(scan, fingerprint)
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
                    series_fingerprint=fingerprint,
                    geometry=geometry_json(geometry),
                    suv_before_deid=_suv_record(before),
                    suv_after_deid=_suv_record(after),
                    suv_parameters=params,
                    deid_profile=outcome.profile,
                    intake_report=report,
                    state=UploadState.BLOCKED if blocked else UploadState.STORED,
                    state_message=_state_message(findings),
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
            if ct is not None:
                ct_link.ct_store(ctx=ctx, scan=scan, upload=upload, ct=ct, saved=saved)
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
                if before.reference_time and not blocked
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
    except BaseException as exc:
        for name in saved:
            default_storage.delete(name)
        if isinstance(exc, IntegrityError | ValidationError):
            blocks.raise_if_live_clash(exc, scan, fingerprint)
        raise


def _study_uid(path: Path) -> str:
    return str(pydicom.dcmread(str(path), stop_before_pixels=True).get("StudyInstanceUID", ""))


@transaction.atomic
def finding_acknowledge(*, ctx: AuditContext, finding: Finding, note: str) -> Finding:
    access.require(ctx.user, "imaging", finding.participant.site_id)
    lock_current(finding)  # two reviewers at once: the second sees the first's acknowledgement
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
