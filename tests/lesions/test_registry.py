"""Lesion registry services: baseline rules, stored and recomputed responses, audit, permissions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from lesions import selectors, services
from lesions.models import Assessment, ParticipantResponse
from tests.factories import ctx_for
from tests.lesions.helpers import assess, day, entries, lesion
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_at_most_five_targets_and_two_per_organ_with_clear_messages(radiologist, participant):
    lesion(radiologist, participant, "T1", "liver")
    lesion(radiologist, participant, "T2", "Liver ")
    with pytest.raises(ValidationError) as exc:
        lesion(radiologist, participant, "T3", "liver")
    assert "organ 'liver' has 3 target lesions" in str(exc.value)
    assert "at most 2 per organ" in str(exc.value)
    for label, organ in (("T3", "lung"), ("T4", "adrenal"), ("T5", "bone")):
        lesion(radiologist, participant, label, organ)
    with pytest.raises(ValidationError) as exc:
        lesion(radiologist, participant, "T6", "spleen")
    assert "6 target lesions selected" in str(exc.value) and "at most 5" in str(exc.value)
    # as a non-target it is fine
    lesion(radiologist, participant, "NT1", "spleen", role="non_target")
    assert participant.lesions.count() == 6


@pytest.mark.parametrize(
    ("nodal", "role", "mm", "message"),
    [
        (False, "target", 9.9, "is not measurable (>= 10 mm needed)"),
        (True, "target", 14.9, "pathological but not measurable (target nodes need >= 15 mm)"),
        (True, "non_target", 9.5, "a normal node, not a lesion"),
    ],
)
def test_baseline_measurability_is_enforced(radiologist, participant, nodal, role, mm, message):
    les = lesion(radiologist, participant, "L1", "lymph node" if nodal else "lung", role=role, nodal=nodal)
    a = services.assessment_create(ctx=ctx_for(radiologist), participant=participant, date=day(0))
    value = {"non_target_state": "present", "value_mm": mm} if role == "non_target" else {"value_mm": mm}
    with pytest.raises(ValidationError) as exc:
        services.measurements_record(ctx=ctx_for(radiologist), assessment=a, entries={les.pk: value})
    assert message in str(exc.value)
    assert not a.measurements.exists()


def test_boundaries_are_accepted(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "lung")
    n1 = lesion(radiologist, participant, "N1", "lymph node", nodal=True)
    a = assess(radiologist, participant, day(0), {t1: 10.0, n1: 15.0})
    assert a.sum_mm == pytest.approx(25.0)
    assert a.reasons["recist"]["code"] == "baseline"


def _pr_then_pd(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    t2 = lesion(radiologist, participant, "T2", "lung")
    nt = lesion(radiologist, participant, "NT1", "bone", role="non_target")
    assess(radiologist, participant, day(0), {t1: 50, t2: 50, nt: "present"})
    fu1 = assess(radiologist, participant, day(56), {t1: 30, t2: 30, nt: "present"})
    fu2 = assess(radiologist, participant, day(112), {t1: 40, t2: 40, nt: "present"})
    return t1, t2, nt, fu1, fu2


def test_responses_are_stored_with_rule_codes(radiologist, participant):
    _, _, _, fu1, fu2 = _pr_then_pd(radiologist, participant)
    assert (fu1.sum_mm, fu1.recist_response, fu1.irecist_response) == (60.0, "PR", "iPR")
    assert fu1.reasons["target"]["code"] == "target_pr"
    assert (fu2.sum_mm, fu2.nadir_mm) == (80.0, 60.0)
    assert (fu2.recist_response, fu2.irecist_response) == ("PD", "iUPD")
    assert fu2.reasons["target"]["code"] == "target_pd"
    assert fu2.reasons["recist"]["code"] == "t4_target_pd"
    best = ParticipantResponse.objects.get(participant=participant)
    # PR at day 56 is not confirmed before PD, but it lasted past the 42-day SD minimum: BOR SD
    assert (best.best_recist, best.reasons["recist"]["code"]) == ("SD", "bor_sd_minimum_met")
    assert best.progression_date_recist == day(112)


def test_changing_a_measurement_needs_a_reason_recomputes_and_is_audited(radiologist, participant):
    t1, t2, _, _, fu2 = _pr_then_pd(radiologist, participant)
    with pytest.raises(ValidationError) as exc:
        services.measurements_record(ctx=ctx_for(radiologist), assessment=fu2, entries=entries({t1: 35}))
    assert "reason" in exc.value.message_dict
    services.measurements_record(
        ctx=ctx_for(radiologist),
        assessment=fu2,
        entries=entries({t1: 35, t2: 35}),
        reason="remeasured on thinner slices",
    )
    fu2.refresh_from_db()
    assert (fu2.sum_mm, fu2.recist_response, fu2.irecist_response) == (70.0, "PR", "iPR")
    m_entries = AuditEntry.objects.filter(
        model="measurement", action="update", reason="remeasured on thinner slices"
    )
    assert m_entries.count() == 2
    a_entry = AuditEntry.objects.filter(model="assessment", object_id=str(fu2.pk), action="update").last()
    assert a_entry.changes["recist_response"] == ["PD", "PR"]
    assert "measurements at" in a_entry.reason and "recomputed" in a_entry.reason


def test_too_small_counts_5_mm_and_disappeared_0(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    t2 = lesion(radiologist, participant, "T2", "lung")
    assess(radiologist, participant, day(0), {t1: 20, t2: 20})
    fu = assess(radiologist, participant, day(56), {t1: "too_small", t2: "disappeared"})
    assert fu.sum_mm == 5.0
    assert fu.recist_response == "PR"  # a non-nodal target is still there (too small), so not CR
    fu = assess(radiologist, participant, day(112), {t1: "disappeared", t2: "disappeared"}, reason="gone")
    assert (fu.sum_mm, fu.recist_response) == (0.0, "CR")


def test_not_assessed_target_gives_ne(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    t2 = lesion(radiologist, participant, "T2", "lung")
    assess(radiologist, participant, day(0), {t1: 30, t2: 30})
    fu = assess(radiologist, participant, day(56), {t1: 29})
    assert (fu.sum_mm, fu.target_response, fu.recist_response) == (None, "NE", "NE")
    assert fu.reasons["target"]["code"] == "target_ne"


def test_new_lesion_iupd_confirmed_then_icpd(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    assess(radiologist, participant, day(0), {t1: 40})
    assess(radiologist, participant, day(56), {t1: 38})
    new = lesion(radiologist, participant, "New1", "lung", role="new")
    fu2 = assess(radiologist, participant, day(112), {t1: 38, new: 12})
    assert (fu2.recist_response, fu2.irecist_response) == ("PD", "iUPD")
    assert fu2.reasons["new_lesions"]["code"] == "new_lesions"
    new2 = lesion(radiologist, participant, "New2", "bone", role="new")
    fu3 = assess(radiologist, participant, day(168), {t1: 38, new: 12, new2: 15})
    assert fu3.irecist_response == "iCPD"
    best = ParticipantResponse.objects.get(participant=participant)
    assert best.best_irecist == "iCPD" or best.progression_date_irecist == day(112)
    assert best.progression_date_irecist == day(112)


def test_iupd_that_resets(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    t2 = lesion(radiologist, participant, "T2", "lung")
    assess(radiologist, participant, day(0), {t1: 30, t2: 30})
    fu1 = assess(radiologist, participant, day(56), {t1: 40, t2: 35})
    assert fu1.irecist_response == "iUPD"
    fu2 = assess(radiologist, participant, day(112), {t1: 28, t2: 28})
    assert fu2.irecist_response in ("iSD", "iPR")
    assert fu2.reasons["irecist"]["code"].startswith("reset_")
    fu3 = assess(radiologist, participant, day(168), {t1: 40, t2: 36})
    assert fu3.irecist_response == "iUPD"  # a fresh iUPD that needs its own confirmation


def test_new_lesion_cannot_be_measured_at_baseline(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    new = lesion(radiologist, participant, "New1", "lung", role="new")
    with pytest.raises(ValidationError) as exc:
        assess(radiologist, participant, day(0), {t1: 20, new: 15})
    assert "cannot be measured at baseline" in str(exc.value)


def test_only_radiologists_write(coordinator, participant):
    with pytest.raises(PermissionDenied):
        lesion(coordinator, participant, "T1", "liver")


def test_preview_computes_without_saving(radiologist, participant):
    t1, t2, _, fu1, _ = _pr_then_pd(radiologist, participant)
    live = selectors.preview(fu1, entries({t1: 80, t2: 80}))
    assert (live["result"]["recist_response"], live["result"]["sum_mm"]) == ("PD", 160.0)
    assert Assessment.objects.get(pk=fu1.pk).recist_response == "PR"


def test_voiding_a_measurement_recomputes(radiologist, data_manager, participant):
    from trial.services import record_void

    t1, t2, _, _, fu2 = _pr_then_pd(radiologist, participant)
    m = fu2.measurements.get(lesion=t1)
    record_void(ctx=ctx_for(data_manager), instance=m, reason="entered on the wrong scan")
    fu2.refresh_from_db()
    # T1 now not assessed; T2 alone (40 mm) does not reach PD against the 60 mm nadir -> NE
    assert (fu2.target_response, fu2.recist_response) == ("NE", "NE")
    assert fu2.reasons["target"]["code"] == "target_ne"


def test_invalid_engine_input_is_stored_as_a_readable_error(radiologist, participant):
    t1 = lesion(radiologist, participant, "T1", "liver")
    a = services.assessment_create(ctx=ctx_for(radiologist), participant=participant, date=day(0))
    a.refresh_from_db()
    assert "target T1 has no baseline measurement" in a.engine_error
    assess(radiologist, participant, day(0), {t1: 25})
    a.refresh_from_db()
    assert a.engine_error == "" and a.sum_mm == 25.0


def test_role_change_is_audited_and_recomputes(radiologist, participant, client_for):
    t1, t2, _, _, fu2 = _pr_then_pd(radiologist, participant)
    c = client_for(radiologist)
    r = c.post(f"/lesions/lesion/{t2.pk}/edit/", {"label": "T2", "organ": "lung", "role": "non_target"})
    assert r.status_code == 400  # a reason is required
    r = c.post(
        f"/lesions/lesion/{t2.pk}/edit/",
        {"label": "T2", "organ": "lung", "role": "non_target", "reason": "central review: not measurable"},
    )
    assert r.status_code == 302
    fu2.refresh_from_db()
    # T1 alone: baseline 50, nadir 30, now 40 -> +33 % and +10 mm: still PD; T2 now a present non-target
    assert (fu2.sum_mm, fu2.nadir_mm, fu2.recist_response, fu2.non_target_response) == (
        40.0,
        30.0,
        "PD",
        "NON_CR_NON_PD",
    )
    entry = AuditEntry.objects.filter(model="lesion", object_id=str(t2.pk), action="update").get()
    assert (
        entry.changes == {"role": ["target", "non_target"], "version": [1, 2]}
        and entry.reason == "central review: not measurable"
    )
