"""Bulk export: every resource at ONE database snapshot (REPEATABLE READ), zipped with that snapshot's cursor."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, connections, transaction
from django.utils import timezone

from exports import changes, selectors
from exports.csv_body import csv_body
from exports.models import ExportJob
from exports.resources import load_all, serializer_for
from exports.resources.base import Resource

Progress = Callable[[int, str], None]


class _ProgressWriter:
    """Progress goes through a second connection so it commits while the snapshot transaction is open."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        # SQLite (demo) allows one writer: progress then goes through the main connection.
        separate = connection.vendor == "postgresql"
        self.conn = connections.create_connection("default") if separate else connection
        self.separate = separate

    def __call__(self, percent: int, step: str, **extra: Any) -> None:
        sets = ["progress = %s", "step = %s"] + [f"{k} = %s" for k in extra]
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE exports_exportjob SET {', '.join(sets)} WHERE id = %s",
                [percent, step[:80], *extra.values(), self.job_id],
            )

    def close(self) -> None:
        if self.separate:
            self.conn.close()


def _ndjson(resource: Resource, qs, batch: int = 1000) -> Iterator[bytes]:
    record = serializer_for(resource)
    chunk: list[dict] = []
    for row in selectors.rows(resource, qs).iterator(chunk_size=batch):
        chunk.append(row)
        if len(chunk) >= batch:
            yield from _encode(resource, record, chunk)
            chunk = []
    if chunk:
        yield from _encode(resource, record, chunk)


def _encode(resource: Resource, record: type, chunk: list[dict]) -> Iterator[bytes]:
    selectors.attach_nested(resource, chunk)
    data = record(chunk, many=True).data
    yield "".join(json.dumps(d, cls=DjangoJSONEncoder) + "\n" for d in data).encode()


def _write(zf: zipfile.ZipFile, name: str, chunks: Iterator[bytes]) -> None:
    with zf.open(name, "w", force_zip64=True) as out:
        for chunk in chunks:
            out.write(chunk)


def write_snapshot_zip(*, user: Any, target: Path, progress: Progress, pause_seconds: float = 0.0) -> dict:
    """Write the zip inside one REPEATABLE READ READ ONLY transaction; returns the manifest."""
    resources = load_all()
    nested = connection.in_atomic_block  # inside a caller's transaction (tests): use its snapshot
    with transaction.atomic():
        if not nested and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        upto = changes.horizon()  # first query: fixes the snapshot
        position = changes.current_position(upto)
        manifest: dict[str, Any] = {
            "format": "cd8pet-bulk-export/1",
            "created_at": timezone.now().isoformat(),
            "cursor": position.encode(),
            "snapshot_horizon_txid": upto,
            "requested_by": user.get_username(),
            "resources": {},
        }
        progress(2, "snapshot taken", cursor=manifest["cursor"], snapshot_txid=upto)
        if pause_seconds:
            time.sleep(pause_seconds)  # tests commit a write here; it must not appear in the zip
        steps = _extra_steps(user)
        total = len(resources) + len(steps)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for i, resource in enumerate(resources.values()):
                qs = selectors.base_queryset(resource, user)
                manifest["resources"][resource.name] = qs.count()
                _write(
                    zf,
                    f"csv/{resource.name}.csv",
                    csv_body(resource, qs),
                )
                _write(zf, f"json/{resource.name}.ndjson", _ndjson(resource, qs))
                progress(5 + int(85 * (i + 1) / total), f"wrote {resource.name}")
            for j, (label, step) in enumerate(steps):
                manifest.setdefault("files", []).extend(step(zf))
                progress(5 + int(85 * (len(resources) + j + 1) / total), f"wrote {label}")
            zf.writestr("manifest.json", json.dumps(manifest, indent=2, cls=DjangoJSONEncoder))
    return manifest


def _extra_steps(user: Any) -> list[tuple[str, Callable[[zipfile.ZipFile], list[str]]]]:
    steps: list[tuple[str, Callable[[zipfile.ZipFile], list[str]]]] = []
    steps.append(("ODM files", lambda zf: _write_odm(zf, user)))
    steps.append(("Dataset-JSON and Define-XML", lambda zf: _write_dataset_json(zf, user)))
    try:
        from exports import sdtm_data
    except ImportError:
        sdtm_data = None
    if sdtm_data is not None:
        steps.append(("SDTM datasets", lambda zf: sdtm_data.write_datasets_into(zf, user)))
    return steps


def _write_odm(zf: zipfile.ZipFile, user: Any) -> list[str]:
    """ODM 1.3.2 Snapshot and Transactional files, streamed into the zip (inside the export's snapshot)."""
    from exports import odm_stream

    scope = odm_stream.Scope(user=user, site_ids=None)
    created = timezone.now()
    _write(zf, "odm/snapshot.xml", odm_stream.snapshot(scope, created)[0])
    _write(zf, "odm/transactional.xml", odm_stream.transactional(scope, created)[0])
    return ["odm/snapshot.xml", "odm/transactional.xml"]


def _write_dataset_json(zf: zipfile.ZipFile, user: Any) -> list[str]:
    """Dataset-JSON 1.1 beside each XPT, and define.xml (Define-XML 2.1)."""
    from exports import define_xml, sdtm_files

    created = timezone.now()
    names = []
    for dataset in sdtm_files.domains():
        rows = sdtm_files.domain_rows(user, dataset.name)
        _write(
            zf, f"sdtm/{dataset.name.lower()}.json", sdtm_files.dataset_json_chunks(dataset, rows, created)
        )
        names.append(f"sdtm/{dataset.name.lower()}.json")
    _write(zf, "sdtm/define.xml", define_xml.chunks(created))
    return [*names, "sdtm/define.xml"]


def run(job_id: int, pause_seconds: float = 0.0) -> None:
    job = ExportJob.objects.get(pk=job_id)
    progress = _ProgressWriter(job_id)
    ExportJob.objects.filter(pk=job_id).update(status=ExportJob.Status.RUNNING, started_at=timezone.now())
    folder = Path(settings.MEDIA_ROOT) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"export-{job_id}-{timezone.now():%Y%m%dT%H%M%S}.zip"
    try:
        manifest = write_snapshot_zip(
            user=job.requested_by, target=target, progress=progress, pause_seconds=pause_seconds
        )
    except Exception as exc:  # the job row records any failure for the user
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    finally:
        progress.close()
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJob.Status.DONE,
        progress=100,
        step="ready",
        finished_at=timezone.now(),
        file=str(target.relative_to(settings.MEDIA_ROOT)),
        size_bytes=target.stat().st_size,
        cursor=manifest["cursor"],
        snapshot_txid=manifest["snapshot_horizon_txid"],
    )


def open_zip_bytes(job: ExportJob) -> io.BufferedReader:
    return (Path(settings.MEDIA_ROOT) / job.file).open("rb")
