"""Wrong-patient and impossible PET series: block limits, the one-live-upload rule and the audited override.

A blocked upload keeps its de-identified files and its findings, awaiting an override; it has no results,
is never queued and leaves the scan `rejected` with no acquisition time. A radiologist or data manager may
override it with a reason (kept on the upload, audited, shown on the scan page); it is then queued like any
stored upload. One live upload (not voided, not failed or blocked) per scan and series fingerprint is
enforced by the `unique_live_series_upload` constraint; these helpers turn a clash into a clear message.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from imaging.models import Finding, Scan, ScanStatus, SeriesUpload, Severity, UploadState
from imaging.services.common import _instant, _user, enqueue_after_commit
from quant.pet.crosscheck import OVERRIDABLE_CODES, BlockLimits
from trial import access
from trial.audit import AuditContext, audited_update
from trial.models import AuditEntry, Participant

LIVE_CONSTRAINT = "unique_live_series_upload"
LIVE_MESSAGE = "already has a live upload for this scan"


def block_limits() -> BlockLimits:
    """The limits from settings (PET_BLOCK_INJECTION_DAYS, PET_BLOCK_WINDOW_TOLERANCE_H, PET_BLOCK_WEIGHT_PCT)."""
    return BlockLimits(
        injection_days=float(settings.PET_BLOCK_INJECTION_DAYS),
        window_tolerance_h=float(settings.PET_BLOCK_WINDOW_TOLERANCE_H),
        weight_pct=float(settings.PET_BLOCK_WEIGHT_PCT),
    )


def series_fingerprint(source_series_uid: str) -> str:
    """SHA-256 of the received SeriesInstanceUID (the UID itself is never stored)."""
    return hashlib.sha256(f"pet-series|{source_series_uid}".encode()).hexdigest()


def recorded_weight_label(participant: Participant) -> str:
    """Where the latest recorded weight comes from, for messages: the first record or its last audited change."""
    entry = (
        AuditEntry.objects.filter(
            app_label="trial",
            model="participant",
            object_id=str(participant.pk),
            changes__has_key="weight_kg",
        )
        .order_by("-id")
        .first()
    )
    if entry is not None and entry.action != "create":
        return f"updated {entry.at:%Y-%m-%d}"
    first = participant.status_history.order_by("changed_at", "id").first()
    return f"baseline, recorded {first.date:%Y-%m-%d}" if first else "baseline"


def recorded_weight(participant: Participant, at: dt.date | dt.datetime | None) -> tuple[float, str]:
    """The weight to check a scan's DICOM weight against: the casebook weight nearest the scan, else baseline."""
    from casebook.selectors import nearest_weight

    near = nearest_weight(participant, at) if at is not None else None
    if near is None:
        return float(participant.weight_kg), recorded_weight_label(participant)
    return float(
        near.weight_kg
    ), f"nearest recorded weight, {near.measured_on:%Y-%m-%d} ({near.days_away} d from the scan)"


def live_upload(scan: Scan, fingerprint: str) -> SeriesUpload | None:
    return (
        SeriesUpload.objects.filter(scan=scan, series_fingerprint=fingerprint, voided=False)
        .exclude(state__in=[UploadState.FAILED, UploadState.BLOCKED])
        .order_by("id")
        .first()
    )


def duplicate_error(first: SeriesUpload) -> ValidationError:
    return ValidationError(
        {
            "files": f"This series already has a live upload for this scan (upload #{first.pk}, "
            f"{first.get_state_display().lower()}, stored {first.created_at:%Y-%m-%d %H:%M} UTC); void it "
            "first to replace it. Nothing was stored."
        }
    )


def refuse_if_live(scan: Scan, fingerprint: str) -> None:
    first = live_upload(scan, fingerprint)
    if first is not None:
        raise duplicate_error(first)


def raise_if_live_clash(exc: Exception, scan: Scan, fingerprint: str | None) -> None:
    """Turn a violation of the one-live-upload constraint (a concurrent upload won) into a clear message.

    The database raises IntegrityError naming the constraint; model validation (full_clean) raises its
    ValidationError when the other upload committed just before.
    """
    if not fingerprint or (LIVE_CONSTRAINT not in str(exc) and LIVE_MESSAGE not in str(exc)):
        return
    first = live_upload(scan, fingerprint)
    if first is not None:
        raise duplicate_error(first) from exc
    raise ValidationError({"files": "This series was uploaded at the same time by someone else."}) from exc


def _blocking(upload: SeriesUpload) -> list[Finding]:
    return list(upload.findings.filter(voided=False, severity=Severity.ERROR))


def _check_overridable(upload: SeriesUpload, reason: str) -> list[Finding]:
    if upload.voided or upload.state != UploadState.BLOCKED:
        raise ValidationError(
            {"reason": f"Upload #{upload.pk} is not blocked ({upload.get_state_display()})."}
        )
    if not reason.strip():
        raise ValidationError(
            {"reason": "Say why the header is right despite the block (e.g. source checked)."}
        )
    blocking = _blocking(upload)
    fixed = [f for f in blocking if f.code not in OVERRIDABLE_CODES]
    if fixed:
        raise ValidationError(
            {"reason": f"{fixed[0].code} cannot be overridden: {fixed[0].message} Void the upload instead."}
        )
    return blocking


def _acquired_at(upload: SeriesUpload) -> dt.datetime | None:
    wall = (upload.suv_before_deid or {}).get("reference_time")
    if not wall:
        return None
    return _instant(dt.datetime.fromisoformat(wall), upload.participant.site.time_zone)


def upload_override(*, ctx: AuditContext, upload: SeriesUpload, reason: str) -> SeriesUpload:
    """Let a blocked upload through with a reason (radiologist or data manager); processing then proceeds."""
    access.require(ctx.user, "override_imaging_block", upload.participant.site_id)
    try:
        with transaction.atomic():
            return _override(ctx, upload, reason.strip())
    except (IntegrityError, ValidationError) as exc:
        raise_if_live_clash(exc, upload.scan, upload.series_fingerprint)
        raise


def _override(ctx: AuditContext, upload: SeriesUpload, reason: str) -> SeriesUpload:
    upload = SeriesUpload.objects.select_for_update().select_related("participant__site").get(pk=upload.pk)
    blocking = _check_overridable(upload, reason)
    if upload.series_fingerprint:
        refuse_if_live(upload.scan, upload.series_fingerprint)
    codes = ", ".join(f.code for f in blocking)
    audited_update(
        upload,
        ctx=ctx,
        data={
            "state": UploadState.STORED,
            "state_message": f"Block overridden ({codes}); waiting for the worker.",
            "override_reason": reason,
            "override_by": _user(ctx),
            "override_at": timezone.now(),
        },
        reason=f"Block overridden ({codes}): {reason}",
    )
    scan = Scan.objects.select_for_update().get(pk=upload.scan_id)
    audited_update(
        scan,
        ctx=ctx,
        data={"status": ScanStatus.UPLOADED, "acquired_at": _acquired_at(upload)},
        reason=f"Upload #{upload.pk} block overridden: {reason}",
    )
    enqueue_after_commit(upload.pk)
    return upload
