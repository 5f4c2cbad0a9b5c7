"""Export pages and the bulk-export API (eager Celery), plus OpenAPI schema and offline docs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from exports.models import ExportJob

pytestmark = pytest.mark.django_db


def test_index_page_lists_resources_and_jobs(client, sponsor, participant):
    client.force_login(sponsor)
    page = client.get("/exports/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "/api/v1/export/adverse-events/?format=csv" in text and "Start a bulk export" in text


def test_start_through_the_api_runs_the_task_and_the_zip_is_downloadable(
    client, data_manager, sponsor, monitor, participant, django_capture_on_commit_callbacks
):
    client.force_login(monitor)
    assert client.post("/api/v1/export/bulk/").status_code == 403
    client.force_login(data_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/export/bulk/")
    assert response.status_code == 202
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert job.status == "done", job.error
    with zipfile.ZipFile(Path(settings.MEDIA_ROOT) / job.file) as zf:
        assert participant.study_id in zf.read("csv/participants.csv").decode()
    download = client.get(f"/exports/jobs/{job.pk}/download/")
    assert download.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).testzip() is None


def test_sponsor_starts_an_export_on_the_page(
    client, sponsor, participant, django_capture_on_commit_callbacks
):
    client.force_login(sponsor)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/exports/start/").status_code == 302
    assert ExportJob.objects.get(requested_by=sponsor).status == "done"
    row = client.get(f"/exports/jobs/{ExportJob.objects.get(requested_by=sponsor).pk}/")
    assert "Download zip" in row.content.decode()


def test_coordinator_cannot_start_and_other_users_jobs_are_404(
    client, coordinator, data_manager, other_coordinator
):
    job = ExportJob.objects.create(requested_by=data_manager)
    client.force_login(coordinator)
    assert client.post("/exports/start/").status_code == 403
    assert client.get(f"/exports/jobs/{job.pk}/").status_code == 404
    client.force_login(other_coordinator)
    assert client.get(f"/api/v1/export/bulk/{job.pk}/").status_code == 404


def test_token_revoke_page_404_for_other_sites_and_403_for_read_only_roles(
    client, data_manager, coordinator, other_coordinator, sponsor
):
    from tests.exports.helpers import issue

    token, _ = issue(data_manager, coordinator)
    client.force_login(other_coordinator)
    assert client.post(f"/exports/tokens/{token.pk}/revoke/", {"reason": "x"}).status_code == 404
    client.force_login(sponsor)
    assert client.post(f"/exports/tokens/{token.pk}/revoke/", {"reason": "x"}).status_code == 403


def test_openapi_schema_describes_export_endpoints_without_warnings(tmp_path, capsys):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--file", str(out))
    warnings = [
        line for line in capsys.readouterr().err.splitlines() if "exports/" in line or "Export" in line
    ]
    assert warnings == []
    import yaml

    schema = yaml.safe_load(out.read_text())
    paths = schema["paths"]
    for name in (
        "participants",
        "adverse-events",
        "suv-metrics",
        "measurements",
        "ihc-scores",
        "mri-parameters",
    ):
        assert f"/api/v1/export/{name}/" in paths and f"/api/v1/export/{name}/changes/" in paths
    listing = paths["/api/v1/export/participants/"]["get"]
    params = {p["name"] for p in listing["parameters"]}
    assert {
        "participant",
        "site",
        "changed_since",
        "status_date_from",
        "format",
        "cursor",
        "page_size",
    } <= params
    assert "text/csv" in listing["responses"]["200"]["content"]
    changes = paths["/api/v1/export/visits/changes/"]["get"]
    assert {p["name"] for p in changes["parameters"]} >= {"since", "page_size"}
    component = schema["components"]["schemas"]["ExportParticipants"]
    sex = component["properties"]["sex"]
    enum = sex["allOf"][0]["enum"]
    assert enum == ["M", "F"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_docs_page_works_offline(client, sponsor):
    client.force_login(sponsor)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "drf_spectacular_sidecar" in html and "cdn.jsdelivr" not in html and "unpkg.com" not in html
