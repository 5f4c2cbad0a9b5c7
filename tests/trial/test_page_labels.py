"""What pages show, on demo-like data, for every role: labels instead of raw codes, one date format, and the void
action apart from edit returning where the user came from."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model

from config.display import audit_changes, label_of, when
from tests.page_text import OTHER_DATE_FORMATS, RAW_CODE, build_demo_like, visible_text, walk

pytestmark = pytest.mark.django_db

ROLES = ("coordinator_NL01", "investigator_NL01", "radiologist_NL01", "pathologist_NL01", "monitor")
ROLES += ("data_manager", "sponsor")


def test_every_roles_pages_show_labels_and_one_date_format(monkeypatch, client):
    participants, users = build_demo_like(monkeypatch, per_site=2)
    usernames = set(get_user_model().objects.values_list("username", flat=True))
    codes: dict[str, set[str]] = defaultdict(set)
    dates: dict[str, set[str]] = defaultdict(set)
    seen: set[str] = set()
    broken: list[str] = []
    pages = 0
    for role in ROLES:
        client.force_login(users[role])
        start = ["/", f"/participants/{participants[0].pk}/", "/monitoring/missing-forms/"]
        for url, content in walk(client, start, seen, limit=20, broken=broken):
            pages += 1
            text = visible_text(content)
            for code in set(RAW_CODE.findall(text)) - usernames:
                codes[code].add(f"{role} {url}")
            for name, rx in OTHER_DATE_FORMATS.items():
                for found in rx.findall(text):
                    dates[f"{name}: {found}"].add(f"{role} {url}")
    assert pages > 50  # the walk reached the pages (nav, participant, casebook forms, lesions, queries, ...)
    assert broken == [], broken  # every link a page offered its user opens
    assert {c: sorted(where)[:2] for c, where in codes.items()} == {}
    assert {d: sorted(where)[:2] for d, where in dates.items()} == {}


def test_labels_of_the_codes_named_in_the_issue():
    assert label_of("on_treatment") == "On treatment"
    assert label_of("NON_CR_NON_PD") == "Non-CR/Non-PD"
    assert label_of("extended_tofts") == "Extended Tofts"
    assert label_of("site_coordinator") == "Site coordinator"
    assert label_of("LAB_GRADE2_WITHOUT_AE") == "Lab value of CTCAE grade 2 or more without a matching AE"
    assert label_of("INJECTION_TIME_MISMATCH") == "Injection time mismatch"  # spelled out, never raw
    assert label_of("Melanoma") == "Melanoma"  # free text is left alone


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-12-06T14:03:59+00:00", "2026-12-06 14:03 UTC"),
        ("2026-12-06T15:03:00+01:00", "2026-12-06 14:03 UTC"),
    ],
)
def test_instants_are_shown_in_utc_to_the_minute(value, shown):
    assert when(value) == shown


def test_the_visit_code_shows_as_the_calendars_visit_name(participant):
    visit = participant.visits.exclude(definition=None).filter(code__contains="_").first()
    assert label_of(visit.code) == visit.definition.name != visit.code


def test_audit_changes_show_field_labels_and_choice_labels(coordinator, participant):
    from trial.models import AuditEntry

    entry = AuditEntry(
        app_label="trial", model="participant", changes={"status": ["screening", "on_treatment"]}
    )
    assert audit_changes(entry) == [("Status", "Screening", "On treatment")]


def test_void_is_apart_from_edit_and_returns_where_the_user_came_from(client, coordinator, participant):
    from casebook import services
    from casebook.models import Medication
    from tests.casebook.builders import med
    from tests.factories import ctx_for

    record = services.record_create(
        ctx=ctx_for(coordinator), model=Medication, participant=participant, data=med()
    )
    client.force_login(coordinator)
    edit = client.get(f"/casebook/records/medications/{record.pk}/edit/").content.decode()
    form_end = edit.index("</form>")
    assert "Void this record…" in edit[form_end:]  # its own labelled action, below (outside) the edit form
    assert 'class="button danger void-action"' in edit and "Void this record" not in edit[:form_end]
    came_from = f"/participants/{participant.pk}/?tab=casebook"
    page = client.get(f"/casebook/records/medications/{record.pk}/void/?next={quote(came_from)}")
    assert f'value="{came_from}"' in page.content.decode()
    done = client.post(
        f"/casebook/records/medications/{record.pk}/void/",
        {"reason": "entered twice", "version": record.version, "next": came_from},
    )
    assert done.status_code == 302 and done["Location"] == came_from
    record.refresh_from_db()
    assert record.voided
    # Another host is never a destination: the list the record belongs to instead.
    back = client.post(
        f"/casebook/records/medications/{record.pk}/void/",
        {"reason": "restored", "version": record.version, "next": "https://evil.example/x"},
    )
    assert (
        back.status_code == 302
        and back["Location"] == f"/casebook/participants/{participant.pk}/medications/"
    )


def test_the_generic_void_page_returns_to_next(client, coordinator, participant):
    from tests.factories import record_tracer_dose

    dose = record_tracer_dose(coordinator, participant)
    client.force_login(coordinator)
    came_from = f"/participants/{participant.pk}/"
    page = client.get(f"/records/trial/tracerdose/{dose.pk}/void/?next={quote(came_from)}").content.decode()
    assert "Void this record" in page and 'class="danger"' in page
    done = client.post(
        f"/records/trial/tracerdose/{dose.pk}/void/",
        {"reason": "wrong dose", "version": dose.version, "next": "//evil.example/"},
    )
    assert done.status_code == 302 and done["Location"] == came_from  # the default: the participant page


def test_coordinators_have_a_nav_link_to_their_sites_missing_forms(client, coordinator, sponsor, participant):
    client.force_login(coordinator)
    page = client.get("/").content.decode()
    assert 'href="/monitoring/missing-forms/" id="nav-missing-forms"' in page
    assert "NL01" in client.get("/monitoring/missing-forms/").content.decode()
    client.force_login(sponsor)
    assert 'id="nav-missing-forms"' not in client.get("/").content.decode()
