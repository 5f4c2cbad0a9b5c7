"""De-identification against the whole of PS3.15 Table E.1-1 and against dciodvfy on real files.

The table (tests/data/dicom_standard, innolitics/dicom-standard rev 2024b, 621 rows) is read here
independently of the implementation: every row's attribute is planted (with a nested copy inside a
sequence) and the de-identified value must show the row's action under the declared options (Retain
Longitudinal Temporal Information Full Dates, Retain Patient Characteristics, Retain Safe Private, Clean
Descriptors): K kept, X removed, Z empty, D dummy, C cleaned, U remapped. dciodvfy (dicom3tools) must
report no error on the de-identified real files that it did not report on the originals.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from quant.dicom import deid_table
from quant.dicom.deid import DeidRefused, deidentify, deidentify_file

DATA = Path(__file__).resolve().parents[2] / "data"
TABLE = DATA / "dicom_standard" / "confidentiality_profile_attributes.json"
REAL = DATA / "real_dicom"
SECRET = b"table-test"
DECLARED = ("rtnLongFullDatesOpt", "rtnPatCharsOpt", "rtnSafePrivOpt", "cleanDescOpt")
SECRET_TEXT = "Smith John 4711"
SAMPLES = {
    "AE": "SMITHAE", "AS": "045Y", "CS": "SMITH", "DA": "20200101", "DS": "12.5", "DT": "20200101120000",
    "FL": 1.5, "FD": 1.5, "IS": "7", "LO": SECRET_TEXT, "LT": SECRET_TEXT, "SH": "Smith 4711",
    "ST": SECRET_TEXT, "UT": SECRET_TEXT, "UC": SECRET_TEXT, "PN": "Smith^John", "TM": "120000",
    "UR": "http://example.org/smith", "US": 7, "SS": 7, "UL": 7, "SL": 7, "OB": b"SMITH4711",
    "OW": b"SMITH4711\x00", "UN": b"SMITH4711\x00",
}  # fmt: skip
SPECIAL = {"(0010,0010)", "(0010,0020)"}  # PatientName/PatientID become the study id


def expected(row: dict) -> str:
    """The row's action under the declared options: K over C from an option column, else the basic code."""
    codes = [row[c] for c in DECLARED if c in row]
    if "K" in codes:
        return "K"
    if "C" in codes:
        return "C"
    return {"X/Z": "Z", "X/D": "D", "X/Z/D": "D", "Z/D": "D", "X/Z/U*": "U"}.get(
        row["basicProfile"], row["basicProfile"]
    )


def _tag(row: dict) -> int | None:
    match = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", row["tag"])
    return int(match.group(1) + match.group(2), 16) if match else None


def _sample(tag: int, n: int):
    vr = dictionary_VR(tag).split(" or ")[0]
    if vr == "UI":
        return vr, f"1.2.826.0.1.3680043.2.1125.99.{n}"
    if vr == "SQ":
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "T-1", "99X", SECRET_TEXT
        item.ReferencedSOPInstanceUID = f"1.2.826.0.1.3680043.2.1125.98.{n}"
        return vr, Sequence([item])
    return vr, SAMPLES[vr]


def _value(elem):
    return None if elem is None else elem.value


def test_the_implementation_reads_the_same_table():
    packaged = deid_table.TABLE_PATH.read_bytes()
    assert hashlib.sha256(packaged).hexdigest() == hashlib.sha256(TABLE.read_bytes()).hexdigest()
    assert len(deid_table.rows()) == 621


