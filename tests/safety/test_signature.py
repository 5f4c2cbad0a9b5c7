"""Investigator e-signature: password re-entered, meaning, printed name, UTC time, bound to a SHA-256 of the
signed AEs; any later change voids it visibly and the void is audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from safety import services
from safety.models import AdverseEvent, AeSignature
from tests import factories
from tests.factories import PASSWORD
from tests.safety.conftest import base_values
from trial import services as trial_services
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db
MEANING = "complete_accurate"


@pytest.fixture
def signed(make_ae, investigator, dosed_participant):
    aes = [make_ae("Fatigue"), make_ae("Nausea")]
    sig = services.aes_sign(
        ctx=factories.ctx_for(investigator), participant=dosed_participant, password=PASSWORD, meaning=MEANING
    )
    return sig, aes


def test_a_wrong_password_signs_nothing(make_ae, investigator, dosed_participant):
    make_ae("Fatigue")
    with pytest.raises(ValidationError, match="password is not correct"):
        services.aes_sign(
            ctx=factories.ctx_for(investigator),
            participant=dosed_participant,
            password="wrong-password",
            meaning=MEANING,
        )
    assert AeSignature.objects.count() == 0


def test_wrong_signing_passwords_count_towards_the_login_lockout(
    make_ae, investigator, dosed_participant, client
):
    from trial.models import LoginFailure

    make_ae("Fatigue")
    for _ in range(5):
        with pytest.raises(ValidationError):
            services.aes_sign(
                ctx=factories.ctx_for(investigator),
                participant=dosed_participant,
                password="guess",
                meaning=MEANING,
            )
    assert LoginFailure.objects.filter(username=investigator.username).count() == 5
    response = client.post("/accounts/login/", {"username": investigator.username, "password": PASSWORD})
    assert "locked" in response.content.decode()


def test_only_the_investigator_signs(make_ae, coordinator, dosed_participant, client):
    make_ae("Fatigue")
    with pytest.raises(PermissionDenied):
        services.aes_sign(
            ctx=factories.ctx_for(coordinator),
            participant=dosed_participant,
            password=PASSWORD,
            meaning=MEANING,
        )
    client.force_login(coordinator)
    assert (
        client.post(
            f"/safety/participants/{dosed_participant.pk}/sign/", {"password": PASSWORD, "meaning": MEANING}
        ).status_code
        == 403
    )


def test_the_signature_stores_name_meaning_utc_time_and_the_hash_of_the_signed_content(signed, investigator):
    sig, aes = signed
    assert sig.signer == investigator and sig.printed_name == "Ivan Tester"
    assert sig.get_meaning_display() == "I confirm these AEs are complete and accurate"
    assert sig.signed_at.utcoffset().total_seconds() == 0
    assert sig.adverse_event_ids == [a.pk for a in aes]
    assert sig.content_hash == services.signed_content(sig.participant)[1] and len(sig.content_hash) == 64
    assert services.signature_is_intact(sig)
    entry = AuditEntry.objects.get(model="aesignature", action="sign")
    assert entry.changes["content_hash"] == [None, sig.content_hash]


def test_the_sign_page_with_the_password_signs_and_shows_the_signature(
    make_ae, investigator, dosed_participant, client
):
    make_ae("Fatigue")
    client.force_login(investigator)
    url = f"/safety/participants/{dosed_participant.pk}/sign/"
    assert client.post(url, {"password": "nope", "meaning": MEANING}).status_code == 400
    assert client.post(url, {"password": PASSWORD, "meaning": MEANING}).status_code == 302
    page = client.get(f"/safety/participants/{dosed_participant.pk}/aes/").content.decode()
    sig = AeSignature.objects.get()
    assert (
        "Signed</strong> by Ivan Tester" in page
        and sig.signed_at.strftime("%Y-%m-%d %H:%M") + " UTC" in page  # one date format: to the minute
    )
    assert "I confirm these AEs are complete and accurate" in page


@pytest.mark.parametrize("change", ["edit", "void", "grade_change", "new_ae", "api_edit"])
def test_any_later_change_voids_the_signature_visibly_and_audited(
    signed, change, ctx, client, coordinator, terms
):
    sig, aes = signed
    ae = aes[0]
    if change == "edit":
        services.ae_update(ctx=ctx, ae=ae, values={"description": "more detail"}, reason="Added detail")
    elif change == "void":
        trial_services.record_void(ctx=ctx, instance=ae, reason="Duplicate")
    elif change == "grade_change":
        from tests.safety.conftest import days_ago

        services.ae_change_grade(
            ctx=ctx, ae=ae, values={"grade": 2, "onset_date": days_ago(7)}, reason="Worse"
        )
    elif change == "new_ae":
        services.ae_create(ctx=ctx, participant=ae.participant, values=base_values(terms["Headache"]))
    else:
        client.force_login(coordinator)
        r = client.patch(
            f"/api/v1/adverse-events/{ae.pk}/",
            {"description": "x", "reason": "API fix"},
            content_type="application/json",
        )
        assert r.status_code == 200, r.json()
    sig.refresh_from_db()
    assert sig.voided and sig.voided_at is not None and sig.void_reason
    assert AuditEntry.objects.filter(model="aesignature", object_id=str(sig.pk), action="unsign").exists()
    assert services.active_signature(ae.participant) is None
    client.force_login(coordinator)
    page = client.get(f"/safety/participants/{ae.participant_id}/aes/").content.decode()
    assert "Not signed" in page and "voided" in page


def test_a_change_that_bypasses_the_services_no_longer_matches_the_hash(signed, client, investigator):
    sig, aes = signed
    AdverseEvent.objects.filter(pk=aes[0].pk).update(grade=2)
    assert not services.signature_is_intact(sig)
    client.force_login(investigator)
    page = client.get(f"/safety/participants/{sig.participant_id}/aes/").content.decode()
    assert "signature not valid" in page


def test_signing_the_same_version_twice_is_refused_and_re_signing_after_a_change_works(
    signed, investigator, ctx
):
    sig, aes = signed
    with pytest.raises(ValidationError, match="already signed"):
        services.aes_sign(
            ctx=factories.ctx_for(investigator),
            participant=sig.participant,
            password=PASSWORD,
            meaning=MEANING,
        )
    services.ae_update(ctx=ctx, ae=aes[1], values={"description": "x"}, reason="r")
    again = services.aes_sign(
        ctx=factories.ctx_for(investigator),
        participant=sig.participant,
        password=PASSWORD,
        meaning="reviewed_assessed",
    )
    assert again.content_hash != sig.content_hash and services.active_signature(sig.participant) == again
