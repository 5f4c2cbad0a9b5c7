"""lesions.demo.build_demo: the demo shows a PR, a PD -> iUPD -> iCPD course and an iUPD that resets."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from lesions.demo import build_demo
from lesions.models import Assessment
from tests import factories
from trial import services as trial_services
from trial.models import VisitStatus

pytestmark = pytest.mark.django_db


def _progress(participant, coordinator):
    for v in participant.visits.filter(kind__in=["ct", "mri"]).order_by("planned_date"):
        trial_services.visit_record(
            ctx=factories.ctx_for(coordinator),
            visit=v,
            status=VisitStatus.DONE,
            actual_date=v.planned_date,
            out_of_window_reason="",
        )


def test_demo_courses(coordinator, radiologist, site_nl, monitor, client_for):
    start = timezone.localdate() - dt.timedelta(days=400)
    people = [
        factories.enrol(coordinator, site_nl, enrolment_date=start + dt.timedelta(days=i)) for i in range(3)
    ]
    for p in people:
        _progress(p, coordinator)
    users = {"radiologist_NL01": radiologist}
    build_demo(people, users, random.Random(3))
    build_demo(people, users, random.Random(3))  # idempotent
    courses = []
    for p in people:
        rows = list(Assessment.objects.filter(participant=p, voided=False).order_by("date"))
        assert rows and all(not a.engine_error for a in rows), [a.engine_error for a in rows]
        courses.append([a.irecist_response for a in rows[1:]])
    assert courses[0][:2] == ["iUPD", "iCPD"]
    reset = courses[1]
    assert reset[0] == "iUPD" and reset[1] in ("iSD", "iPR") and "iUPD" in reset[2:]
    assert courses[2][0] == "iPR" and courses[2][1] == "iPR"
    assert people[0].mri_parameter_sets.count() == 6
    r = client_for(monitor).get(f"/lesions/participants/{people[1].pk}/mri/")
    assert r.status_code == 200 and "Ktrans" in r.content.decode()
