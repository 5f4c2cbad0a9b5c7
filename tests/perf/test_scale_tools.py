"""load_scale (consistent data, a sealed chain audit_verify accepts, refusals), scans planned with their visits
(GET pages never write), the change feed's latest-entry table, and plots drawn once per data version."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imaging.models import Scan
from safety import presentation
from safety.models import AdverseEvent
from tests import factories
from trial.audit import audited_update
from trial.models import AuditEntry, AuditLatest, Participant, Role, Site, Visit

pytestmark = pytest.mark.django_db


def test_load_scale_writes_a_consistent_trial_with_a_sealed_chain_and_refuses_a_second_load():
    out = io.StringIO()
    call_command("load_scale", sites=2, participants=4, aes=30, audit=400, scans=100, force=True, stdout=out)
    assert "Scale trial loaded" in out.getvalue()
    assert Site.objects.filter(code__startswith="SC").count() == 2 and Participant.objects.count() == 4
    assert Visit.objects.count() == 4 * 18  # the protocol calendar: 18 visits each (4 response CTs)
    assert Scan.objects.count() == 4 * 6  # one per PET (4) and MRI (2) visit, fewer than asked
    ae = AdverseEvent.objects.select_related("term").first()
    assert ae.term.grade_text(ae.grade) and ae.ctcae_version == "5.0"
    assert AuditEntry.objects.filter(request_id="load-scale").count() == 400
    # Each AE's version is 1 + its audited updates, and the latest entry table names its last one.
    updates = AuditEntry.objects.filter(app_label="safety", model="adverseevent", object_id=str(ae.pk))
    assert ae.version == updates.count()
    latest = AuditLatest.objects.get(app_label="safety", model="adverseevent", object_id=str(ae.pk))
    assert latest.entry_id == updates.order_by("-txid", "-id").first().pk
    verified = io.StringIO()
    call_command("audit_verify", stdout=verified)
    assert "Audit chain intact" in verified.getvalue()
    with pytest.raises(CommandError, match="already holds trial data"):
        call_command("load_scale", sites=1, participants=1, aes=0, audit=0, scans=0)


def test_scans_are_planned_with_the_visits_and_pages_never_write(client, coordinator, site_nl):
    participant = factories.enrol(coordinator, site_nl)
    planned = Visit.objects.filter(participant=participant, kind__in=("pet", "mri")).count()
    assert planned == 6 and participant.scans.count() == planned
    client.force_login(factories.make_user("dana", (site_nl, Role.DATA_MANAGER)))
    client.get("/")  # the session is saved once after login
    for url in (
        "/imaging/worklist/",
        f"/participants/{participant.pk}/",
        "/api/v1/pet-scans/",
        "/safety/tables/",
    ):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200, url
        writes = [
            q["sql"]
            for q in ctx.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        ]
        assert writes == [], url


def test_the_safety_plot_is_drawn_once_per_data_version(monkeypatch):
    cache.clear()  # this cache's keys only (trial.cache.PrefixedRedisCache): no plot of an earlier run is reused
    call_command(
        "load_scale", sites=1, participants=2, aes=12, audit=0, scans=0, force=True, stdout=io.StringIO()
    )
    user = factories.make_user("dana", (Site.objects.get(code="SC001"), Role.DATA_MANAGER))
    drawn = []
    real = presentation._max_grade_plot
    monkeypatch.setattr(presentation, "_max_grade_plot", lambda **kw: drawn.append(1) or real(**kw))
    first = presentation.max_grade_plot_png(user=user, filters={})
    assert presentation.max_grade_plot_png(user=user, filters={}) == first and len(drawn) == 1
    ae = AdverseEvent.objects.first()
    audited_update(ae, ctx=factories.ctx_for(user), data={"description": "changed"}, reason="test")
    presentation.max_grade_plot_png(user=user, filters={})
    assert len(drawn) == 2  # the AE's version changed: drawn again
    presentation.max_grade_plot_png(user=user, filters={"site": "SC001"})
    assert len(drawn) == 3  # other filters, another plot