def test_every_row_of_table_e1_1_is_handled():
    rows = json.loads(TABLE.read_text())
    assert len(rows) == 621
    ds, planted = Dataset(), {}
    for n, row in enumerate(rows):
        tag = _tag(row)
        if tag is None:
            continue
        vr, value = _sample(tag, n)
        ds.add_new(tag, vr, value)
        planted[row["tag"]] = (tag, vr, value)
    ds.add_new(0x50000010, "US", 3)  # curve data group
    ds.add_new(0x60003000, "OW", b"\x01\x00")  # overlay data
    ds.add_new(0x60004000, "LT", SECRET_TEXT)  # overlay comments
    ds.add_new(0x00190010, "LO", "SIEMENS SMITH")  # unsafe private
    ds.add_new(0x00191001, "LO", SECRET_TEXT)
    block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
    block.add_new(0x09, "DS", "2.5")  # safe private (SUV activity factor)
    nested = Dataset()
    for key in ("PatientName", "StudyDate", "InstitutionName", "ROIName"):
        setattr(nested, key, ds[key].value)
    ds.add_new(0x00081250, "SQ", Sequence([nested]))  # a sequence not in the table: rules apply inside
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian

    out = deidentify(ds, "CD8-NL01-007", "p7", SECRET)

    seen: Counter = Counter()
    for row in rows:
        tag = _tag(row)
        action = expected(row)
        if tag is None:
            seen[f"special {action}"] += 1
            continue
        _tag_int, vr, original = planted[row["tag"]]
        elem = out.get(tag)
        if row["tag"] in SPECIAL:
            assert elem.value == "CD8-NL01-007"
        elif action == "K":
            assert _value(elem) == original, row["name"]
        elif action == "X":
            assert elem is None, row["name"]
        elif action == "Z":
            assert elem is not None and elem.VM == 0 or (vr == "SQ" and len(elem.value) == 0), row["name"]
        elif action == "D":
            assert elem is not None and elem.value not in ("", b"", None), row["name"]
            assert (vr == "SQ" and "Smith" not in str(elem.value)) or elem.value != original, row["name"]
        elif action == "U":
            assert str(elem.value if vr != "SQ" else elem.value[0].ReferencedSOPInstanceUID).startswith(
                "2.25."
            )
        elif action == "C":
            if vr in ("OB", "OW", "UN"):
                assert elem is None, row["name"]
            elif vr == "CS":
                assert elem.value == original, row["name"]  # defined terms
            elif vr == "SQ":
                assert elem.value[0].CodeValue == "T-1" and elem.value[0].CodeMeaning == "CLEANED", row[
                    "name"
                ]
            else:
                assert elem.value == deid_table.clean_text(original) and "Smith" not in str(elem.value), row[
                    "name"
                ]
        else:
            pytest.fail(f"unhandled action {action} for {row['name']}")
        seen[action] += 1
    assert sum(seen.values()) == 621
    assert seen == Counter(
        {"X": 191, "K": 174, "C": 127, "U": 56, "D": 40, "Z": 29, "special X": 3, "special C": 1}
    ) - Counter({"X": 0})
    assert not any(e.tag.group & 0xFF00 in (0x5000, 0x6000) for e in out)
    assert (
        0x00191001 not in out and out.private_block(0x7053, "Philips PET Private Group")[0x09].value == "2.5"
    )
    inner = out[0x00081250].value[0]
    assert inner.PatientName == "" and inner.InstitutionName == "ANONYMOUS" and inner.StudyDate == "20200101"
    assert out.PatientIdentityRemoved == "YES" and out.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == [
        "113100", "113106", "113108", "113111", "113105",
    ]  # fmt: skip
    # free text of attributes outside the table (CodeMeaning inside kept sequences) is not the table's
    kept = {_tag(r) for r in rows if expected(r) == "K"}
    top_level = [e for e in out if e.VR != "SQ" and int(e.tag) not in kept]
    assert not any("Smith" in str(e.value) for e in top_level)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"BurnedInAnnotation": "YES"}, "BurnedInAnnotation is YES"),
        ({"ImageType": ["DERIVED", "SECONDARY", "SCREEN SHOT"]}, "screen capture"),
        ({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7"}, "secondary or screen capture"),
    ],
)
def test_burned_in_annotation_rules(changes, message):
    ds = pydicom.dcmread(REAL / "dcm_qa_ts" / "1.dcm")
    for key, value in changes.items():
        setattr(ds, key, value)
    with pytest.raises(DeidRefused, match=message):
        deidentify(ds, "S", "p", SECRET)
    ds.BurnedInAnnotation = "NO" if "BurnedInAnnotation" not in changes else "YES"
    if changes.get("BurnedInAnnotation") != "YES":
        assert deidentify(ds, "S", "p", SECRET).BurnedInAnnotation == "NO"  # declared clean: accepted


