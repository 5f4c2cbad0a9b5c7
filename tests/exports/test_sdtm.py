"""SDTM-style datasets: columns, controlled terms, ISO 8601 (partial kept), CSV and XPT read back with pyreadstat."""

from __future__ import annotations

import csv
import io
import math
import zipfile
from decimal import Decimal

import pyreadstat
import pytest

from exports import sdtm, sdtm_data
from tests.exports.builders import trial_with_aes
from tests.lesions.helpers import assess, day, lesion
from tests.pathology.builders import make_biopsy, make_score

pytestmark = pytest.mark.django_db


def test_definitions_respect_sas_v5_limits():
    assert sdtm.validate_definitions() == []
    assert {"DM", "AE", "SUPPAE", "EX", "SUPPEX", "TU", "TR", "RS", "MI"} | {
        "CM",
        "MH",
        "VS",
        "LB",
        "PC",
        "SUPPPC",
        "IS",
        "DS",
    } | {"TS", "TA", "TE", "TV", "TI", "SE", "SV", "IE", "PR"} <= set(sdtm.DATASETS)


@pytest.fixture
def full(coordinator, radiologist, pathologist, site_nl):
    data = trial_with_aes(coordinator, site_nl)
    p1 = data["participants"][0]
    t1 = lesion(radiologist, p1, "T1", "liver")
    n1 = lesion(radiologist, p1, "N1", "lymph node", nodal=True)
    nt = lesion(radiologist, p1, "NT1", "bone", role="non_target")
    assess(radiologist, p1, day(0), {t1: 40.0, n1: 20.0, nt: "present"})
    assess(radiologist, p1, day(56), {t1: 20.0, n1: 9.0, nt: "present"})
    biopsy = make_biopsy(pathologist, p1, lesion=t1)
    make_score(
        pathologist, biopsy, "CD8", density_intratumoural=Decimal("250"), percent_positive=Decimal("12.5")
    )
    return data


def test_rows_match_definitions_terms_and_dates(full, sponsor):
    built = sdtm_data.build(sponsor)
    for name, rows in built.items():
        assert sdtm.check_rows(sdtm.DATASETS[name], rows) == [], name
    assert {r["USUBJID"] for r in built["DM"]} == {f"CD8PET-{p.study_id}" for p in full["participants"]}
    ae = {r["AEDECOD"]: r for r in built["AE"]}
    pneu = ae["Pneumonitis"]
    assert (
        pneu["AETOXGR"] == "3" and pneu["AESER"] == "Y" and pneu["AESHOSP"] == "Y" and pneu["AESDTH"] == "N"
    )
    assert len(pneu["AESTDTC"]) == 7 and pneu["AEENDTC"] == "" and pneu["AEENRTPT"] == "ONGOING"
    assert pneu["AESTDY"] is None and pneu["EPOCH"] == ""  # a partial date has no study day
    assert pneu["AESPID"] == f"AE-{full['aes'][1].pk}" and pneu["AELLTCD"] == 10035742
    assert pneu["AEREL"] == "PROBABLY RELATED" and ae["Fatigue"]["AESER"] == "N"
    assert ae["Fatigue"]["AEOUT"] == "RECOVERED/RESOLVED"
    supp = {(r["USUBJID"], r["QNAM"]): r["QVAL"] for r in built["SUPPAE"]}
    subject = pneu["USUBJID"]
    assert (
        supp[(subject, "AERELTRC")] == "UNLIKELY RELATED"
        and supp[(subject, "AERELPD1")] == "PROBABLY RELATED"
    )
    assert supp[(subject, "AEIMMUN")] == "Y" and supp[(subject, "AECTCV")] == "5.0"
    assert supp[(subject, "AECODNT")].startswith("No MedDRA release loaded")
    ex = [r for r in built["EX"] if r["EXTRT"] == sdtm_data.TRACER]
    assert sorted(r["EXDOSE"] for r in ex) == [36.5, 38.0] and {r["EXDOSU"] for r in ex} == {"MBq"}
    assert {r["QVAL"] for r in built["SUPPEX"]} == {"10.000"}
    tu = {r["TULNKID"]: r["TUORRES"] for r in built["TU"]}
    assert tu == {"T1": "TARGET", "N1": "TARGET", "NT1": "NON-TARGET"}
    tr = {(r["TRLNKID"], r["TRDTC"]): (r["TRTESTCD"], r["TRSTRESN"], r["TRORRESU"]) for r in built["TR"]}
    assert tr[("T1", day(56).isoformat())] == ("LDIAM", 20.0, "mm")
    assert tr[("N1", day(0).isoformat())] == ("LPERP", 20.0, "mm")
    assert tr[("NT1", day(0).isoformat())][0] == "TUMSTATE"
    assert tr[("", day(56).isoformat())] == ("SUMDIAM", 29.0, "mm")
    assert {r["TRMETHOD"] for r in built["TR"]} <= {"CT SCAN", "MRI", "PET/CT SCAN"}
    rs = {(r["RSCAT"], r["RSTESTCD"], r["RSDTC"]): r["RSORRES"] for r in built["RS"]}
    assert rs[("RECIST 1.1", "TRGRESP", day(56).isoformat())] == "PR"  # 60 -> 29 mm: -52 %
    assert ("iRECIST", "OVRLRESP", day(56).isoformat()) in rs
    mi = {(r["MITESTCD"], r["MIORRESU"]): r["MISTRESN"] for r in built["MI"]}
    assert mi == {("CD8", "/mm2"): 250.0, ("CD8", "%"): 12.5}
    assert {(r["MIMETHOD"], r["MIEVAL"], r["MIEVALID"]) for r in built["MI"]} == {
        ("IHC", "PATHOLOGIST", "PATHOLOGIST 1")
    }


