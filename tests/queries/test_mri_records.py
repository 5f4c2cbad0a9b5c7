"""MR records (series uploads, map jobs, ROIs) are queryable, lockable and exported like every clinical record.

A monitor raises a query on an MR series upload through the REST API, the coordinator answers it (a corrected
value is refused: the upload's fields were read from the received files), the monitor closes it. Map jobs and
ROIs take queries too; all three are site-scoped export resources (JSON, CSV, ODM forms) and record-lockable.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from exports import odm_meta
from imaging.models import Modality
from imaging.services import scans_ensure_for_participant
from mri.models import JobState, MapModel, MrMapJob, MrRoi, MrSeriesUpload, SeriesKind
from queries import targets
from queries.models import Query
from tests import factories
from tests.exports.helpers import issue, token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("feed_reads_this_transaction")]
MR_RESOURCES = ("mr-series-uploads", "mr-map-jobs", "mr-rois")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _records(participant, user) -> tuple[MrSeriesUpload, MrMapJob, MrRoi]:
    """Rows as the MRI services store them (the ingest and the fit are tested in tests/mri/)."""
    scans_ensure_for_participant(participant)
    scan = participant.scans.filter(modality=Modality.MRI).order_by("visit__planned_date").first()
    upload = MrSeriesUpload.objects.create(
        participant=participant,
        scan=scan,
        kind=SeriesKind.DCE,
        uploaded_by=user,
        storage_dir=f"mri/{participant.study_id}/series",
        instance_count=42,
        total_bytes=4200,
        series_instance_uid="2.25.42",
        description="DCE VIBE",
        source_fingerprint="a" * 64,
        acquisition={"shape": [4, 3, 2, 21], "tr_ms": 4.1},
    )
    job = MrMapJob.objects.create(
        participant=participant,
        scan=scan,
        series=upload,
        model=MapModel.TOFTS,
        options={"t10_ms": 1300},
        state=JobState.DONE,
        progress=1.0,
        summary={"ktrans_per_min": {"median": 0.2}},
    )
    roi = MrRoi.objects.create(
        participant=participant,
        job=job,
        name="T1",
        source="sphere",
        voxel_count=7,
        stats={"ktrans_per_min": {"median": 0.2}},
    )
    return upload, job, roi


def test_a_query_on_an_mr_series_upload_raised_answered_and_closed_through_the_api(
    participant, monitor, coordinator, other_coordinator
):
    upload, job, roi = _records(participant, coordinator)
    body = {
        "resource": "mr-series-uploads",
        "object_id": upload.pk,
        "field": "description",
        "text": "The source worksheet names a T1 VIBE, not the DCE: which series is this?",
    }
    created = api(monitor).post("/api/v1/queries/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["status"], data["participant"], data["site"]) == ("open", participant.study_id, "NL01")
    qid = data["id"]

    # the upload's values came from the received files: an answer may not rewrite them
    corrected = api(coordinator).post(
        f"/api/v1/queries/{qid}/answer/", {"text": "Renamed.", "new_value": "T1 VIBE"}, format="json"
    )
    assert corrected.status_code == 400 and list(corrected.json()["errors"]) == ["new_value"]
    upload.refresh_from_db()
    assert upload.description == "DCE VIBE" and Query.objects.get(pk=qid).status == "open"

    answered = api(coordinator).post(
        f"/api/v1/queries/{qid}/answer/",
        {"text": "It is the DCE; the worksheet is wrong and was corrected at the site."},
        format="json",
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert api(other_coordinator).get(f"/api/v1/queries/{qid}/").status_code == 404  # site-scoped
    closed = api(monitor).post(f"/api/v1/queries/{qid}/close/", {}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert [m["kind"] for m in closed.json()["messages"]] == ["raised", "answered", "closed"]

    # map jobs and ROIs take queries too, on their computed fields
    for resource, record, field in (("mr-map-jobs", job, "summary"), ("mr-rois", roi, "voxel_count")):
        response = api(monitor).post(
            "/api/v1/queries/",
            {"resource": resource, "object_id": record.pk, "field": field, "text": "Source?"},
            format="json",
        )
        assert response.status_code == 201, (resource, response.content)


def test_mr_records_are_computed_not_corrected_in_an_answer(participant, coordinator):
    upload, job, roi = _records(participant, coordinator)
    for resource, record, field in (
        ("mr-series-uploads", upload, "kind"),
        ("mr-series-uploads", upload, "instance_count"),
        ("mr-map-jobs", job, "model"),
        ("mr-map-jobs", job, "state"),
        ("mr-rois", roi, "name"),
        ("mr-rois", roi, "voxel_count"),
    ):
        target = targets.resolve(resource, record.pk, field)
        assert target.participant == participant and target.value() is not None
        assert target.correctable_field() is None, (resource, field)
    assert set(MR_RESOURCES) <= set(targets.queryable_resources())
    assert set(MR_RESOURCES) <= targets.NOT_CORRECTABLE_RESOURCES


def test_mr_records_are_record_lockable_site_scoped_exports_and_odm_forms(
    participant, coordinator, other_coordinator, site_be, monitor, data_manager
):
    mine = _records(participant, coordinator)
    theirs = _records(factories.enrol(other_coordinator, site_be), other_coordinator)

    _token, key = issue(data_manager, monitor)  # NL01 only
    client = token_client(key)
    for name, record, other in zip(MR_RESOURCES, mine, theirs, strict=True):
        rows = client.get(f"/api/v1/export/{name}/").json()["results"]
        assert [r["id"] for r in rows] == [record.pk], name
        assert rows[0]["participant"] == participant.study_id and rows[0]["site"] == "NL01"
        csv_text = b"".join(client.get(f"/api/v1/export/{name}/", {"format": "csv"}).streaming_content)
        assert csv_text.decode().count("\n") == 2, name  # header and our row only
        lock = api(data_manager).post(
            "/api/v1/locks/",
            {"scope": "record", "resource": name, "object_id": record.pk, "reason": "Reviewed"},
            format="json",
        )
        assert lock.status_code == 201, (name, lock.content)
        assert lock.json()["resource"] == name
        foreign = api(monitor).post(
            "/api/v1/queries/",
            {"resource": name, "object_id": other.pk, "field": "id", "text": "?"},
            format="json",
        )
        assert foreign.status_code == 400 and list(foreign.json()["errors"]) == ["object_id"], name  # unseen
    assert not Query.objects.exists()

    upload, job, _roi = mine
    rows = client.get("/api/v1/export/mr-series-uploads/").json()["results"]
    assert rows[0]["acquisition"] == upload.acquisition and rows[0]["visit_code"] == upload.scan.visit.code
    assert "storage_dir" not in rows[0]
    job_row = client.get("/api/v1/export/mr-map-jobs/").json()["results"][0]
    assert (job_row["series"], job_row["summary"]) == (upload.pk, job.summary)

    forms = {f.name: f for f in odm_meta.forms()}
    for name in MR_RESOURCES:
        assert name in forms, name
    assert forms["mr-series-uploads"].visit_path == "scan__visit_id"
    assert forms["mr-rois"].visit_path == "job__scan__visit_id"
