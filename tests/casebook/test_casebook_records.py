"""Casebook records: audited, versioned, voided not deleted, scoped to sites, and their clinical rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from casebook import selectors, services
from casebook.models import BodyMeasurement, Disposition, LabResult, Medication, PkSample, VitalSigns
from tests import factories
from tests.casebook.builders import TODAY, lab, med
from trial.audit import history_for
from trial.versioning import VersionConflict

pytestmark = pytest.mark.django_db


def _a_medication_is_audited_versioned_edited_with_a_reason_voided_and_restored(coordinator, participant):
    ctx = factories.ctx_for(coordinator)
    m = services.record_create(ctx=ctx, model=Medication, participant=participant, data=med())
    assert (m.version, m.atc_code) == (1, "H02AB06")
    services.record_update(
        ctx=ctx, instance=m, data=med(dose=Decimal("10")), reason="Dose raised", expected_version=1
    )
    m.refresh_from_db()
    assert (m.dose, m.version) == (Decimal("10.000"), 2)
    with pytest.raises(VersionConflict):
        services.record_update(
            ctx=ctx, instance=m, data=med(dose=Decimal("20")), reason="again", expected_version=1
        )
    services.record_void(ctx=ctx, instance=m, reason="Entered for the wrong participant")
    services.record_restore(ctx=ctx, instance=m, reason="It was the right one")
    assert [e.action for e in history_for(m)] == ["create", "update", "void", "restore"]
    assert [Decimal(v) for v in history_for(m)[1].changes["dose"]] == [5, 10]
    assert Medication.objects.filter(pk=m.pk).exists()


def _medication_rules_use_labels_not_field_names(coordinator, participant):
    ctx = factories.ctx_for(coordinator)
    before = Medication.objects.count()
    with pytest.raises(ValidationError) as err:
        services.record_create(ctx=ctx, model=Medication, participant=participant, data=med(ongoing=False))
    assert err.value.message_dict == {"end_date": ["Give the end date, or tick ongoing."]}
    with pytest.raises(ValidationError) as err:
        services.record_create(ctx=ctx, model=Medication, participant=participant, data=med(category="prior"))
    assert "stopped" in err.value.message_dict["ongoing"][0]
    with pytest.raises(ValidationError, match="before the start date"):
        services.record_create(
            ctx=ctx,
            model=Medication,
            participant=participant,
            data=med(ongoing=False, end_date=TODAY - dt.timedelta(days=50)),
        )
    assert Medication.objects.count() == before


def _a_lab_result_is_graded_on_save_and_flagged_until_a_matching_ae_exists(coordinator, participant):
    ctx = factories.ctx_for(coordinator)
    r = services.record_create(ctx=ctx, model=LabResult, participant=participant, data=lab())
    # CTCAE v5.0 Neutrophil count decreased grade 3: "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L".
    assert (r.ctcae_grade, r.direction, r.ctcae_term) == (3, "low", "Neutrophil count decreased")
    low = services.record_create(
        ctx=ctx, model=LabResult, participant=participant, data=lab(value=Decimal("1.6"))
    )
    assert low.ctcae_grade == 1
    assert r in selectors.labs_grade2_without_ae(participant)
    from safety.models import AdverseEvent, CtcaeTerm

    AdverseEvent.objects.create(
        participant=participant,
        term=CtcaeTerm.objects.get(term="Neutrophil count decreased", version="5.0"),
        ctcae_version="5.0",
        grade=3,
        onset_date=(TODAY - dt.timedelta(days=5)).isoformat()[:7],
        onset_precision="month",
        ongoing=True,
        outcome="not_recovered",
    )
    assert selectors.labs_grade2_without_ae(participant) == []


def _a_flag_stays_when_the_ae_is_of_another_term_or_ended_before(coordinator, participant):
    ctx = factories.ctx_for(coordinator)
    r = services.record_create(ctx=ctx, model=LabResult, participant=participant, data=lab())
    from safety.models import AdverseEvent, CtcaeTerm

    AdverseEvent.objects.create(
        participant=participant,
        term=CtcaeTerm.objects.get(term="Anemia", version="5.0"),
        ctcae_version="5.0",
        grade=2,
        onset_date=(TODAY - dt.timedelta(days=5)).isoformat(),
        onset_precision="day",
        ongoing=True,
        outcome="not_recovered",
    )
    AdverseEvent.objects.create(
        participant=participant,
        term=CtcaeTerm.objects.get(term="Neutrophil count decreased", version="5.0"),
        ctcae_version="5.0",
        grade=2,
        onset_date=(TODAY - dt.timedelta(days=20)).isoformat(),
        onset_precision="day",
        end_date=(TODAY - dt.timedelta(days=10)).isoformat(),
        end_precision="day",
        outcome="recovered",
    )
    assert selectors.labs_grade2_without_ae(participant) == [r]


def _an_abnormal_baseline_lab_changes_the_grade_of_later_results(coordinator, participant):
    ctx = factories.ctx_for(coordinator)
    alt = {"panel": "chemistry", "test_code": "ALT", "unit": "U/L", "lln": Decimal("0"), "uln": Decimal("40")}
    services.record_create(
        ctx=ctx,
        model=LabResult,
        participant=participant,
        data=lab(**alt, value=Decimal("100"), is_baseline=True, collected_on=TODAY - dt.timedelta(days=20)),
    )
    later = services.record_create(
        ctx=ctx, model=LabResult, participant=participant, data=lab(**alt, value=Decimal("130"))
    )
    # Baseline 100 > ULN 40 is abnormal: 130 is 1.3 x baseline, below "1.5 - 3.0 x baseline" -> no grade.
    assert (later.baseline_value, later.ctcae_grade) == (Decimal("100.0000"), 0)


def _a_unit_that_does_not_fit_the_test_is_a_field_error(coordinator, participant):
    with pytest.raises(ValidationError) as err:
        services.record_create(
            ctx=factories.ctx_for(coordinator),
            model=LabResult,
            participant=participant,
            data=lab(unit="mg/dL"),
        )
    assert "cannot be used for NEUT" in err.value.message_dict["unit"][0]


def _a_pk_sample_gives_bq_per_ml_decay_corrected_to_the_injection(coordinator, participant):
    dose = factories.record_tracer_dose(coordinator, participant)
    t0 = dose.administered_at
    s = services.record_create(
        ctx=factories.ctx_for(coordinator),
        model=PkSample,
        participant=participant,
        data={
            "tracer_dose": dose,
            "nominal_timepoint": "30 min",
            "sampled_at": t0 + dt.timedelta(minutes=30),
            "counted_at": t0 + dt.timedelta(hours=78.41),
            "sample_volume_ml": Decimal("0.5"),
            "gross_counts": 60500,
            "background_counts": 500,
            "count_time_s": Decimal("60"),
            "counter_efficiency": Decimal("0.5"),
            "calibration_factor": Decimal("1"),
        },
    )
    # 60,000 net counts / 60 s / 0.5 efficiency / 0.5 mL = 4000 Bq/mL, counted one 89Zr half-life (78.41 h) later.
    assert s.activity_bq_per_ml == Decimal("8000.000")
    assert s.minutes_after_injection == Decimal("30.00")


def _vital_signs_around_an_infusion_must_sit_on_the_right_side_of_it(coordinator, participant):
    dose = participant.tracer_doses.get()
    data = {
        "visit": None,
        "tracer_dose": dose,
        "timepoint": "pre_infusion",
        "measured_at": dose.administered_at + dt.timedelta(minutes=5),
        "systolic_mmhg": 120,
        "diastolic_mmhg": 80,
        "pulse_bpm": 70,
        "temperature_c": Decimal("36.8"),
        "respiratory_rate": 14,
        "spo2_pct": 98,
    }
    with pytest.raises(ValidationError) as err:
        services.record_create(
            ctx=factories.ctx_for(coordinator), model=VitalSigns, participant=participant, data=data
        )
    assert "marked as before it" in err.value.message_dict["measured_at"][0]
    data["timepoint"] = "post_infusion"
    assert services.record_create(
        ctx=factories.ctx_for(coordinator), model=VitalSigns, participant=participant, data=data
    ).pk


def _one_end_of_study_per_participant_and_death_needs_its_date(coordinator, participant):
    ctx = factories.ctx_for(coordinator)
    base = {
        "status": "death",
        "end_date": TODAY,
        "last_contact_date": None,
        "details": "",
        "death_date": None,
        "death_cause": "",
    }
    with pytest.raises(ValidationError, match="date of death"):
        services.record_create(ctx=ctx, model=Disposition, participant=participant, data=base)
    d = services.record_create(
        ctx=ctx, model=Disposition, participant=participant, data=base | {"death_date": TODAY}
    )
    with pytest.raises(ValidationError, match="already recorded"):
        services.record_create(
            ctx=ctx, model=Disposition, participant=participant, data=base | {"death_date": TODAY}
        )
    services.record_void(ctx=ctx, instance=d, reason="wrong form")
    assert services.record_create(
        ctx=ctx, model=Disposition, participant=participant, data=base | {"status": "completed"}
    ).pk


def _the_nearest_weight_is_the_closest_measurement_in_time(coordinator, participant):
    ctx = factories.ctx_for(coordinator)
    assert selectors.nearest_weight(participant, TODAY) is None
    for days, kg in ((30, "70.0"), (10, "66.0"), (2, "64.5")):
        services.record_create(
            ctx=ctx,
            model=BodyMeasurement,
            participant=participant,
            data={
                "visit": None,
                "measured_on": TODAY - dt.timedelta(days=days),
                "weight_kg": Decimal(kg),
                "height_cm": None,
            },
        )
    near = selectors.nearest_weight(participant, TODAY - dt.timedelta(days=12))
    assert (near.weight_kg, near.days_away) == (Decimal("66.0"), 2)
    at = dt.datetime.combine(TODAY - dt.timedelta(days=25), dt.time(10), tzinfo=dt.UTC)
    assert selectors.nearest_weight(participant, at).weight_kg == Decimal("70.0")
    # The PET weight cross-check uses the nearest weight: a participant who lost weight since baseline
    # (72.5 kg) gets no finding when the DICOM weight matches the weight recorded 2 days before the scan.
    from imaging.services.blocks import block_limits, recorded_weight
    from quant.pet.crosscheck import check_weight

    kg, label = recorded_weight(participant, dt.datetime.combine(TODAY, dt.time(9)))
    assert (kg, label) == (
        64.5,
        f"nearest recorded weight, {TODAY - dt.timedelta(days=2):%Y-%m-%d} (2 d from the scan)",
    )
    # DICOM 63.0 kg: 2.3 % from the nearest weight (no finding) but 13 % from the baseline (a mismatch warning).
    assert [f.code for f in check_weight(63.0, kg, label, block_limits())] == []
    assert [f.code for f in check_weight(63.0, float(participant.weight_kg), "", block_limits())] == [
        "WEIGHT_MISMATCH"
    ]


def _screen_failures_are_kept_without_identifiers_and_counted_per_site(coordinator, participant, site_nl):
    ctx = factories.ctx_for(coordinator)
    services.screen_failure_record(
        ctx=ctx, site=site_nl, screened_on=TODAY, age_band="60-69", failed_criteria=["E3", "I4"]
    )
    services.screen_failure_record(
        ctx=ctx, site=site_nl, screened_on=TODAY, age_band="40-49", failed_criteria=["E3"]
    )
    with pytest.raises(ValidationError):  # neither a failed criterion nor another reason
        services.screen_failure_record(
            ctx=ctx, site=site_nl, screened_on=TODAY, age_band="40-49", failed_criteria=[]
        )
    # A candidate who met every criterion but declined is kept too, with the reason.
    services.screen_failure_record(
        ctx=ctx,
        site=site_nl,
        screened_on=TODAY,
        age_band="50-59",
        failed_criteria=[],
        other_reason="declined consent",
    )
    flow = selectors.screening_flow(user=coordinator)
    assert [(r["site"].code, r["screened"], r["failed"], r["enrolled"], r["by_criterion"]) for r in flow] == [
        ("NL01", 4, 3, 1, [("E3", 2), ("I4", 1)])
    ]


# Each test below walks several rules on one enrolled participant (enrolment costs ~400 queries).


def test_medications_are_audited_versioned_voided_restored_checked_and_site_scoped(
    coordinator, participant, other_coordinator
):
    _a_medication_is_audited_versioned_edited_with_a_reason_voided_and_restored(coordinator, participant)
    _medication_rules_use_labels_not_field_names(coordinator, participant)
    # With the drug dictionary loaded, a WHODrug code must be known and fills an empty ATC code.
    from casebook import whodrug

    whodrug.load()
    ctx = factories.ctx_for(coordinator)
    coded = services.record_create(
        ctx=ctx, model=Medication, participant=participant, data=med(whodrug_code="DEMO0000002", atc_code="")
    )
    assert coded.atc_code == "H02AB02"
    with pytest.raises(ValidationError, match="not in the loaded drug dictionary"):
        services.record_create(
            ctx=ctx, model=Medication, participant=participant, data=med(whodrug_code="XX1")
        )
    assert not selectors.scoped_records(Medication, user=other_coordinator).exists()
    with pytest.raises(PermissionDenied):
        services.record_create(
            ctx=factories.ctx_for(other_coordinator), model=Medication, participant=participant, data=med()
        )


def test_lab_results_are_graded_on_save_flagged_without_a_matching_ae_and_use_the_baseline(
    coordinator, participant
):
    _a_unit_that_does_not_fit_the_test_is_a_field_error(coordinator, participant)
    _an_abnormal_baseline_lab_changes_the_grade_of_later_results(coordinator, participant)
    _a_flag_stays_when_the_ae_is_of_another_term_or_ended_before(coordinator, participant)
    _a_lab_result_is_graded_on_save_and_flagged_until_a_matching_ae_exists(coordinator, participant)


def test_pk_samples_and_vital_signs_around_the_tracer_infusion(coordinator, participant):
    _a_pk_sample_gives_bq_per_ml_decay_corrected_to_the_injection(coordinator, participant)
    _vital_signs_around_an_infusion_must_sit_on_the_right_side_of_it(coordinator, participant)


def test_end_of_study_weights_and_the_screening_log(coordinator, participant, site_nl):
    _one_end_of_study_per_participant_and_death_needs_its_date(coordinator, participant)
    _the_nearest_weight_is_the_closest_measurement_in_time(coordinator, participant)
    _screen_failures_are_kept_without_identifiers_and_counted_per_site(coordinator, participant, site_nl)