def test_check_rows_catches_bad_terms_lengths_and_dates():
    good = {
        "STUDYID": "CD8PET",
        "DOMAIN": "AE",
        "USUBJID": "CD8PET-NL01-001",
        "AESEQ": 1,
        "AESPID": "AE-1",
        "AETERM": "Fatigue",
        "AEDECOD": "Fatigue",
        "AELLT": "Fatigue",
        "AELLTCD": 10016256,
        "AEPTCD": None,
        "AEHLT": "",
        "AEHLTCD": None,
        "AEHLGT": "",
        "AEHLGTCD": None,
        "AEBODSYS": "General disorders",
        "AEBDSYCD": None,
        "AESOC": "General disorders",
        "AESOCCD": None,
        "EPOCH": "TREATMENT",
        "AESTDY": None,
        "AEENDY": None,
        "AEENTPT": "DATA COLLECTION",
        "AETOXGR": "2",
        "AESER": "N",
        "AEREL": "NOT RELATED",
        "AEACN": "DOSE NOT CHANGED",
        "AEOUT": "RECOVERED/RESOLVED",
        "AESDTH": "N",
        "AESLIFE": "N",
        "AESHOSP": "N",
        "AESDISAB": "N",
        "AESCONG": "N",
        "AESMIE": "N",
        "AESTDTC": "2026-03",
        "AEENDTC": "",
        "AEENRTPT": "ONGOING",
    }
    assert sdtm.check_rows(sdtm.AE, [good]) == []
    cases = {
        "AETOXGR": "Grade 2",
        "AESER": "Yes",
        "AESTDTC": "03/2026",
        "AESEQ": "1",
        "DOMAIN": "XX",
        "USUBJID": "",
        "AEREL": "x" * 30,
    }
    for column, value in cases.items():
        errors = sdtm.check_rows(sdtm.AE, [{**good, column: value}])
        assert errors and column in errors[0], (column, errors)
    assert "duplicate key" in sdtm.check_rows(sdtm.AE, [good, good])[0]


def test_csv_and_xpt_read_back_with_pyreadstat(full, sponsor, tmp_path):
    built = sdtm_data.build(sponsor)
    for name in ("DM", "AE", "SUPPAE", "EX", "TR", "MI"):
        dataset, rows = sdtm.DATASETS[name], built[name]
        text = sdtm.to_csv(dataset, rows).decode()
        read = list(csv.DictReader(io.StringIO(text)))
        assert list(read[0]) == dataset.columns and len(read) == len(rows)
        path = tmp_path / f"{name.lower()}.xpt"
        sdtm.write_xpt(dataset, rows, path)
        frame, meta = pyreadstat.read_xport(str(path))
        assert list(frame.columns) == dataset.columns
        assert meta.column_labels == [v.label for v in dataset.variables]
        assert meta.table_name == name and len(frame) == len(rows)
        for i, row in enumerate(rows):
            for var in dataset.variables:
                got, want = frame.iloc[i][var.name], row[var.name]
                if var.type == "Num":
                    assert (math.isnan(got) and want in (None, "")) or got == pytest.approx(float(want)), (
                        var.name
                    )
                else:
                    assert got == ("" if want is None else str(want)), (name, var.name)


def test_define_describes_every_variable(sponsor):
    spec = sdtm.define()
    by_name = {d["name"]: d for d in spec["datasets"]}
    ae = {v["name"]: v for v in by_name["AE"]["variables"]}
    assert list(ae["AETOXGR"]["terms"]) == ["1", "2", "3", "4", "5"]
    assert ae["AESTDTC"]["format"] == "ISO 8601" and ae["AESEQ"]["type"] == "Num"
    assert all(v["label"] and v["type"] in ("Char", "Num") for d in spec["datasets"] for v in d["variables"])
    assert spec["standard"] == "SDTMIG 3.4"


def test_zip_section_contains_csv_xpt_and_define(full, sponsor, tmp_path):
    target = tmp_path / "out.zip"
    with zipfile.ZipFile(target, "w") as zf:
        names = sdtm_data.write_datasets_into(zf, sponsor)
    with zipfile.ZipFile(target) as zf:
        assert set(names) <= set(zf.namelist())
        (tmp_path / "ae.xpt").write_bytes(zf.read("sdtm/ae.xpt"))
    frame, _ = pyreadstat.read_xport(str(tmp_path / "ae.xpt"))
    assert sorted(frame["AETOXGR"]) == ["1", "3"]
