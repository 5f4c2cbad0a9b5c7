"""Query pages: raise from a field badge, the thread with its forms, lists with filters, badges, the dashboard."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from queries import services
from queries.models import Query, QueryStatus
from tests import factories
from trial.models import Role

pytestmark = pytest.mark.django_db


def _token(html: str, form_id: str) -> str:
    form = html.split(f'id="{form_id}"', 1)[1]
    return re.search(r'name="form_token" value="([^"]+)"', form).group(1)


def test_raise_answer_close_in_pages_with_badges_lists_and_dashboard(
    client, ae, monitor, coordinator, other_coordinator
):
    client.force_login(monitor)
    detail = client.get(f"/safety/aes/{ae.pk}/").content.decode()
    raise_url = f"/queries/new/?resource=adverse-events&amp;object_id={ae.pk}&amp;field=grade"
    assert raise_url in detail  # the monitor's "raise a query" link beside the grade
    page = client.get(raise_url.replace("&amp;", "&"))
    assert page.status_code == 200 and 'id="current-value">1<' in page.content.decode()
    post = {"resource": "adverse-events", "object_id": ae.pk, "field": "grade", "text": "Source: grade 2?"}
    token = _token(page.content.decode(), "raise-form")
    first = client.post("/queries/new/", {**post, "form_token": token})
    query = Query.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/queries/{query.pk}/"
    client.post("/queries/new/", {**post, "form_token": token})  # a double submit raises nothing more
    assert Query.objects.count() == 1
    assert client.post("/queries/new/", {**post, "text": ""}).status_code == 400

    client.force_login(coordinator)
    detail = client.get(f"/safety/aes/{ae.pk}/").content.decode()
    assert 'data-query-field="grade"' in detail and "1 open query" in detail and "＋query" not in detail
    assert "1 open query" in client.get(f"/safety/aes/{ae.pk}/edit/").content.decode()
    thread = client.get(f"/queries/{query.pk}/").content.decode()
    assert 'id="answer-form"' in thread and 'id="close-form"' not in thread
    bad = client.post(
        f"/queries/{query.pk}/answer/",
        {"text": "grade 4", "correct": "on", "new_value": "4", "form_token": _token(thread, "answer-form")},
    )
    assert bad.status_code == 400 and "defines grade 1, 2, 3 only" in bad.content.decode()
    ok = client.post(
        f"/queries/{query.pk}/answer/",
        {
            "text": "Re-read: grade 2.",
            "correct": "on",
            "new_value": "2",
            "form_token": _token(thread, "answer-form"),
        },
    )
    assert ok.status_code == 302
    ae.refresh_from_db()
    query.refresh_from_db()
    assert (ae.grade, query.status) == (2, QueryStatus.ANSWERED)

    client.force_login(monitor)
    thread = client.get(f"/queries/{query.pk}/").content.decode()
    assert "Answered with a correction" in thread and "<code>1</code> → <code>2</code>" in thread
    client.post(
        f"/queries/{query.pk}/close/", {"text": "Verified.", "form_token": _token(thread, "close-form")}
    )
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    services.query_raise(
        ctx=factories.ctx_for(monitor),
        resource="participants",
        object_id=ae.participant_id,
        field="weight_kg",
        text="kg?",
    )

    # Lists: per participant and per site, with filters; the participant page shows the badge and section.
    participant_page = client.get(f"/participants/{ae.participant_id}/").content.decode()
    assert "1 open query" in participant_page and 'id="participant-queries"' in participant_page
    listing = client.get(f"/queries/participants/{ae.participant_id}/").content.decode()
    assert listing.count('class="query-row"') == 2
    assert (
        client.get("/queries/sites/NL01/", {"status": "closed"}).content.decode().count('class="query-row"')
        == 1
    )
    assert (
        client.get("/queries/", {"raised_by": "mona", "age": "lt7", "resource": "participants"})
        .content.decode()
        .count('class="query-row"')
        == 1
    )
    assert client.get("/queries/", {"raised_by": "system"}).content.decode().count('class="query-row"') == 0
    assert client.get("/queries/", {"age": "ancient"}).status_code == 400
    client.force_login(other_coordinator)
    assert client.get("/queries/").content.decode().count('class="query-row"') == 0
    assert client.get(f"/queries/{query.pk}/").status_code == 404


def test_dashboard_counts_per_site_in_a_constant_number_of_sql_queries(client, ae, monitor, data_manager):
    services.query_raise(
        ctx=factories.ctx_for(monitor), resource="adverse-events", object_id=ae.pk, field="grade", text="?"
    )
    client.force_login(data_manager)

    def panel_sql() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            html = client.get("/").content.decode()
        return html, sum('"queries_query"' in q["sql"] for q in captured.captured_queries)

    html, one_site = panel_sql()
    table = html.split('id="query-summary"', 1)[1].split("</table>", 1)[0]
    assert re.search(
        r"NL01</a></td><td class=\"warn\">1</td><td>0</td><td>0</td><td><span class=\"\">0 days", table
    )
    for code in ("BE01", "DE01", "FR01"):
        factories.make_user(f"dm-{code}", (factories.make_site(code), Role.DATA_MANAGER))
    html, four_sites = panel_sql()
    assert html.count("/queries/sites/") >= 4 and four_sites == one_site