REAL_FILES = [  # MR, CT, RTSTRUCT, SEG (on CT and on PET), Enhanced MR
    "dcm_qa_ts/1.dcm", "dicompyler/ct.0.dcm", "dicompyler/rtss.dcm", "dcmqi/ct-3slice/01.dcm",
    "dcmqi/liver.dcm", "dcmqi/partial_overlaps.dcm", "dcmqi/sr-example/seg.dcm", "dcm_qa_enh/Siemens_XA10/6_1.dcm",
]  # fmt: skip


def _dciodvfy_errors(path: Path) -> list[str]:
    assert shutil.which("dciodvfy"), "dciodvfy (Debian dicom3tools) is required"
    proc = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]


@pytest.fixture(scope="module")
def deidentified(tmp_path_factory) -> dict[str, Path]:
    out_dir = tmp_path_factory.mktemp("deid")
    out = {}
    for name in REAL_FILES:
        out[name] = out_dir / name.replace("/", "_")
        deidentify_file(str(REAL / name), str(out[name]), "CD8-NL01-007", "p7", SECRET)
    return out


def test_dciodvfy_reports_no_error_introduced_by_deidentification(deidentified, tmp_path):
    with ThreadPoolExecutor(max_workers=4) as pool:  # dciodvfy runs are independent processes
        before = dict(zip(REAL_FILES, pool.map(_dciodvfy_errors, [REAL / n for n in REAL_FILES])))
        after = dict(zip(REAL_FILES, pool.map(_dciodvfy_errors, [deidentified[n] for n in REAL_FILES])))
    for name in REAL_FILES:
        assert [e for e in after[name] if e not in before[name]] == [], name
    counts = {name: (len(before[name]), len(after[name])) for name in REAL_FILES}
    assert counts["dicompyler/rtss.dcm"] == (3, 3) and counts["dcm_qa_enh/Siemens_XA10/6_1.dcm"] == (2, 2)
    assert sum(b for b, _a in counts.values()) == sum(a for _b, a in counts.values()) == 9
    # the checker is sensitive: dropping the Type 1 DeviceSerialNumber (the former behaviour) is an error
    broken = pydicom.dcmread(deidentified["dcmqi/liver.dcm"])
    del broken.DeviceSerialNumber
    broken.save_as(tmp_path / "broken.dcm")
    errors = _dciodvfy_errors(tmp_path / "broken.dcm")
    assert any("Type 1 Required Element=<DeviceSerialNumber>" in e for e in errors)


def test_identifying_values_of_the_real_files_are_gone(deidentified):
    needles = {
        "dcm_qa_ts/1.dcm": [b"19800707", b"USC", b"35131"],
        "dcm_qa_enh/Siemens_XA10/6_1.dcm": [b"19931022", b"Luci", b"University of Texas", b"175689"],
        "dcmqi/sr-example/seg.dcm": [b"UIowa"],  # ClinicalTrialCoordinatingCenterName
    }
    for name, values in needles.items():
        original = (REAL / name).read_bytes()
        assert all(v in original for v in values), name
        data = deidentified[name].read_bytes()
        assert [v for v in values if v in data] == [], name
    ds = pydicom.dcmread(deidentified["dicompyler/rtss.dcm"])
    assert {str(r.ROIInterpreter) for r in ds.RTROIObservationsSequence} == {""}
    assert [str(r.ROIName) for r in ds.StructureSetROISequence][:4] == ["BODY", "Areola", "Borders", "Breast"]
    enhanced = pydicom.dcmread(deidentified["dcm_qa_enh/Siemens_XA10/6_1.dcm"])
    assert enhanced.DeviceSerialNumber == "ANONYMOUS" and enhanced.PatientIdentityRemoved == "YES"
