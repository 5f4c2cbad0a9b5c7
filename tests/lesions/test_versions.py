"""Lesion, assessment and measurement edits name the version they read; a stale page is refused (409)."""

from __future__ import annotations

import re

import pytest

from lesions import services
from lesions.models import Measurement
from tests.factories import ctx_for, make_user
from tests.lesions.helpers import assess, day, entries, lesion
from tests.threads import in_threads
from trial.models import AuditEntry, Role
from trial.versioning import VersionConflict

pytestmark = pytest.mark.django_db


@pytest.fixture
def rob(site_nl):
    return make_user("rob", (site_nl, Role.RADIOLOGIST), first_name="Rob", last_name="Reader")


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="(\d+)"', page).group(1)


def test_a_stale_lesion_form_is_refused_and_the_other_change_survives(
    client_for, radiologist, rob, participant
):
    t1 = lesion(radiologist, participant, "T1", "liver")
    url = f"/lesions/lesion/{t1.pk}/edit/"
    client = client_for(radiologist)
    version = hidden(client.get(url).content.decode(), "version")
    services.lesion_update(ctx=ctx_for(rob), lesion=t1, data={"location": "segment VII"}, reason="review")
    form = {"label": "T1", "organ": "liver", "location": "", "role": "target", "description": "rim enhancing"}
    r = client.post(url, {**form, "reason": "describe", "version": version})
    assert r.status_code == 409
    assert "Location: — → segment VII (by Rob Reader (rob)" in r.content.decode()
    t1.refresh_from_db()
    assert (t1.location, t1.description, t1.version) == ("segment VII", "", 2)


def test_a_stale_measurement_grid_is_refused_naming_the_lesion(client_for, radiologist, rob, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    a = assess(radiologist, participant, day(0), {t1: 30})
    client = client_for(radiologist)
    page = client.get(f"/lesions/assessments/{a.pk}/").content.decode()
    assert hidden(page, f"mversion_{t1.pk}") == "1"
    services.measurements_record(
        ctx=ctx_for(rob), assessment=a, entries=entries({t1: 32}), reason="re-measured"
    )
    r = client.post(
        f"/lesions/assessments/{a.pk}/",
        {f"state_{t1.pk}": "measured", f"value_{t1.pk}": "31", "reason": "typo", f"mversion_{t1.pk}": "1"},
    )
    assert r.status_code == 409
    text = r.content.decode()
    assert "T1 at" in text and "32" in text and "rob" in text and 'value="31"' in text
    assert Measurement.objects.get(assessment=a, lesion=t1, voided=False).value_mm == 32


@pytest.mark.django_db(transaction=True)
def test_two_grids_saved_at_once_do_not_both_create_the_measurement(radiologist, rob, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    a = services.assessment_create(ctx=ctx_for(radiologist), participant=participant, date=day(0))

    def save(user, mm):
        return lambda: services.measurements_record(
            ctx=ctx_for(user), assessment=a, entries=entries({t1: mm}), expected_versions={t1.pk: 0}
        )

    results = in_threads(save(radiologist, 30), save(rob, 31))
    assert sorted(type(r).__name__ for r in results) == ["VersionConflict", "int"]
    assert Measurement.objects.filter(assessment=a, lesion=t1, voided=False).count() == 1


def test_a_stale_assessment_edit_is_refused(client_for, radiologist, rob, participant):
    a = services.assessment_create(ctx=ctx_for(radiologist), participant=participant, date=day(0))
    url = f"/lesions/assessments/{a.pk}/edit/"
    client = client_for(radiologist)
    version = hidden(client.get(url).content.decode(), "version")
    services.assessment_update(ctx=ctx_for(rob), assessment=a, data={"notes": "motion artefact"}, reason="r")
    entries_before = AuditEntry.objects.filter(model="assessment", object_id=str(a.pk)).count()
    r = client.post(
        url, {"date": day(1).isoformat(), "modality": "ct", "reason": "date typo", "version": version}
    )
    assert r.status_code == 409
    a.refresh_from_db()
    assert a.date == day(0) and a.notes == "motion artefact"
    with pytest.raises(VersionConflict):
        services.assessment_update(
            ctx=ctx_for(rob), assessment=a, data={"notes": "x"}, reason="r", expected_version=a.version - 1
        )
    assert AuditEntry.objects.filter(model="assessment", object_id=str(a.pk)).count() == entries_before
