"""Helpers shared by the PET services: checksums, SUV computation, geometry JSON, UID key, queueing."""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction

from quant.dicom.geometry import Geometry
from quant.pet.series import PetSeries
from quant.pet.suv import Clock, SuvResult, compute_suv
from trial.audit import AuditContext
from trial.models import Participant


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _compute(series: PetSeries, params: dict[str, Any]) -> SuvResult:
    """SUV with the upload's parameters: decay between absolute instants (dosing record's UTC instant,
    header times localised by their offsets or the site's time zone) and the activity decayed from its
    measurement time to the injection."""
    injection = params.get("injection_datetime")
    instant = params.get("injection_instant")
    measured = params.get("activity_measured_at")
    clock = Clock(
        site_tz=params.get("site_time_zone"),
        injection_instant=dt.datetime.fromisoformat(instant) if instant else None,
        activity_measured_at=dt.datetime.fromisoformat(measured) if measured else None,
    )
    return compute_suv(
        series.header,
        injection_datetime=(
            dt.datetime.fromisoformat(injection).replace(tzinfo=dt.UTC) if injection and not instant else None
        ),
        injected_mbq=params.get("injected_mbq"),
        weight_kg=params.get("weight_kg"),
        strict_zr89=False,
        clock=clock,
    )


def suv_volume(series: PetSeries, result: SuvResult) -> np.ndarray:
    """SUVbw volume (z, y, x): each slice's stored values times its slice factor (the worker's and viewer's)."""
    factors = np.asarray(result.slice_factors, dtype=np.float32)
    return series.volume * factors[:, None, None]


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

    return hashlib.sha256(f"{settings.DICOM_PSEUDONYM_KEY}|pet-uid|{participant.pk}".encode()).hexdigest()


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


def _wall_clock(moment: dt.datetime, tz_name: str) -> dt.datetime:
    """UTC instant -> site wall-clock time carried as UTC-aware (how DICOM DA/TM are read)."""
    return moment.astimezone(zoneinfo.ZoneInfo(tz_name)).replace(tzinfo=dt.UTC)


def _instant(wall: dt.datetime, tz_name: str) -> dt.datetime:
    return wall.replace(tzinfo=zoneinfo.ZoneInfo(tz_name)).astimezone(dt.UTC)
