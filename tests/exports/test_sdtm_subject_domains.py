"""DM, AE, EX, TU, TR, RS and MI to SDTMIG 3.4 on a built participant: reference dates with the site's offset, AGE
at consent, death flags, ARMNRS; --DY with no day 0 at the edges; stable, unique --SEQ with --SPID; and the AE
MedDRA hierarchy from a synthetic MedDRA release loaded by `manage.py load_meddra` (fallback without one)."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from casebook import services as casebook_services
from casebook.models import Disposition
from exports import meddra, sdtm, sdtm_data, sdtm_dm_data
from tests import factories
from tests.exports.builders import make_ae
from tests.lesions.helpers import assess, lesion
from tests.pathology.builders import make_biopsy, make_score
from trial import services as trial_services

pytestmark = pytest.mark.django_db

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
MEDDRA = Path(__file__).resolve().parents[1] / "data" / "meddra_synthetic"
TODAY = timezone.localdate()


@pytest.fixture
def dosed(coordinator, radiologist, pathologist, site_nl):
    """P1: tracer at 08:30 UTC on its baseline visit (Amsterdam wall clock 09:30 or 10:30), an anti-PD-1 dose a
    week later, AEs on study days -1, 1 and 2, a lesion assessed twice, a biopsy scored; P2: enrolled, never
    dosed, died (end-of-study form)."""
    consent = TODAY - dt.timedelta(days=40)
    p1 = factories.enrol(
        coordinator, site_nl, consent_date=consent, enrolment_date=consent + dt.timedelta(days=2)
    )
    p2 = factories.enrol(coordinator, site_nl, sex="M")
    planned = factories.visit(p1, "BL_TRACER").planned_date
    when = dt.datetime.combine(planned, dt.time(8, 30), tzinfo=dt.UTC)
    dose = factories.record_tracer_dose(coordinator, p1, when=when)
    ctx = factories.ctx_for(coordinator)
    pd1 = trial_services.anti_pd1_dose_record(
        ctx=ctx,
        participant=p1,
        drug="nivolumab",
        dose_mg=Decimal("240"),
        administered_at=when + dt.timedelta(days=7),
    )
    day1 = when.astimezone(AMS).date()
    aes = {
        n: make_ae(
            coordinator,
            p1,
            term,
            onset_date=(day1 + dt.timedelta(days=offset)).isoformat(),
            out_of_window_reason="recorded for the export test",
        )
        for n, (term, offset) in {
            "before": ("Fatigue", -1),
            "day1": ("Fatigue", 0),
            "day2": ("Pneumonitis", 1),
        }.items()
    }
    t1 = lesion(radiologist, p1, "T1", "liver")
    assess(radiologist, p1, day1 - dt.timedelta(days=2), {t1: 40.0})
    assess(radiologist, p1, day1 + dt.timedelta(days=20), {t1: 30.0})
    biopsy = make_biopsy(pathologist, p1, lesion=t1, date=day1 - dt.timedelta(days=1))
    make_score(pathologist, biopsy, "CD8", percent_positive=Decimal("12.5"))
    casebook_services.record_create(
        ctx=ctx,
        model=Disposition,
        participant=p2,
        data={
            "status": "death",
            "end_date": TODAY,
            "last_contact_date": None,
            "details": "",
            "death_date": TODAY - dt.timedelta(days=1),
            "death_cause": "Disease progression",
        },
    )
    return {"p1": p1, "p2": p2, "dose": dose, "when": when, "day1": day1, "aes": aes, "pd1": pd1}


def _by_subject(rows, participant):
    return [r for r in rows if r["USUBJID"] == f"CD8PET-{participant.study_id}"]


def test_dm_reference_dates_age_death_and_arm(dosed, sponsor):
    built = sdtm_data.build(sponsor)
    for name in ("DM", "AE", "SUPPAE", "EX", "SUPPEX", "TU", "TR", "RS", "MI"):
        assert sdtm.check_rows(sdtm.DATASETS[name], built[name]) == [], name
    dm = {r["SUBJID"]: r for r in built["DM"]}
    p1, p2 = dm[dosed["p1"].study_id], dm[dosed["p2"].study_id]
    local = dosed["when"].astimezone(AMS)
    assert p1["RFSTDTC"] == p1["RFXSTDTC"] == local.isoformat(timespec="seconds")
    assert p1["RFSTDTC"][11:] in ("09:30:00+01:00", "10:30:00+02:00")  # 08:30 UTC on the Amsterdam wall clock
    consent = TODAY - dt.timedelta(days=40)
    assert p1["RFICDTC"] == consent.isoformat()
    enrolled = consent + dt.timedelta(days=2)  # demographics collected at enrolment, before the tracer
    assert p1["DMDTC"] == enrolled.isoformat() and p1["DMDY"] < 0
    # born 1961 (birth date taken as 1 July): completed years on the consent date
    assert p1["AGE"] == consent.year - 1961 - (1 if (consent.month, consent.day) < (7, 1) else 0)
    assert (p1["AGEU"], p1["SEX"], p1["BRTHDTC"], p1["COUNTRY"], p1["SITEID"]) == (
        "YEARS",
        "F",
        "1961",
        "NLD",
        "NL01",
    )
    assert (p1["ARMCD"], p1["ACTARMCD"], p1["ARMNRS"], p1["DTHFL"], p1["DTHDTC"]) == (
        "CD8PET",
        "CD8PET",
        "",
        "",
        "",
    )
    assert p1["RACE"] == p1["ETHNIC"] == ""  # not collected: empty, define.xml says why
    assert p1["RFENDTC"] == p1["RFXENDTC"] and p1["RFXENDTC"] >= p1["RFXSTDTC"]
    # P2: assigned, never dosed, died the day before the end of study
    died = TODAY - dt.timedelta(days=1)
    assert (p2["ARMCD"], p2["ACTARMCD"], p2["ACTARM"], p2["ARMNRS"]) == (
        "CD8PET",
        "",
        "",
        "ASSIGNED, NOT TREATED",
    )
    assert (p2["DTHFL"], p2["DTHDTC"], p2["RFPENDTC"], p2["RFENDTC"]) == (
        "Y",
        died.isoformat(),
        TODAY.isoformat(),
        TODAY.isoformat(),
    )
    assert p2["RFSTDTC"] == "" and p2["DMDY"] is None


def test_study_days_have_no_day_zero_and_times_keep_the_site_offset(dosed, sponsor):
    built = sdtm_data.build(sponsor)
    ae = {r["AESPID"]: r for r in built["AE"]}
    days = {n: ae[f"AE-{a.pk}"]["AESTDY"] for n, a in dosed["aes"].items()}
    assert days == {"before": -1, "day1": 1, "day2": 2}
    epochs = {n: ae[f"AE-{a.pk}"]["EPOCH"] for n, a in dosed["aes"].items()}
    assert epochs == {"before": "SCREENING", "day1": "TREATMENT", "day2": "TREATMENT"}
    (tracer,) = [r for r in _by_subject(built["EX"], dosed["p1"]) if r["EXTRT"] == sdtm_data.TRACER]
    assert (tracer["EXSTDY"], tracer["EPOCH"], tracer["EXSPID"]) == (
        1,
        "TREATMENT",
        f"TRACER-{dosed['dose'].pk}",
    )
    assert tracer["EXSTDTC"] == dosed["when"].astimezone(AMS).isoformat(timespec="seconds")
    assert tracer["VISIT"] == dosed["dose"].visit.name and isinstance(tracer["VISITNUM"], int)
    assert all("Z" not in r["EXSTDTC"] and "." not in r["EXSTDTC"] for r in built["EX"])
    tr = sorted(_by_subject(built["TR"], dosed["p1"]), key=lambda r: r["TRDTC"])
    assert [(r["TRTESTCD"], r["TRDY"], r["EPOCH"]) for r in tr if r["TRTESTCD"] == "LDIAM"] == [
        ("LDIAM", -2, "SCREENING"),
        ("LDIAM", 21, "TREATMENT"),
    ]
    (mi,) = built["MI"]
    assert (mi["MIDY"], mi["EPOCH"], mi["MISPID"][:4]) == (-1, "SCREENING", "IHC-")
    (tu,) = built["TU"]
    assert (tu["TUDY"], tu["TULOC"], tu["TUSPID"]) == (-2, "LIVER", f"LESION-{tu['TUSPID'][7:]}")


def test_seq_is_unique_per_subject_and_survives_a_void(dosed, sponsor, coordinator):
    built = sdtm_data.build(sponsor)
    for name, rows in built.items():
        prefix = name[:2]
        columns = sdtm.DATASETS[name].columns
        if f"{prefix}SEQ" not in columns or "USUBJID" not in columns or name.startswith("SUPP"):
            continue
        counts = Counter((r["USUBJID"], r[f"{prefix}SEQ"]) for r in rows)
        assert all(n == 1 for n in counts.values()), (name, counts.most_common(2))
    before = {r["AESPID"]: r["AESEQ"] for r in built["AE"]}
    first = dosed["aes"]["before"]
    trial_services.record_void(ctx=factories.ctx_for(coordinator), instance=first, reason="entered twice")
    after = {r["AESPID"]: r["AESEQ"] for r in sdtm_data.STREAMS["AE"](sponsor)}
    assert f"AE-{first.pk}" not in after and len(after) == len(before) - 1
    assert all(before[spid] == seq for spid, seq in after.items())
    supp = {(r["IDVARVAL"], r["QNAM"]) for r in sdtm_data.STREAMS["SUPPAE"](sponsor)}
    assert {(str(seq), "AERELTRC") for seq in after.values()} <= supp


@pytest.fixture
def coded(coordinator, site_nl):
    """One dosed participant with a Fatigue AE (LLT in the synthetic release) and a Pneumonitis AE (not in it)."""
    p = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, p)
    return {"day1": make_ae(coordinator, p, "Fatigue"), "day2": make_ae(coordinator, p, "Pneumonitis")}


def test_meddra_hierarchy_from_a_loaded_release(coded, sponsor):
    out = io.StringIO()
    call_command("load_meddra", str(MEDDRA), stdout=out)
    assert out.getvalue().strip() == "MedDRA 99.0: 3 lowest level terms loaded (current release)"
    ae = {r["AESPID"]: r for r in sdtm_data.STREAMS["AE"](sponsor)}
    fatigue = ae[f"AE-{coded['day1'].pk}"]
    assert (fatigue["AETERM"], fatigue["AELLT"], fatigue["AELLTCD"]) == (
        "Fatigue",
        "Fatigue (synthetic LLT)",
        10016256,
    )
    assert (fatigue["AEDECOD"], fatigue["AEPTCD"], fatigue["AEHLT"], fatigue["AEHLTCD"]) == (
        "Synthetic PT Alpha",
        90000001,
        "Synthetic HLT Alpha",
        90000101,
    )
    assert (fatigue["AEHLGT"], fatigue["AEHLGTCD"], fatigue["AESOC"], fatigue["AESOCCD"]) == (
        "Synthetic HLGT Alpha",
        90001001,
        "Synthetic SOC Alpha",
        90010001,
    )
    assert (fatigue["AEBODSYS"], fatigue["AEBDSYCD"]) == ("Synthetic SOC Alpha", 90010001)
    # Pneumonitis' LLT is not in the synthetic release: the CTCAE term and SOC, and a note in SUPPAE
    pneu = ae[f"AE-{coded['day2'].pk}"]
    assert (pneu["AEDECOD"], pneu["AEPTCD"], pneu["AESOC"]) == (
        "Pneumonitis",
        None,
        "Respiratory, thoracic and mediastinal disorders",
    )
    notes = {
        (r["IDVARVAL"], r["QVAL"]) for r in sdtm_data.STREAMS["SUPPAE"](sponsor) if r["QNAM"] == "AECODNT"
    }
    assert notes == {
        (
            str(pneu["AESEQ"]),
            "LLT 10035742 not in MedDRA 99.0: AEDECOD is the CTCAE v5.0 term, AEBODSYS/AESOC its CTCAE SOC",
        )
    }
    # a PT with two paths takes its primary SOC
    (beta,) = meddra.codings([90100002]).values()
    assert (beta.pt, beta.soc) == ((90000002, "Synthetic PT Beta"), (90010002, "Synthetic SOC Beta"))


def test_load_meddra_refuses_an_incomplete_or_inconsistent_folder(tmp_path):
    with pytest.raises(CommandError, match="lacks"):
        call_command("load_meddra", str(tmp_path))
    for f in MEDDRA.glob("*.asc"):
        (tmp_path / f.name).write_text(f.read_text())
    (tmp_path / "hlt_pt.asc").write_text("90000101$90000001$\n")  # drop the links of PT Beta
    with pytest.raises(CommandError, match="not in hlt_pt.asc"):
        call_command("load_meddra", str(tmp_path))
    assert meddra.current_version() == ""


def test_age_at_consent_takes_the_birth_date_as_1_july():
    assert sdtm_dm_data.age_at(1961, dt.date(2026, 6, 30)) == 64
    assert sdtm_dm_data.age_at(1961, dt.date(2026, 7, 1)) == 65


def test_a_fatal_adverse_event_gives_the_death_date_without_an_end_of_study_form(
    coordinator, site_nl, sponsor
):
    p = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, p)
    died = TODAY - dt.timedelta(days=4)
    make_ae(
        coordinator,
        p,
        "Pneumonitis",
        grade=5,
        outcome="fatal",
        death_date=died,
        serious=True,
        sae_death=True,
        end_date=died.isoformat(),
        out_of_window_reason="recorded for the export test",
    )
    (dm,) = sdtm_data.STREAMS["DM"](sponsor)
    assert (dm["DTHFL"], dm["DTHDTC"], dm["RFPENDTC"]) == ("Y", died.isoformat(), died.isoformat())
    (ae,) = sdtm_data.STREAMS["AE"](sponsor)
    assert (ae["AESDTH"], ae["AEOUT"], ae["AETOXGR"], ae["AESER"]) == ("Y", "FATAL", "5", "Y")
