"""PET time points per tracer injection (issue 16): the calendar (trial/protocol/*.json `pet_time_points`) gives
any number of PET scans per injection, each with its nominal hours after the injection and its window in hours;
the scans, the imaging worklist and the upload's window cross-check (hours from the recorded injection to the
scan's reference time) follow it. The trial's own schedule (48 h and 144 h, +/- 24 h) stays the default."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from imaging import selectors, services
from imaging.models import Finding, Modality, Scan
from quant.pet import crosscheck
from tests import factories
from tests.imaging.conftest import series_maker, use_tmp_media
from trial.models import ProtocolVersion
from trial.protocol_loader import (
    calendar_rows,
    load_protocol,
    read_pet_series,
    read_protocol,
    with_pet_series,
)
from trial.schedule import expand_pet_time_points

PHASE1_HOURS = [1.5, 7.0, 24.0, 48.0, 120.0]
# The phantom's scan reference time: 2025-03-14 10:15 Europe/Amsterdam (tests/imaging/conftest.py).
SCAN_UTC = dt.datetime(2025, 3, 14, 9, 15, tzinfo=dt.UTC)


def test_the_trials_calendar_still_plans_two_scans_per_injection_at_48_and_144_h():
    pet = [r for r in calendar_rows(read_protocol()) if r["kind"] == "pet"]
    assert [
        (r["code"], r["anchor"], r["hours"], r["window_hours_before"], r["window_hours_after"]) for r in pet
    ] == [
        ("BL_PET1", "BL_TRACER", 48.0, 24.0, 24.0),
        ("BL_PET2", "BL_TRACER", 144.0, 24.0, 24.0),
        ("OT_PET1", "OT_TRACER", 48.0, 24.0, 24.0),
        ("OT_PET2", "OT_TRACER", 144.0, 24.0, 24.0),
    ]
    # the visit rows are those of the calendar before PET time points existed: day 2 and 6, +/- 1 day
    assert [(r["day"], r["window_before"], r["window_after"]) for r in pet] == [(2, 1, 1), (6, 1, 1)] * 2


def test_hour_windows_become_the_date_windows_that_can_hold_them():
    rows = calendar_rows(with_pet_series(read_protocol(), read_pet_series("phase1")))
    pet = {r["code"]: r for r in rows if r["kind"] == "pet"}
    assert len(pet) == 10
    # 1.5 h (1-2 h): same day as the injection, or the next for a late-evening one
    assert (pet["BL_PET_1H"]["day"], pet["BL_PET_1H"]["window_before"], pet["BL_PET_1H"]["window_after"]) == (
        0,
        0,
        1,
    )
    # 120 h +/- 24 h (96-144 h): day 5, days 4 to 6
    assert (pet["OT_PET_120H"]["day"], pet["OT_PET_120H"]["window_before"]) == (5, 1)
    assert pet["OT_PET_120H"]["window_after"] == 1


def test_bad_time_points_are_refused_with_a_message():
    tracer = {"code": "BL_TRACER", "kind": "tracer"}
    with pytest.raises(ValueError, match="must be positive"):
        expand_pet_time_points([tracer | {"pet_time_points": [{"code": "X", "hours": -2}]}])
    with pytest.raises(ValueError, match="zero or positive"):
        expand_pet_time_points(
            [tracer | {"pet_time_points": [{"code": "X", "hours": 2, "window_hours_after": -1}]}]
        )
    with pytest.raises(ValueError, match="repeat in the calendar: X"):
        expand_pet_time_points(
            [tracer | {"pet_time_points": [{"code": "X", "hours": 2}, {"code": "X", "hours": 3}]}]
        )
    with pytest.raises(ValueError, match="No tracer visit XX_TRACER"):
        with_pet_series(read_protocol(), {"XX_TRACER": []})


def _phase1_calendar() -> None:
    """The phase I series (five PET scans per injection) as the current protocol."""
    data = with_pet_series(read_protocol(), read_pet_series("phase1"))
    data["version"] = "1.0-pk5"
    ProtocolVersion.objects.filter(is_current=True).update(is_current=False)
    load_protocol(data=data)


def _enrol(coordinator, site):
    return factories.enrol(
        coordinator,
        site,
        enrolment_date=dt.date(2025, 2, 20),
        treatment_start=dt.date(2025, 3, 22),
        weight_kg="75.0",
        sex="M",
    )


@pytest.mark.django_db
def test_five_time_points_per_injection_give_five_scans_per_injection_on_the_worklist(
    client, coordinator, site_nl, radiologist
):
    _phase1_calendar()
    participant = _enrol(coordinator, site_nl)
    pet = Scan.objects.filter(participant=participant, modality=Modality.PET).order_by("visit__planned_date")
    for tracer in ("BL_TRACER", "OT_TRACER"):
        planned = [
            (s.planned_hours_post_injection, s.window_hours_before, s.window_hours_after)
            for s in pet.filter(tracer_visit_code=tracer).order_by("planned_hours_post_injection")
        ]
        assert planned == [
            (1.5, 0.5, 0.5),
            (7.0, 1.0, 1.0),
            (24.0, 4.0, 4.0),
            (48.0, 4.0, 4.0),
            (120.0, 24.0, 24.0),
        ]
    # every window has passed (2025): all ten PET scans (and the two MRIs) are overdue on the worklist
    overdue = list(selectors.worklist_scans(user=radiologist, bucket="overdue", today=dt.date(2026, 1, 1)))
    on_list = [s for s in overdue if s.modality == Modality.PET]
    assert sorted(s.visit.code for s in on_list) == sorted(
        f"{p}_PET_{h}H" for p in ("BL", "OT") for h in (1, 7, 24, 48, 120)
    )
    counts = {row["site"].code: row["overdue"] for row in selectors.worklist_counts(user=radiologist)}
    assert counts["NL01"] == 12
    client.force_login(radiologist)
    body = client.get("/imaging/worklist/?bucket=overdue").content.decode()
    assert body.count("PET 6-8 h post-injection") == 2  # baseline and on-treatment
    assert "24 h after injection (&minus;4/+4 h)" in body


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (20.0, None),  # lower edge of 24 h - 4 h: inside
        (28.0, None),  # upper edge: inside
        (20.0 - 1 / 60, "SCAN_OUT_OF_WINDOW"),  # a minute early
        (28.0 + 1 / 60, "SCAN_OUT_OF_WINDOW"),  # a minute late
        (40.0, "SCAN_OUT_OF_WINDOW"),  # 12 h past the window: still a warning (block tolerance 12 h)
        (40.0 + 1 / 60, "SCAN_FAR_OUTSIDE_WINDOW"),  # beyond the tolerance: blocks
    ],
)
def test_the_window_check_at_the_edges_of_a_24_h_time_point(hours, expected):
    dosed = dt.datetime(2025, 3, 13, 10, 0, tzinfo=dt.UTC)
    found = crosscheck.check_window(dosed + dt.timedelta(hours=hours), dosed, 24.0, 4.0, 4.0)
    assert [f.code for f in found] == ([] if expected is None else [expected])


def _ingest_24h_scan(coordinator, site, radiologist, tmp_path: Path, hours: float):
    """Upload a phantom scanned `hours` after the recorded injection to the 24 h (+/- 4 h) time point."""
    participant = _enrol(coordinator, site)
    factories.record_tracer_dose(
        coordinator, participant, when=SCAN_UTC - dt.timedelta(hours=hours), mbq="37.5"
    )
    scan = participant.scans.get(visit__code="BL_PET_24H")
    _info, directory = series_maker(tmp_path)(f"s{hours:g}", hours_post_injection=hours)
    work = tmp_path / f"work{hours:g}"
    work.mkdir()
    files = [(p, p.name) for p in sorted(directory.iterdir())]
    upload = services.series_upload_ingest(
        ctx=factories.ctx_for(radiologist), scan=scan, files=files, work_dir=work
    )
    return upload, {f.code: f for f in Finding.objects.filter(upload=upload)}


@pytest.mark.django_db
def test_an_upload_is_checked_against_its_own_time_points_hour_window(
    settings, tmp_path, coordinator, site_nl, radiologist
):
    use_tmp_media(settings, tmp_path)
    _phase1_calendar()
    # at the upper edge of 20-28 h: no window finding
    upload, found = _ingest_24h_scan(coordinator, site_nl, radiologist, tmp_path, 28.0)
    assert upload.suv_parameters["hours_post_injection"] == pytest.approx(28.0)
    assert "SCAN_OUT_OF_WINDOW" not in found and "SCAN_FAR_OUTSIDE_WINDOW" not in found
    # 30 h after the injection is inside the trial's 24-72 h window of a 48 h scan, but outside this one's
    upload, found = _ingest_24h_scan(coordinator, site_nl, radiologist, tmp_path, 30.0)
    finding = found["SCAN_OUT_OF_WINDOW"]
    assert finding.severity == "warning"
    assert "30.0 h after injection is outside the planned window 20-28 h" in finding.message


@pytest.mark.django_db
def test_the_pet_time_points_follow_the_actual_injection_day(coordinator, site_nl):
    from trial.models import AuditEntry, Visit

    participant = factories.enrol(coordinator, site_nl)
    tracer = factories.visit(participant, "BL_TRACER")
    pet1, pet2 = (factories.visit(participant, code) for code in ("BL_PET1", "BL_PET2"))
    assert (pet1.planned_date - tracer.planned_date).days == 2
    # The injection happens three days after its planned day: both scans move with it (48 h -> day 2, 144 h ->
    # day 6 after the injection), audited; the on-treatment scans stay where the calendar put them.
    late = dt.datetime.combine(tracer.planned_date + dt.timedelta(days=3), dt.time(9, 30), tzinfo=dt.UTC)
    ot_before = factories.visit(participant, "OT_PET1").planned_date
    dose = factories.record_tracer_dose(coordinator, participant, when=late)
    injected = late.date()
    for visit, days in ((pet1, 2), (pet2, 6)):
        visit.refresh_from_db()
        assert visit.planned_date == injected + dt.timedelta(days=days)
        entry = AuditEntry.objects.filter(model="visit", object_id=str(visit.pk), action="update").latest(
            "id"
        )
        assert f"after the tracer injection of {injected:%Y-%m-%d}" in entry.reason
    assert factories.visit(participant, "OT_PET1").planned_date == ot_before
    # A scan already done is never moved: with the injection one day later, only the planned one follows.
    from trial import services as trial_services
    from trial.models import TracerDose

    Visit.objects.filter(pk=pet1.pk).update(status="done", actual_date=injected + dt.timedelta(days=2))
    TracerDose.objects.filter(pk=dose.pk).update(administered_at=late + dt.timedelta(days=1))
    dose.refresh_from_db()
    moved = trial_services.pet_visits_follow_injection(ctx=factories.ctx_for(coordinator), dose=dose)
    assert [v.code for v in moved] == ["BL_PET2"]
    pet1.refresh_from_db()
    assert pet1.planned_date == injected + dt.timedelta(days=2)
