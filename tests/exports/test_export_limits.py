"""Bulk exports per user: at most EXPORT_MAX_RUNNING_PER_USER queued or running, EXPORT_MAX_STARTED_PER_HOUR a
hour; beyond either a 429 problem with Retry-After (API) or an error message (page). Nothing is queued."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from exports.models import ExportJob

pytestmark = pytest.mark.django_db


def _start(client: APIClient):
    return client.post("/api/v1/export/bulk/", {}, format="json")


def _finish_all() -> None:
    ExportJob.objects.update(status=ExportJob.Status.DONE)


def test_a_second_running_export_is_refused_with_429_and_retry_after(data_manager):
    client = APIClient()
    client.force_authenticate(data_manager)
    assert _start(client).status_code == 202
    refused = _start(client)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert "queued or running" in refused.json()["detail"]
    assert ExportJob.objects.filter(requested_by=data_manager).count() == 1
    _finish_all()
    assert _start(client).status_code == 202


def test_the_hourly_limit_counts_starts_in_the_last_hour(data_manager, settings):
    settings.EXPORT_MAX_STARTED_PER_HOUR = 2
    settings.EXPORT_MAX_RUNNING_PER_USER = 5
    client = APIClient()
    client.force_authenticate(data_manager)
    assert _start(client).status_code == 202
    assert _start(client).status_code == 202
    refused = _start(client)
    assert refused.status_code == 429
    assert 3500 < int(refused["Retry-After"]) <= 3600
    ExportJob.objects.update(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=61))
    assert _start(client).status_code == 202


def test_the_page_shows_the_limit_and_queues_nothing(client, data_manager):
    client.force_login(data_manager)
    client.post("/exports/start/")
    response = client.post("/exports/start/", follow=True)
    assert "queued or running" in response.content.decode()
    assert ExportJob.objects.count() == 1
    _finish_all()
    client.post("/exports/start/")
    assert ExportJob.objects.count() == 2
