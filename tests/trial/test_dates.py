"""Dates on pages and in services: ISO date inputs, no future dates (at the site's clock), site-local times."""

from __future__ import annotations

import datetime as dt
import inspect
import re
import zoneinfo
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests import factories
from trial import services
from trial.forms import DateInput
from trial.models import Role, Site, TracerDose, VisitStatus
from trial.site_time import format_site_time, site_today

pytestmark = pytest.mark.django_db

FORM_MODULES = (
    "trial.forms",
    "safety.forms",
    "lesions.forms",
    "pathology.forms",
    "imaging.forms",
    "exports.forms",
)


def offset_site() -> Site:
    """A site whose calendar day differs from UTC's right now (UTC+14 late in the UTC day, UTC-11 early)."""
    zone = "Pacific/Kiritimati" if timezone.now().hour >= 10 else "Pacific/Pago_Pago"
    return factories.make_site("XX01", name="Offset", country="KI", time_zone=zone)


def offset_participant() -> tuple[object, object]:
    site = offset_site()
    user = factories.make_user("offset", (site, Role.SITE_COORDINATOR))
    return user, factories.enrol(user, site)


def _form_classes() -> list[type[forms.Form]]:
    import importlib

    found = []
    for name in FORM_MODULES:
        module = importlib.import_module(name)
        found += [c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, forms.BaseForm)]
    return found


def test_every_date_field_on_every_form_uses_the_iso_date_input():
    checked = 0
    for form_class in _form_classes():
        for name, field in form_class.base_fields.items():
            if isinstance(field, forms.DateField) and not isinstance(field, forms.DateTimeField):
                assert isinstance(field.widget, DateInput), f"{form_class.__name__}.{name}"
                assert field.widget.format == "%Y-%m-%d", f"{form_class.__name__}.{name}"
                checked += 1
    assert checked >= 8


def test_the_edit_form_of_a_done_visit_shows_an_iso_date_and_saves_unchanged(
    client, coordinator, participant
):
    visit = factories.visit(participant, "BL_TRACER")
    services.visit_record(
        ctx=factories.ctx_for(coordinator),
        visit=visit,
        status=VisitStatus.DONE,
        actual_date=visit.planned_date,
    )
    visit.refresh_from_db()
    client.force_login(coordinator)
    url = reverse("visit_record", kwargs={"participant_pk": participant.pk, "visit_pk": visit.pk})
    page = client.get(url).content.decode()
    field = re.search(r'<input type="date" name="actual_date" value="([^"]*)"', page)
    assert field and field.group(1) == visit.planned_date.isoformat()
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    data = {"status": "done", "actual_date": field.group(1), "version": version, "reason": "Checked"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()


def test_a_visit_date_after_today_at_the_site_is_refused_by_the_service():
    user, participant = offset_participant()
    visit = factories.visit(participant, "BL_TRACER")
    today = site_today(participant.site)
    ctx = factories.ctx_for(user)
    with pytest.raises(ValidationError) as exc:
        services.visit_record(
            ctx=ctx,
            visit=visit,
            status=VisitStatus.DONE,
            actual_date=today + dt.timedelta(days=1),
            out_of_window_reason="Late",
        )
    assert "in the future" in exc.value.message_dict["actual_date"][0]
    services.visit_record(
        ctx=ctx, visit=visit, status=VisitStatus.DONE, actual_date=today, out_of_window_reason="x"
    )


def test_a_future_visit_date_is_refused_on_the_page_with_400(client, coordinator, participant):
    visit = factories.visit(participant, "BL_TRACER")
    tomorrow = site_today(participant.site) + dt.timedelta(days=1)
    client.force_login(coordinator)
    url = reverse("visit_record", kwargs={"participant_pk": participant.pk, "visit_pk": visit.pk})
    data = {"status": "done", "actual_date": tomorrow.isoformat(), "out_of_window_reason": "Late"}
    response = client.post(url, data)
    assert response.status_code == 400
    assert f"The visit date {tomorrow} is in the future" in response.content.decode()
    assert factories.visit(participant, "BL_TRACER").status == VisitStatus.PLANNED


def test_a_dose_time_in_the_future_is_refused_by_the_service(coordinator, participant):
    later = timezone.now() + dt.timedelta(hours=1)
    with pytest.raises(ValidationError) as exc:
        factories.record_tracer_dose(coordinator, participant, when=later)
    assert "(Europe/Amsterdam) is in the future" in exc.value.message_dict["administered_at"][0]
    with pytest.raises(ValidationError) as exc:
        services.anti_pd1_dose_record(
            ctx=factories.ctx_for(coordinator),
            participant=participant,
            drug="nivolumab",
            dose_mg=Decimal("240"),
            administered_at=later,
        )
    assert "in the future" in exc.value.message_dict["administered_at"][0]


def test_a_dose_typed_in_site_time_is_shown_back_in_site_time_with_the_zone(client, coordinator, participant):
    visit = factories.visit(participant, "BL_TRACER")
    client.force_login(coordinator)
    response = client.post(
        f"/participants/{participant.pk}/tracer-doses/new/",
        {
            "visit": visit.pk,
            "administered_at": f"{visit.planned_date}T10:15",
            "activity_before_mbq": "37.10",
            "residual_mbq": "0.60",
            "mass_dose_mg": "10",
            "batch": "ZR-1",
        },
    )
    assert response.status_code == 302
    local = dt.datetime.combine(
        visit.planned_date, dt.time(10, 15), tzinfo=zoneinfo.ZoneInfo("Europe/Amsterdam")
    )
    assert TracerDose.objects.get().administered_at == local
    page = client.get(f"/participants/{participant.pk}/").content.decode()
    assert f"{visit.planned_date} 10:15 {local.tzname()} (Europe/Amsterdam)" in page
    utc = local.astimezone(dt.UTC)
    assert f"{utc:%Y-%m-%d %H:%M} UTC" not in page


def test_site_times_name_the_zone_and_follow_summer_time():
    moment = dt.datetime(2026, 3, 1, 9, 15, tzinfo=dt.UTC)
    assert format_site_time(moment, "Europe/Amsterdam") == "2026-03-01 10:15 CET (Europe/Amsterdam)"
    summer = dt.datetime(2026, 7, 1, 8, 15, tzinfo=dt.UTC)
    assert format_site_time(summer, "Europe/Brussels") == "2026-07-01 10:15 CEST (Europe/Brussels)"
    assert format_site_time(None, "Europe/Brussels") == ""


def test_a_site_local_date_time_input_shows_the_stored_instant_on_the_sites_clock(participant):
    from trial.forms import AntiPD1DoseForm

    form = AntiPD1DoseForm(
        participant=participant, initial={"administered_at": dt.datetime(2026, 3, 1, 9, 15, tzinfo=dt.UTC)}
    )
    html = str(form["administered_at"])
    assert 'type="datetime-local"' in html and 'value="2026-03-01T10:15"' in html
