"""The CT of a PET/CT uploaded separately, after its PET series is stored (the rule: imaging.services.ct's docstring).

The files come through the same intake as a PET upload (imaging.upload; grouping, CD layouts and non-DICOM files
as in imaging.services.ingest); everything is validated and de-identified in the request's temp dir before the
first stored file or row, and a failure after storing files removes them again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from imaging.models import LinkedCt, Modality, Scan, SeriesUpload
from imaging.services import ct as ct_link
from imaging.services.common import uid_key
from imaging.services.ingest import series_headers, with_client_names
from imaging.upload import UploadRefused
from quant.errors import QuantError, SeriesError
from trial import access
from trial.audit import AuditContext
from trial.models import AuditAction
from trial.write_gate import check_write

NOTHING_STORED = "nothing was stored"


@dataclass
class CtLink:
    """The link answered: `created` False when the same CT was already linked (a retried request)."""

    linked: LinkedCt
    created: bool
    ignored_files: list[dict[str, Any]]


def _refuse(message: str, field: str = "files") -> ValidationError:
    return ValidationError({field: message})


def _pet_upload(scan: Scan) -> SeriesUpload:
    """The scan's newest live PET upload, which the CT is linked to (the one the scan page shows)."""
    if scan.modality != Modality.PET:
        raise _refuse("only the CT of a PET/CT is linked here, to a PET scan", "scan")
    if scan.voided:
        raise _refuse("this scan is voided", "scan")
    upload = scan.uploads.filter(voided=False).order_by("-created_at", "-id").first()
    if upload is None:
        raise _refuse(
            "no PET series is stored for this scan yet: upload the PET series first (its CT may come with it)"
        )
    return upload


def _gate(scan: Scan, upload: SeriesUpload) -> None:
    """The write gate on what the link attaches to: a frozen or locked scan or PET upload refuses it
    (RecordLocked); the LinkedCt's own create covers the casebook, site and study."""
    change = {"linked_ct": [None, "CT uploaded separately"]}
    check_write(scan, action=AuditAction.UPDATE, changes=change)
    check_write(upload, action=AuditAction.UPDATE, changes=change)


def _describe(items: list) -> str:
    ds = items[0][2]
    return f"{ds.get('Modality', '?') or '?'} “{ds.get('SeriesDescription', '')}”, {len(items)} files"


def _choose_ct(
    groups: dict[str, list], series_uid: str | None, upload: SeriesUpload, *, study_id: str, key: str
) -> list[tuple[Path, str, Any]]:
    """The CT series of the upload on the stored PET's frame of reference (the one with most slices)."""
    if series_uid:
        if series_uid not in groups:
            raise _refuse(f"series {series_uid} is not in this upload", "series_instance_uid")
        groups = {series_uid: groups[series_uid]}
    cts = [items for items in groups.values() if str(items[0][2].get("Modality", "")) == "CT"]
    if not cts:
        found = "; ".join(_describe(items) for items in groups.values())
        raise _refuse(f"the upload holds no CT series ({found}); {NOTHING_STORED}")
    on_frame = [
        items
        for items in cts
        if ct_link.remapped_uid(str(items[0][2].get("FrameOfReferenceUID", "")), study_id=study_id, key=key)
        == upload.frame_of_reference_uid
    ]
    if not on_frame:
        raise _refuse(
            f"the CT ({_describe(cts[0])}) is on another frame of reference than the stored PET series "
            f"(upload #{upload.pk}): its positions do not register with the PET; {NOTHING_STORED}"
        )
    return max(on_frame, key=len)


def _existing(upload: SeriesUpload) -> LinkedCt | None:
    return upload.linked_cts.filter(voided=False).order_by("-created_at", "-id").first()


def _same_or_refuse(existing: LinkedCt, fingerprint: str) -> LinkedCt:
    """A retried upload of the linked CT answers with the link; another CT is refused, naming the link."""
    if existing.source_fingerprint == fingerprint:
        return existing
    raise _refuse(
        f"the PET series (upload #{existing.upload_id}) already has a linked CT “{existing.series_description}” "
        f"(CT #{existing.pk}, {existing.instance_count} slices, linked {existing.created_at:%Y-%m-%d %H:%M} UTC: "
        f"{existing.link_reason}); void that link with a reason before adding another; {NOTHING_STORED}"
    )


def ct_upload_link(
    *,
    ctx: AuditContext,
    scan: Scan,
    files: list[tuple[Path, str]],
    work_dir: Path,
    series_uid: str | None = None,
) -> CtLink:
    """Validate, de-identify, store and link the CT of a stored PET scan; see the module docstring."""
    access.require(ctx.user, "imaging", scan.participant.site_id)
    upload = _pet_upload(scan)
    _gate(scan, upload)
    study_id, key = scan.participant.study_id, uid_key(scan.participant)
    try:
        groups, ignored = series_headers(files)
        items = _choose_ct(groups, series_uid, upload, study_id=study_id, key=key)
        hashes = ct_link.received_hashes(items)
        fingerprint = ct_link.source_fingerprint(list(hashes.values()))
        existing = _existing(upload)
        if existing is not None:
            return CtLink(_same_or_refuse(existing, fingerprint), False, ignored)
        try:
            prepared = ct_link.validate_and_deidentify(
                items,
                pet_frame=upload.frame_of_reference_uid,
                study_id=study_id,
                key=key,
                work_dir=work_dir / "ct-deid",
                by_path=hashes,
            )
        except QuantError as exc:
            raise SeriesError(
                f"the CT ({_describe(items)}) does not validate: {exc}; {NOTHING_STORED}"
            ) from exc
    except (SeriesError, UploadRefused) as exc:
        raise _refuse(with_client_names(str(exc), files)) from exc
    linked, created = _store(ctx, scan, upload, prepared, fingerprint)
    return CtLink(linked, created, ignored)


def _store(
    ctx: AuditContext, scan: Scan, upload: SeriesUpload, prepared: ct_link.PreparedCt, fingerprint: str
) -> tuple[LinkedCt, bool]:
    """Link under the scan's row lock (concurrent uploads of one CT: exactly one link), files removed on failure."""
    saved: list[str] = []
    try:
        with transaction.atomic():
            Scan.objects.select_for_update().only("id").get(pk=scan.pk)
            current = scan.uploads.filter(voided=False).order_by("-created_at", "-id").first()
            if current is None or current.pk != upload.pk:
                raise _refuse(f"the scan's PET series changed while the CT was checked; {NOTHING_STORED}")
            existing = _existing(upload)
            if existing is not None:
                return _same_or_refuse(existing, fingerprint), False
            _gate(scan, upload)
            linked = ct_link.ct_store(
                ctx=ctx,
                scan=scan,
                upload=upload,
                ct=prepared,
                saved=saved,
                storage_dir=f"{upload.storage_dir}/ct-{uuid.uuid4().hex[:12]}",
                link_reason=ct_link.SEPARATE_LINK_REASON,
                reason=f"CT uploaded separately and linked to PET upload #{upload.pk} (same frame of reference)",
            )
            return linked, True
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise
