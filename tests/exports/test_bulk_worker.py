"""Bulk export through a real Celery worker: one snapshot, one cursor; a write committed mid-export is absent
from the zip and is the first thing the feed returns after the zip's cursor."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from exports.models import ExportJob
from exports.tasks import run_bulk_export
from tests import factories
from tests.exports.helpers import issue, pull_all, token_client
from tests.worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_bulk_export_is_one_consistent_snapshot(
    celery_worker_process, coordinator, site_nl, data_manager, sponsor, client, tmp_path
):
    before = [factories.enrol(coordinator, site_nl) for _ in range(2)]
    job = ExportJob.objects.create(requested_by=data_manager)
    run_bulk_export.delay(job.pk, pause_seconds=4.0)
    wait_for(lambda: ExportJob.objects.get(pk=job.pk).step == "snapshot taken", timeout=90)
    mid = ExportJob.objects.get(pk=job.pk)
    assert mid.status == "running" and 0 < mid.progress < 100 and mid.cursor  # progress visible mid-export
    late = factories.enrol(coordinator, site_nl)  # committed while the worker is exporting
    done = wait_for(
        lambda: ExportJob.objects.filter(pk=job.pk, status__in=["done", "failed"]).first(), timeout=120
    )
    assert done.status == "done", done.error
    assert done.progress == 100 and done.size_bytes > 0

    path = Path(settings.MEDIA_ROOT) / done.file
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        participants = list(csv.DictReader(io.StringIO(zf.read("csv/participants.csv").decode())))
        ndjson = [json.loads(line) for line in zf.read("json/participants.ndjson").decode().splitlines()]
        dm = zf.read("sdtm/dm.csv").decode()
        snapshot = zf.read("odm/snapshot.xml").decode()
        visits = list(csv.DictReader(io.StringIO(zf.read("csv/visits.csv").decode())))
    assert {"csv/visits.csv", "sdtm/ae.xpt", "sdtm/define.json", "odm/transactional.xml"} <= names
    assert {p["study_id"] for p in participants} == {p.study_id for p in before}
    assert {p["study_id"] for p in ndjson} == {p.study_id for p in before}
    assert all("status_history" in p for p in ndjson)
    assert late.study_id not in dm and late.study_id not in snapshot
    assert {v["participant"] for v in visits} == {p.study_id for p in before}
    assert manifest["cursor"] == done.cursor and manifest["resources"]["participants"] == 2

    # The zip's cursor hands over to the feed: the late participant (and nothing exported) comes next.
    feed = token_client(issue(data_manager, sponsor)[1])
    items, _ = pull_all(feed, "participants", done.cursor)
    assert [i["record"]["study_id"] for i in items] == [late.study_id]
    visit_items, _ = pull_all(feed, "visits", done.cursor)
    assert {i["record"]["participant"] for i in visit_items} == {late.study_id}

    client.force_login(data_manager)
    download = client.get(f"/exports/jobs/{job.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    body = client.get(f"/api/v1/export/bulk/{job.pk}/").json()
    assert body["status"] == "done" and body["download_url"].endswith("/download/")
    client.force_login(sponsor)
    assert client.get(f"/exports/jobs/{job.pk}/download/").status_code == 404  # another user's export
