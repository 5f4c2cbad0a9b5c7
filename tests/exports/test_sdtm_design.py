"""Trial design domains TS, TA, TE, TV, TI and the subject-level SE, SV, IE, PR: the required TS parameters, the
protocol calendar and criteria, elements and visits actually done, screen failures of the screening log in DM and
IE, biopsies in PR; XPT read back by pyreadstat, Dataset-JSON 1.1 and Define-XML 2.1 valid against the official
schemas (origins Protocol, the RACE/ETHNIC comment, the MedDRA dictionary reference, one SDTMIG version)."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pyreadstat
import pytest
from django.utils import timezone
from jsonschema import Draft201909Validator
from lxml import etree

from casebook import services as casebook_services
from exports import define_xml, sdtm, sdtm_data, sdtm_files
from exports.sdtm_vars import SDTMIG_VERSION
from tests import factories
from tests.exports.helpers import issue, offline_schema, token_client
from tests.pathology.builders import make_biopsy
from trial import services as trial_services

pytestmark = pytest.mark.django_db

CDISC = Path(__file__).resolve().parents[1] / "data" / "cdisc"
DESIGN = ("TS", "TA", "TE", "TV", "TI", "SE", "SV", "IE", "PR")
TODAY = timezone.localdate()
ODM, DEF = "{http://www.cdisc.org/ns/odm/v1.3}", "{http://www.cdisc.org/ns/def/v2.1}"


@pytest.fixture
def trial(coordinator, pathologist, site_nl):
    p1 = factories.enrol(coordinator, site_nl)
    p2 = factories.enrol(coordinator, site_nl, sex="M")
    dose = factories.record_tracer_dose(coordinator, p1)
    ctx = factories.ctx_for(coordinator)
    screen = factories.visit(p1, "SCREEN")
    trial_services.visit_record(ctx=ctx, visit=screen, status="done", actual_date=screen.planned_date)
    biopsy = make_biopsy(pathologist, p1, date=dose.administered_at.date() + dt.timedelta(days=1))
    failed = casebook_services.screen_failure_record(
        ctx=ctx,
        site=site_nl,
        screened_on=TODAY - dt.timedelta(days=3),
        age_band="40-49",
        failed_criteria=["I4", "E2"],
    )
    casebook_services.screen_failure_record(
        ctx=ctx,
        site=site_nl,
        screened_on=TODAY,
        age_band="50-59",
        failed_criteria=[],
        other_reason="declined consent",
    )
    return {"p1": p1, "p2": p2, "dose": dose, "screen": screen, "biopsy": biopsy, "failed": failed}


def test_trial_summary_arms_elements_visits_and_criteria(trial, sponsor):
    ts = list(sdtm_data.STREAMS["TS"](sponsor))
    assert sdtm.check_rows(sdtm.DATASETS["TS"], ts) == []
    by = {}
    for r in ts:
        by.setdefault(r["TSPARMCD"], []).append(r)
    required = {"TITLE", "SPONSOR", "TPHASE", "STYPE", "TTYPE", "INTTYPE", "TRT", "ADDON", "AGEMIN", "AGEMAX"}
    required |= {"SEXPOP", "PLANSUB", "RANDOM", "SDTIGVER", "SDTMVER", "ACTSUB", "SSTDTC", "TBLIND", "TCNTRL"}
    assert required <= set(by)
    assert all(
        (r["TSVAL"] == "") == (r["TSVALNF"] != "") for r in ts
    )  # a value or a null flavour, never both
    one = {code: rows[0] for code, rows in by.items()}
    assert one["SDTIGVER"]["TSVAL"] == SDTMIG_VERSION == "3.4" and one["SDTMVER"]["TSVAL"] == "2.0"
    assert (one["SPONSOR"]["TSVAL"], one["SPONSOR"]["TSVALNF"]) == ("", "UNK")  # not known to the system
    assert (one["AGEMIN"]["TSVAL"], one["AGEMAX"]["TSVALNF"]) == ("P18Y", "PINF")
    assert (one["RANDOM"]["TSVAL"], one["RANDOM"]["TSVALCD"], one["RANDOM"]["TSVCDREF"]) == (
        "N",
        "C49487",
        "CDISC CT",
    )
    assert one["ACTSUB"]["TSVAL"] == "2"
    first_consent = min(c.consent_date for p in (trial["p1"], trial["p2"]) for c in p.consents.all())
    assert one["SSTDTC"]["TSVAL"] == first_consent.isoformat()
    assert [r["TSSEQ"] for r in by["TTYPE"]] == [1, 2, 3]
    _arms_elements_visits_and_criteria_follow_the_protocol(trial, sponsor)


def _arms_elements_visits_and_criteria_follow_the_protocol(trial, sponsor):
    built = {name: list(sdtm_data.STREAMS[name](sponsor)) for name in DESIGN}
    for name, rows in built.items():
        assert sdtm.check_rows(sdtm.DATASETS[name], rows) == [], name
    assert [(r["TAETORD"], r["ETCD"], r["EPOCH"]) for r in built["TA"]] == [
        (1, "SCRN", "SCREENING"),
        (2, "TRT", "TREATMENT"),
    ]
    assert {r["ETCD"] for r in built["TE"]} == {"SCRN", "TRT"}
    p1 = trial["p1"]
    planned = list(p1.visits.order_by("planned_date", "id").values_list("name", flat=True))
    assert [r["VISIT"] for r in built["TV"]] == planned  # the calendar, in the participants' visit order
    tv = {r["VISIT"]: r for r in built["TV"]}
    assert tv["Anti-PD-1 start (day 1)"]["VISITDY"] == 1 and tv["Screening"]["VISITDY"] == -28
    # the tracer visit's number in TV is the one EX gives the injection
    (ex,) = [r for r in sdtm_data.STREAMS["EX"](sponsor) if r["USUBJID"].endswith(p1.study_id)]
    assert tv[ex["VISIT"]]["VISITNUM"] == ex["VISITNUM"]
    ti = {r["IETESTCD"]: r for r in built["TI"]}
    assert len(ti) == 10 and ti["I1"]["IECAT"] == "INCLUSION" and ti["E2"]["IECAT"] == "EXCLUSION"
    assert ti["I1"]["IETEST"].startswith("Age 18 years or older") and ti["I1"]["TIVERS"] == "1.0"


def test_subject_elements_visits_procedures_and_screen_failures(trial, sponsor):
    built = sdtm_data.build(sponsor)
    p1 = trial["p1"]
    subject = f"CD8PET-{p1.study_id}"
    dm = {r["USUBJID"]: r for r in built["DM"]}
    se = [(r["ETCD"], r["SESTDTC"], r["SEENDTC"]) for r in built["SE"] if r["USUBJID"] == subject]
    rfstdtc = dm[subject]["RFSTDTC"]
    assert se == [("SCRN", dm[subject]["RFICDTC"], rfstdtc), ("TRT", rfstdtc, "")]
    (sv,) = [r for r in built["SV"] if r["USUBJID"] == subject]
    screen = trial["screen"]
    assert (sv["VISIT"], sv["SVSTDTC"], sv["EPOCH"]) == (
        "Screening",
        screen.planned_date.isoformat(),
        "SCREENING",
    )
    assert sv["SVSTDY"] < 0 and sv["VISITNUM"] == 1
    assert sv["VISITDY"] == -28  # the protocol's planned day, as in TV
    (pr,) = built["PR"]
    assert (pr["PRTRT"], pr["PRREFID"], pr["PRSTDY"], pr["EPOCH"]) == (
        "BIOPSY",
        trial["biopsy"].sample_id,
        2,
        "TREATMENT",
    )
    assert pr["PRSPID"] == f"BX-{trial['biopsy'].pk}" and pr["VISIT"]
    # the screen failure with failed criteria is a DM subject and has IE rows; the one who declined consent is not
    failed = trial["failed"]
    sf = f"CD8PET-NL01-SF{failed.pk:04d}"
    assert (dm[sf]["ARMNRS"], dm[sf]["SEX"], dm[sf]["AGETXT"], dm[sf]["ARMCD"]) == (
        "SCREEN FAILURE",
        "U",
        "40-49",
        "",
    )
    assert len([r for r in built["DM"] if r["ARMNRS"] == "SCREEN FAILURE"]) == 1
    ie = {r["IETESTCD"]: r for r in built["IE"] if r["USUBJID"] == sf}
    assert (ie["I4"]["IEORRES"], ie["I4"]["IECAT"], ie["E2"]["IEORRES"], ie["E2"]["IECAT"]) == (
        "N",
        "INCLUSION",
        "Y",
        "EXCLUSION",
    )
    assert {r["IEDTC"] for r in ie.values()} == {failed.screened_on.isoformat()}
    assert [r["ETCD"] for r in built["SE"] if r["USUBJID"] == sf] == ["SCRN"]
    assert {r["USUBJID"] for r in built["IE"]} <= set(dm)  # every subject of IE is in DM


def test_files_and_define_xml_carry_the_design_domains(trial, sponsor, data_manager, tmp_path):
    _token, key = issue(data_manager, sponsor)
    client = token_client(key)
    listing = client.get("/api/v1/export/sdtm/").json()
    assert set(DESIGN) <= {e["domain"] for e in listing["datasets"]}
    target = tmp_path / "sdtm.zip"
    with zipfile.ZipFile(target, "w") as zf:
        sdtm_data.write_datasets_into(zf, sponsor)
    schema = json.loads((CDISC / "dataset-json-1.1" / "dataset.schema.json").read_text())
    validator = Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    created = timezone.now()
    with zipfile.ZipFile(target) as zf:
        for name in (*DESIGN, "DM", "AE", "EX", "TR", "MI"):
            dataset = sdtm.DATASETS[name]
            rows = sdtm_files.domain_rows(sponsor, name)
            path = tmp_path / f"{name}.xpt"
            path.write_bytes(zf.read(f"sdtm/{name.lower()}.xpt"))
            if rows:
                frame, meta = pyreadstat.read_xport(str(path))
                assert meta.table_name == name and list(frame.columns) == dataset.columns
                assert len(frame) == len(rows)
            data = json.loads(b"".join(sdtm_files.dataset_json_chunks(dataset, rows, created)))
            assert list(validator.iter_errors(data)) == [], name
    ts = json.loads(b"".join(client.get("/api/v1/export/sdtm/TS.json").streaming_content))
    cols = [c["name"] for c in ts["columns"]]
    assert ["SDTIGVER", "3.4"] in [[r[cols.index("TSPARMCD")], r[cols.index("TSVAL")]] for r in ts["rows"]]

    xsd = offline_schema(CDISC / "define-2.1" / "define" / "2.1" / "define2-1-0.xsd")
    root = etree.fromstring(b"".join(define_xml.chunks(created)))
    assert xsd.validate(root), [str(e) for e in list(xsd.error_log)[:5]]
    groups = {g.get("Name"): g for g in root.iter(f"{ODM}ItemGroupDef")}
    assert set(DESIGN) <= set(groups) and groups["TS"].get("IsReferenceData") == "Yes"
    assert groups["DM"].find(f"{DEF}Class").get("Name") == "SPECIAL PURPOSE"
    items = {i.get("OID"): i for i in root.iter(f"{ODM}ItemDef")}
    assert items["IT.DM.RACE"].get(f"{DEF}CommentOID") == "COM.NOTCOLL"
    comments = {c.get("OID") for c in root.iter(f"{DEF}CommentDef")}
    assert {"COM.NOTCOLL", "COM.TS"} <= comments
    assert items["IT.TS.TSVAL"].find(f"{DEF}Origin").get("Type") == "Protocol"
    assert items["IT.DM.AGE"].find(f"{DEF}Origin").get("Type") == "Derived"
    assert items["IT.AE.AEDECOD"].find(f"{ODM}CodeListRef").get("CodeListOID") == "CL.MEDDRA"
    (external,) = root.iter(f"{ODM}ExternalCodeList")
    assert external.get("Dictionary") == "MedDRA"
    versions = {s.get("Version") for s in root.iter(f"{DEF}Standard") if s.get("Name") == "SDTMIG"}
    assert versions == {SDTMIG_VERSION} and sdtm.define()["standard"] == f"SDTMIG {SDTMIG_VERSION}"
    refs = {r.get("MethodOID") for r in root.iter(f"{ODM}ItemRef") if r.get("MethodOID")}
    assert (
        {"MT.AGE", "MT.DTH", "MT.AEREL", "MT.RFXENDTC", "MT.SE"}
        <= refs
        <= {m.get("OID") for m in root.iter(f"{ODM}MethodDef")}
    )
