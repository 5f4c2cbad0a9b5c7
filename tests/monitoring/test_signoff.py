"""Casebook sign-off: password again, meaning, printed name, UTC time, bound to a SHA-256 over exactly the live
records; a later change voids it visibly and audited. The investigator's queue puts SAEs first. The AE sign
page counts the AEs it signs (live ones) in both places."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.exceptions import ValidationError

from monitoring import selectors, services
from monitoring.models import CasebookSignature
from monitoring.services.signoff import casebook_records
from safety import services as safety_services
from tests import factories
from tests.factories import PASSWORD
from trial import services as trial_services
from trial.models import AuditEntry, LoginFailure

pytestmark = pytest.mark.django_db


def _expected_hash(rows: list[tuple[str, int, int]]) -> str:
    """The stated canonical form, computed independently: sorted by "resource/id", sorted keys, no spaces."""
    items = sorted(
        ({"id": f"{r}/{i:012d}", "record": i, "resource": r, "version": v} for r, i, v in rows),
        key=lambda d: d["id"],
    )
    text = json.dumps(items, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_signature_covers_exactly_the_live_records_and_a_later_change_voids_it(
    make_ae, ctx, investigator, coordinator
):
    kept = make_ae("Fatigue")
    dropped = make_ae("Nausea")
    trial_services.record_void(ctx=ctx, instance=dropped, reason="entered twice")
    with pytest.raises(ValidationError, match="password is not correct"):
        services.casebook_sign(
            ctx=factories.ctx_for(investigator),
            participant=kept.participant,
            password="nope",
            meaning="complete",
        )
    assert CasebookSignature.objects.count() == 0
    assert LoginFailure.objects.filter(username=investigator.username).count() == 1  # counts towards lockout
    sig = services.casebook_sign(
        ctx=factories.ctx_for(investigator),
        participant=kept.participant,
        password=PASSWORD,
        meaning="complete",
    )
    covered = {(r, i) for r, i, _v in sig.records}
    assert ("adverse-events", kept.pk) in covered and ("adverse-events", dropped.pk) not in covered
    assert ("participants", kept.participant_id) in covered and (
        "tracer-doses",
        kept.participant.tracer_doses.get().pk,
    ) in covered
    assert sig.content_hash == _expected_hash([tuple(r) for r in sig.records])
    assert sig.printed_name == "Ivan Tester" and sig.signed_at.utcoffset().total_seconds() == 0
    assert len(sig.records) == len(casebook_records(kept.participant))
    with pytest.raises(ValidationError, match="already signed"):
        services.casebook_sign(
            ctx=factories.ctx_for(investigator),
            participant=kept.participant,
            password=PASSWORD,
            meaning="complete",
        )
    safety_services.ae_update(ctx=ctx, ae=kept, values={"description": "late detail"}, reason="source")
    sig.refresh_from_db()
    assert sig.voided and "Casebook changed after signing" in sig.void_reason
    entry = AuditEntry.objects.get(app_label="monitoring", model="casebooksignature", action="unsign")
    assert entry.user.username == coordinator.username


def test_the_sign_pages_list_exactly_the_live_records_they_cover(
    make_ae, ctx, client_for, investigator, coordinator
):
    ae = make_ae("Fatigue")
    voided = make_ae("Nausea")
    trial_services.record_void(ctx=ctx, instance=voided, reason="wrong participant")
    # the AE sign page counts only the live AEs it signs, and lists only them
    html = client_for(investigator).get(f"/safety/participants/{ae.participant_id}/sign/").content.decode()
    assert "covers the 1 live AE record(s)" in html
    assert f'id="ae-{voided.pk}"' not in html and f'id="ae-{ae.pk}"' in html
    page = client_for(investigator).get(f"/monitoring/participants/{ae.participant_id}/sign/")
    html = page.content.decode()
    assert page.status_code == 200
    n = len(casebook_records(ae.participant))
    assert f"these {n} live record(s)" in html and html.count("<tr><td>") == n
    assert (
        client_for(coordinator).get(f"/monitoring/participants/{ae.participant_id}/sign/").status_code == 403
    )


def test_the_investigator_queue_puts_saes_first(
    make_ae, coordinator, site_nl, investigator, terms, client_for
):
    from tests.safety.conftest import base_values

    make_ae("Fatigue")
    second = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, second)
    safety_services.ae_create(
        ctx=factories.ctx_for(coordinator),
        participant=second,
        values=base_values(terms["Fatigue"], serious=True, sae_hospitalisation=True, grade=3),
    )
    queue = selectors.investigator_queue(investigator)
    assert [i["participant"].pk for i in queue["aes"]][0] == second.pk
    assert queue["aes"][0]["saes"] == 1 and queue["aes"][1]["saes"] == 0
    assert queue["casebooks"][0]["participant"].pk == second.pk
    page = client_for(investigator).get("/monitoring/signatures/")
    assert page.status_code == 200 and "1 SAE" in page.content.decode()
