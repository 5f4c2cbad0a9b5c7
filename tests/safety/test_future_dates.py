"""AE onset and end dates may not lie after today at the participant's site (partial dates at their precision)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from safety import services
from tests import factories
from tests.safety.conftest import base_values, form_data
from tests.trial.test_dates import offset_participant
from trial.site_time import site_today

pytestmark = pytest.mark.django_db


@pytest.fixture
def offset(terms):
    """(ctx, participant) at a site whose day differs from UTC's, with the baseline tracer given."""
    user, participant = offset_participant()
    factories.record_tracer_dose(user, participant)
    return factories.ctx_for(user), participant


def _create(ctx, participant, terms, **values):
    return services.ae_create(
        ctx=ctx, participant=participant, values=base_values(terms["Fatigue"], **values)
    )


def test_an_onset_after_today_at_the_site_is_refused_and_today_is_accepted(offset, terms):
    ctx, participant = offset
    today = site_today(participant.site)
    with pytest.raises(ValidationError) as exc:
        _create(
            ctx, participant, terms, onset_date=str(today + dt.timedelta(days=1)), end_date="", ongoing=True
        )
    assert "in the future" in exc.value.message_dict["onset_date"][0]
    assert _create(ctx, participant, terms, onset_date=str(today), end_date="", ongoing=True).pk


def test_an_end_date_after_today_at_the_site_is_refused(offset, terms):
    ctx, participant = offset
    today = site_today(participant.site)
    with pytest.raises(ValidationError) as exc:
        _create(ctx, participant, terms, onset_date=str(today), end_date=str(today + dt.timedelta(days=1)))
    assert "in the future" in exc.value.message_dict["end_date"][0]
    assert "onset_date" not in exc.value.message_dict


def test_partial_dates_are_compared_at_their_precision(offset, terms):
    ctx, participant = offset
    today = site_today(participant.site)
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).strftime("%Y-%m")
    with pytest.raises(ValidationError) as exc:
        _create(ctx, participant, terms, onset_date=next_month, end_date="", ongoing=True)
    assert "in the future" in exc.value.message_dict["onset_date"][0]
    assert _create(ctx, participant, terms, onset_date=f"{today:%Y-%m}", end_date="", ongoing=True).pk


def test_a_future_onset_is_refused_on_the_page_with_400(client, coordinator, dosed_participant, terms):
    tomorrow = site_today(dosed_participant.site) + dt.timedelta(days=1)
    values = base_values(terms["Fatigue"], onset_date=str(tomorrow), end_date="", ongoing=True)
    client.force_login(coordinator)
    response = client.post(f"/safety/participants/{dosed_participant.pk}/aes/new/", form_data(values))
    assert response.status_code == 400
    assert f"Onset date {tomorrow} is in the future" in response.content.decode()
