"""Edits need a reason and are audited; grade changes make linked records; AEs are voided, never deleted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from safety import services
from safety.models import AdverseEvent
from tests import factories
from tests.safety.conftest import days_ago, form_data
from trial import services as trial_services
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_an_edit_without_a_reason_is_refused_and_with_one_is_audited_old_and_new(make_ae, ctx):
    ae = make_ae("Fatigue", description="tired")
    with pytest.raises(ValidationError, match="reason"):
        services.ae_update(ctx=ctx, ae=ae, values={"description": "very tired"}, reason=" ")
    ae.refresh_from_db()
    assert ae.description == "tired"
    services.ae_update(
        ctx=ctx,
        ae=ae,
        values={"description": "very tired", "rel_anti_pd1": "probable"},
        reason="Source document review",
    )
    entry = AuditEntry.objects.filter(model="adverseevent", object_id=str(ae.pk), action="update").get()
    assert entry.changes == {
        "description": ["tired", "very tired"],
        "rel_anti_pd1": ["possible", "probable"],
        "version": [1, 2],
    }
    assert entry.reason == "Source document review" and entry.user == ctx.user


def test_the_edit_form_requires_a_reason(client, coordinator, make_ae):
    ae = make_ae("Fatigue")
    client.force_login(coordinator)
    data = form_data({**services.current_values(ae), "description": "changed"})
    page = client.get(f"/safety/aes/{ae.pk}/edit/").content.decode()
    assert 'name="grade" value="1"' in page and 'name="grade" value="2"' not in page  # grade is locked here
    response = client.post(f"/safety/aes/{ae.pk}/edit/", data)
    assert response.status_code == 400 and "reason" in response.context["form"].errors
    response = client.post(f"/safety/aes/{ae.pk}/edit/", {**data, "reason": "Typo"})
    assert response.status_code == 302
    ae.refresh_from_db()
    assert ae.description == "changed"


def test_an_edit_cannot_change_the_grade_a_grade_change_is_a_new_linked_record(make_ae, ctx):
    ae = make_ae("Diarrhea", grade=1, onset_date=days_ago(10), end_date="", ongoing=True)
    with pytest.raises(ValidationError, match="change of grade is recorded as a new AE record"):
        services.ae_update(ctx=ctx, ae=ae, values={"grade": 3}, reason="worse")
    new = services.ae_change_grade(
        ctx=ctx,
        ae=ae,
        values={"grade": 3, "onset_date": days_ago(4), "serious": True, "sae_hospitalisation": True},
        reason="Worsened, admitted",
    )
    ae.refresh_from_db()
    assert (ae.grade, ae.end_date, ae.ongoing, ae.outcome) == (1, days_ago(4), False, "not_recovered")
    assert (new.grade, new.onset_date, new.ongoing, new.previous_id) == (3, days_ago(4), True, ae.pk)
    assert new.term_id == ae.term_id and new.ctcae_version == "5.0"
    back = services.ae_change_grade(
        ctx=ctx,
        ae=new,
        values={"grade": 2, "onset_date": days_ago(1), "serious": False, "sae_hospitalisation": False},
        reason="Improving",
    )
    new.refresh_from_db()
    assert new.outcome == "recovering"
    assert [r.pk for r in services.ae_course(back)] == [ae.pk, new.pk, back.pk]
    assert max(r.grade for r in services.ae_course(ae)) == 3
    with pytest.raises(ValidationError, match="latest"):
        services.ae_change_grade(ctx=ctx, ae=ae, values={"grade": 2, "onset_date": days_ago(2)}, reason="x")


def test_a_grade_change_date_before_the_onset_is_refused(make_ae, ctx):
    ae = make_ae("Diarrhea", grade=1, onset_date=days_ago(5), end_date="", ongoing=True)
    with pytest.raises(ValidationError, match="End not before onset"):
        services.ae_change_grade(ctx=ctx, ae=ae, values={"grade": 2, "onset_date": days_ago(7)}, reason="x")
    assert AdverseEvent.objects.count() == 1


def test_the_change_grade_page_creates_the_linked_record(client, coordinator, make_ae):
    ae = make_ae("Diarrhea", grade=1, onset_date=days_ago(10), end_date="", ongoing=True)
    client.force_login(coordinator)
    data = form_data(
        {
            **services.current_values(ae),
            "grade": 2,
            "onset_date": days_ago(3),
            "end_date": "",
            "ongoing": True,
        }
    )
    response = client.post(f"/safety/aes/{ae.pk}/change-grade/", {**data, "reason": "Worse"})
    assert response.status_code == 302, response.context["form"].errors
    assert AdverseEvent.objects.get(previous=ae).grade == 2


def test_aes_are_voided_never_deleted_and_leave_the_analysis(client, coordinator, make_ae, dosed_participant):
    ae = make_ae("Fatigue")
    client.force_login(coordinator)
    response = client.post(f"/records/safety/adverseevent/{ae.pk}/void/", {"reason": "Wrong participant"})
    assert response.status_code == 302
    ae.refresh_from_db()
    assert ae.voided and ae.void_reason == "Wrong participant"
    assert AdverseEvent.objects.filter(pk=ae.pk).exists()
    assert AuditEntry.objects.filter(model="adverseevent", object_id=str(ae.pk), action="void").exists()
    from safety.selectors import ae_list

    assert list(ae_list(user=coordinator)) == []
    assert list(ae_list(user=coordinator, filters={"include_voided": "1"})) == [ae]
    with pytest.raises(ValidationError, match="voided"):
        services.ae_update(ctx=factories.ctx_for(coordinator), ae=ae, values={"description": "x"}, reason="x")
    trial_services.record_restore(ctx=factories.ctx_for(coordinator), instance=ae, reason="Right after all")
    ae.refresh_from_db()
    assert not ae.voided


def test_other_roles_cannot_record_aes(dosed_participant, terms, radiologist, sponsor, other_coordinator):
    from django.core.exceptions import PermissionDenied

    from tests.safety.conftest import base_values

    for user in (radiologist, sponsor, other_coordinator):
        with pytest.raises(PermissionDenied):
            services.ae_create(
                ctx=factories.ctx_for(user),
                participant=dosed_participant,
                values=base_values(terms["Fatigue"]),
            )
    assert AdverseEvent.objects.count() == 0


def test_the_investigator_may_record_aes_too(dosed_participant, terms, investigator):
    from tests.safety.conftest import base_values

    ae = services.ae_create(
        ctx=factories.ctx_for(investigator),
        participant=dosed_participant,
        values=base_values(terms["Fatigue"]),
    )
    assert ae.anti_pd1_drug == dosed_participant.planned_anti_pd1
