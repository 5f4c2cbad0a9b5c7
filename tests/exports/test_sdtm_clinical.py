"""SDTM CM, MH, VS, LB, PC (+ SUPPPC), IS and DS from casebook records entered through casebook.services: the
rows' values (LBTOXGR from the stored CTCAE v5.0 grade, LBNRIND from the reference range, PC Bq/mL and times),
stable --SEQ with --SPID, site-local times with offset, and the files: XPT read by pyreadstat, Dataset-JSON 1.1
and Define-XML 2.1 valid against the official schemas, every domain in the token API's dataset list."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
import zipfile
import zoneinfo
from decimal import Decimal
from pathlib import Path

import pyreadstat
import pytest
from django.utils import timezone
from jsonschema import Draft201909Validator
from lxml import etree

from casebook import services
from casebook.models import (
    AdaSample,
    BodyMeasurement,
    CancerHistory,
    Disposition,
    LabResult,
    MedicalHistory,
    Medication,
    PkSample,
    PriorTherapyLine,
    VitalSigns,
)
from exports import define_xml, sdtm, sdtm_clinical, sdtm_clinical_data, sdtm_data, sdtm_files
from tests import factories
from tests.casebook.builders import lab, med
from tests.exports.helpers import issue, offline_schema, token_client

pytestmark = pytest.mark.django_db

CDISC = Path(__file__).resolve().parents[1] / "data" / "cdisc"
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
TODAY = timezone.localdate()
NEW = ("CM", "MH", "VS", "LB", "PC", "SUPPPC", "IS", "DS")


def _create(user, participant, model, **data):
    return services.record_create(
        ctx=factories.ctx_for(user), model=model, participant=participant, data=data
    )


def _med(name: str, **over):
    return med(**{"name": name, "atc_code": "H02AB06", **over})


@pytest.fixture
def casebook(coordinator, participant):
    dose = factories.record_tracer_dose(coordinator, participant)
    t0 = dose.administered_at
    first = _create(coordinator, participant, Medication, **_med("Prednisolone"))
    second = _create(coordinator, participant, Medication, **_med("Paracetamol", is_systemic_steroid=False))
    services.record_void(ctx=factories.ctx_for(coordinator), instance=first, reason="wrong participant")
    _create(
        coordinator,
        participant,
        PriorTherapyLine,
        line_number=1,
        regimen="Ipilimumab",
        start_date=TODAY - dt.timedelta(days=400),
        end_date=TODAY - dt.timedelta(days=300),
        best_response="PR",
    )
    _create(
        coordinator,
        participant,
        MedicalHistory,
        term="Hypothyroidism",
        meddra_code="10021114",
        start_date=TODAY - dt.timedelta(days=900),
        end_date=None,
        ongoing=True,
        autoimmune=True,
    )
    _create(
        coordinator,
        participant,
        CancerHistory,
        histology="Cutaneous melanoma",
        diagnosis_date=TODAY - dt.timedelta(days=700),
        stage="IV",
        sites_of_disease="liver, lung",
        pdl1_status="positive",
        pdl1_score="TPS 60%",
    )
    _create(
        coordinator,
        participant,
        VitalSigns,
        visit=None,
        tracer_dose=dose,
        timepoint="pre_infusion",
        measured_at=t0 - dt.timedelta(minutes=30),
        systolic_mmhg=120,
        diastolic_mmhg=80,
        pulse_bpm=70,
        temperature_c=Decimal("36.8"),
        respiratory_rate=None,
        spo2_pct=98,
    )
    _create(
        coordinator,
        participant,
        BodyMeasurement,
        visit=None,
        measured_on=TODAY - dt.timedelta(days=2),
        weight_kg=Decimal("70.5"),
        height_cm=None,
    )
    neut = _create(coordinator, participant, LabResult, **lab())
    _create(
        coordinator,
        participant,
        LabResult,
        **lab(test_code="PLAT", value=Decimal("250"), lln=Decimal("150"), uln=Decimal("400")),
    )
    _create(
        coordinator,
        participant,
        LabResult,
        **lab(
            panel="thyroid", test_code="FT4", value=Decimal("9.5"), unit="pmol/L", lln=Decimal("11"), uln=None
        ),
    )
    pk = _create(
        coordinator,
        participant,
        PkSample,
        tracer_dose=dose,
        nominal_timepoint="30 min",
        sampled_at=t0 + dt.timedelta(minutes=30),
        counted_at=t0 + dt.timedelta(hours=78.41),
        sample_volume_ml=Decimal("0.5"),
        gross_counts=60500,
        background_counts=500,
        count_time_s=Decimal("60"),
        counter_efficiency=Decimal("0.5"),
        calibration_factor=Decimal("1"),
    )
    for sample_id, result, titre in (("ADA-1", "positive", 40), ("ADA-2", "pending", None)):
        _create(
            coordinator,
            participant,
            AdaSample,
            visit=None,
            collected_on=TODAY - dt.timedelta(days=1),
            sample_id=sample_id,
            result=result,
            titre=titre,
        )
    _create(
        coordinator,
        participant,
        Disposition,
        status="death",
        end_date=TODAY,
        last_contact_date=None,
        details="",
        death_date=TODAY - dt.timedelta(days=1),
        death_cause="Disease progression",
    )
    return {"dose": dose, "second_med": second, "neut": neut, "pk": pk}


def _study_day(date: dt.date, dose) -> int:
    days = (date - dose.administered_at.astimezone(AMS).date()).days
    return days + 1 if days >= 0 else days


def test_casebook_domains_carry_the_records_values(casebook, sponsor, participant):
    dose = casebook["dose"]
    built = {name: list(sdtm_data.STREAMS[name](sponsor)) for name in NEW}
    for name, rows in built.items():
        assert sdtm.check_rows(sdtm.DATASETS[name], rows) == [], name
    subject = f"CD8PET-{participant.study_id}"

    # CM: the voided medication keeps its slot, so the live one keeps CMSEQ 2 and names its source record
    cm = {r["CMTRT"]: r for r in built["CM"]}
    assert set(cm) == {"Paracetamol", "Ipilimumab"}
    para = cm["Paracetamol"]
    assert (para["CMSEQ"], para["CMSPID"]) == (2, f"MED-{casebook['second_med'].pk}")
    assert (para["CMCAT"], para["CMROUTE"], para["CMDOSE"], para["CMDOSU"]) == (
        "CONCOMITANT MEDICATION",
        "ORAL",
        5.0,
        "mg",
    )
    assert (para["CMENRTPT"], para["CMENDTC"], para["CMCLASCD"]) == ("ONGOING", "", "H02AB06")
    start = TODAY - dt.timedelta(days=40)
    assert para["CMSTDTC"] == start.isoformat() and para["CMSTDY"] == _study_day(start, dose) < 0
    assert (cm["Ipilimumab"]["CMCAT"], cm["Ipilimumab"]["CMSCAT"]) == ("PRIOR CANCER THERAPY", "LINE 1")

    mh = {r["MHCAT"]: r for r in built["MH"]}
    assert mh["GENERAL MEDICAL HISTORY"]["MHSCAT"] == "AUTOIMMUNE DISEASE"
    assert mh["GENERAL MEDICAL HISTORY"]["MHLLTCD"] == 10021114
    assert (mh["CANCER HISTORY"]["MHTERM"], mh["CANCER HISTORY"]["MHSCAT"]) == (
        "Cutaneous melanoma",
        "PRIMARY DIAGNOSIS",
    )

    # VS: site-local time with its offset, before the infusion (SCREENING epoch, day 1); no row for the
    # respiratory rate not measured, whose VSSEQ slot stays free
    vs = {r["VSTESTCD"]: r for r in built["VS"]}
    assert set(vs) == {"SYSBP", "DIABP", "PULSE", "TEMP", "OXYSAT", "WEIGHT"}
    measured = (dose.administered_at - dt.timedelta(minutes=30)).astimezone(AMS)
    sys_bp = vs["SYSBP"]
    assert sys_bp["VSDTC"] == measured.isoformat(timespec="seconds") and sys_bp["VSDTC"][-6:] in (
        "+01:00",
        "+02:00",
    )
    assert (sys_bp["VSORRES"], sys_bp["VSSTRESN"], sys_bp["VSORRESU"]) == ("120", 120.0, "mmHg")
    assert (sys_bp["VSTPT"], sys_bp["EPOCH"], sys_bp["VSDY"]) == ("PRE-INFUSION", "SCREENING", 1)
    assert sys_bp["VISIT"] == dose.visit.name and isinstance(sys_bp["VISITNUM"], int)
    assert sys_bp["VSRFTDTC"] == dose.administered_at.astimezone(AMS).isoformat(timespec="seconds")
    assert [vs[t]["VSSEQ"] for t in ("SYSBP", "DIABP", "PULSE", "TEMP", "OXYSAT")] == [1, 2, 3, 4, 6]
    assert (vs["TEMP"]["VSORRES"], vs["TEMP"]["VSORRESU"]) == ("36.8", "C")
    assert (vs["WEIGHT"]["VSSTRESN"], vs["WEIGHT"]["VSSTRESU"], vs["WEIGHT"]["VSSEQ"]) == (70.5, "kg", 15)
    assert vs["WEIGHT"]["EPOCH"] == "TREATMENT"

    # LB: CTCAE v5.0 "Neutrophil count decreased" grade 3 is "<1.0 - 0.5 x 10e9 /L": 0.9 -> LBTOXGR 3
    lb = {r["LBTESTCD"]: r for r in built["LB"]}
    neut = lb["NEUT"]
    assert (neut["LBTOXGR"], neut["LBTOX"], neut["LBNRIND"]) == ("3", "Neutrophil count decreased", "LOW")
    assert (neut["LBORRES"], neut["LBORRESU"], neut["LBSTRESN"]) == ("0.9", "10^9/L", 0.9)
    assert (neut["LBORNRLO"], neut["LBORNRHI"], neut["LBSTNRLO"]) == ("1.8", "7.5", 1.8)
    assert (neut["LBCAT"], neut["LBSPEC"], neut["LBSPID"]) == (
        "HEMATOLOGY",
        "BLOOD",
        f"LAB-{casebook['neut'].pk}",
    )
    collected = TODAY - dt.timedelta(days=3)
    assert (neut["LBDTC"], neut["LBDY"]) == (collected.isoformat(), _study_day(collected, dose))
    assert (lb["PLAT"]["LBTOXGR"], lb["PLAT"]["LBTOX"], lb["PLAT"]["LBNRIND"]) == ("0", "", "NORMAL")
    ft4 = lb["T4FR"]  # not graded by CTCAE v5.0 values: no grade at all, but LOW against its range
    assert (ft4["LBTEST"], ft4["LBTOXGR"], ft4["LBNRIND"], ft4["LBORNRHI"]) == (
        "Thyroxine, Free",
        "",
        "LOW",
        "",
    )

    # PC: 60,000 net counts / 60 s / 0.5 / 0.5 mL counted one 89Zr half-life later = 8000 Bq/mL at injection
    (pc,) = built["PC"]
    sampled = (dose.administered_at + dt.timedelta(minutes=30)).astimezone(AMS)
    assert (pc["PCORRES"], pc["PCSTRESN"], pc["PCORRESU"], pc["PCSTRESU"]) == (
        "8000",
        8000.0,
        "Bq/mL",
        "Bq/mL",
    )
    assert pc["PCDTC"] == sampled.isoformat(timespec="seconds")
    assert pc["PCRFTDTC"] == dose.administered_at.astimezone(AMS).isoformat(timespec="seconds")
    assert (pc["PCTPT"], pc["PCTPTREF"], pc["EPOCH"], pc["PCDY"]) == (
        "30 min",
        sdtm_clinical.TRACER_INFUSION,
        "TREATMENT",
        1,
    )
    assert pc["PCSPID"] == f"PK-{casebook['pk'].pk}" and pc["VISIT"] == dose.visit.name
    (supp,) = built["SUPPPC"]
    assert (supp["USUBJID"], supp["IDVAR"], supp["IDVARVAL"], supp["QNAM"], supp["QVAL"]) == (
        subject,
        "PCSEQ",
        str(pc["PCSEQ"]),
        "PCAELTM",
        "0.5",
    )

    # IS: the pending sample waits for its result; the positive one gives the result and its titre
    assert [(r["ISREFID"], r["ISTESTCD"], r["ISORRES"], r["ISSTRESN"]) for r in built["IS"]] == [
        ("ADA-1", "ADA", "POSITIVE", None),
        ("ADA-1", "ADATITER", "40", 40.0),
    ]

    (ds,) = built["DS"]
    died = TODAY - dt.timedelta(days=1)
    assert (ds["DSDECOD"], ds["DSTERM"], ds["DSSTDTC"], ds["EPOCH"]) == (
        "DEATH",
        "Death: Disease progression",
        died.isoformat(),
        "TREATMENT",
    )
    assert ds["DSSTDY"] == _study_day(died, dose)


def test_voiding_a_record_never_renumbers_the_others(casebook, coordinator, sponsor):
    before = {r["LBSPID"]: r["LBSEQ"] for r in sdtm_data.STREAMS["LB"](sponsor)}
    services.record_void(ctx=factories.ctx_for(coordinator), instance=casebook["neut"], reason="wrong tube")
    after = {r["LBSPID"]: r["LBSEQ"] for r in sdtm_data.STREAMS["LB"](sponsor)}
    assert f"LAB-{casebook['neut'].pk}" not in after and len(after) == len(before) - 1
    assert all(before[spid] == seq for spid, seq in after.items())


def test_other_sites_see_no_casebook_rows(casebook, other_coordinator):
    assert all(list(sdtm_data.STREAMS[name](other_coordinator)) == [] for name in NEW)


def test_files_define_xml_and_the_dataset_list_carry_the_new_domains(
    casebook, sponsor, data_manager, tmp_path
):
    _token, key = issue(data_manager, sponsor)
    client = token_client(key)
    listing = client.get("/api/v1/export/sdtm/").json()
    assert set(NEW) <= {e["domain"] for e in listing["datasets"]}
    target = tmp_path / "sdtm.zip"
    with zipfile.ZipFile(target, "w") as zf:
        sdtm_data.write_datasets_into(zf, sponsor)
    schema = json.loads((CDISC / "dataset-json-1.1" / "dataset.schema.json").read_text())
    validator = Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    created = timezone.now()
    with zipfile.ZipFile(target) as zf:
        for name in NEW:
            dataset = sdtm.DATASETS[name]
            rows = sdtm_files.domain_rows(sponsor, name)
            path = tmp_path / f"{name}.xpt"
            path.write_bytes(zf.read(f"sdtm/{name.lower()}.xpt"))
            frame, meta = pyreadstat.read_xport(str(path))
            assert (
                meta.table_name == name
                and list(frame.columns) == dataset.columns
                and len(frame) == len(rows) > 0
            )
            data = json.loads(b"".join(sdtm_files.dataset_json_chunks(dataset, rows, created)))
            assert list(validator.iter_errors(data)) == [], name
            assert data["records"] == len(rows)
    lb = pyreadstat.read_xport(str(tmp_path / "LB.xpt"))[0]
    assert lb.loc[lb["LBTESTCD"] == "NEUT", "LBTOXGR"].tolist() == ["3"]
    pc = pyreadstat.read_xport(str(tmp_path / "PC.xpt"))[0]
    assert pc["PCSTRESN"].tolist() == [8000.0]
    pc_json = json.loads(_body(client.get("/api/v1/export/sdtm/PC.json")))
    cols = [c["name"] for c in pc_json["columns"]]
    assert pc_json["rows"][0][cols.index("PCSTRESN")] == 8000.0

    xsd = offline_schema(CDISC / "define-2.1" / "define" / "2.1" / "define2-1-0.xsd")
    root = etree.fromstring(b"".join(define_xml.chunks(created)))
    assert xsd.validate(root), [str(e) for e in list(xsd.error_log)[:5]]
    odm, def_ns = "{http://www.cdisc.org/ns/odm/v1.3}", "{http://www.cdisc.org/ns/def/v2.1}"
    groups = {g.get("Name") for g in root.iter(f"{odm}ItemGroupDef")}
    assert set(NEW) <= groups
    origins = {i.get("OID"): i.find(f"{def_ns}Origin").get("Type") for i in root.iter(f"{odm}ItemDef")}
    assert origins["IT.LB.LBTOXGR"] == origins["IT.LB.LBNRIND"] == origins["IT.PC.PCSTRESN"] == "Derived"
    assert origins["IT.LB.LBORRES"] == origins["IT.VS.VSORRES"] == "Collected"
    methods = {m.get("OID") for m in root.iter(f"{odm}MethodDef")}
    refs = {r.get("MethodOID") for r in root.iter(f"{odm}ItemRef") if r.get("MethodOID")}
    assert {"MT.CTCAE", "MT.DY", "MT.SPSEQ", "MT.EPOCH"} <= refs <= methods


def _body(response) -> bytes:
    assert response.status_code == 200, response.content[:400]
    return b"".join(response.streaming_content) if response.streaming else response.content


def _lab_rows(participant, n: int) -> None:
    """Test rows as casebook stores them (graded values precomputed), written directly for speed."""
    LabResult.objects.bulk_create(
        LabResult(
            participant=participant,
            panel="haematology",
            collected_on=TODAY - dt.timedelta(days=i % 20),
            test_code="NEUT",
            value=Decimal("0.9"),
            unit="10^9/L",
            lln=Decimal("1.8"),
            uln=Decimal("7.5"),
            ctcae_grade=3,
            direction="low",
            ctcae_term="Neutrophil count decreased",
        )
        for i in range(n)
    )


def _peak_writing_lb(user, tmp_path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        with open(tmp_path / "lb.csv", "wb") as csv_out, open(tmp_path / "lb.xpt", "wb") as xpt_out:
            n = sdtm_data.write_dataset_files(
                sdtm_clinical.LB, sdtm_data.STREAMS["LB"](user), csv_out, xpt_out
            )
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_lb_streams_with_flat_memory(coordinator, participant, sponsor, tmp_path, monkeypatch):
    monkeypatch.setattr(sdtm_clinical_data, "CHUNK", 100)
    monkeypatch.setattr(sdtm_data, "SPOOL_BATCH", 100)
    factories.record_tracer_dose(coordinator, participant)
    _lab_rows(participant, 300)
    small, small_peak = _peak_writing_lb(sponsor, tmp_path)
    _lab_rows(participant, 2700)
    large, large_peak = _peak_writing_lb(sponsor, tmp_path)
    assert (small, large) == (300, 3000)
    # Ten times the rows (measured: 573 kB -> 586 kB peak; the 3000 rows as a list: 5.7 MB).
    assert large_peak < small_peak + 1_000_000, (small_peak, large_peak)
    frame, _ = pyreadstat.read_xport(str(tmp_path / "lb.xpt"))
    assert len(frame) == 3000 and frame["LBSEQ"].tolist() == [float(i) for i in range(1, 3001)]
