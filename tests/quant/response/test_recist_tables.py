"""Eisenhauer 2009 Tables 4 and 5 and Seymour 2017 Table 2, one parametrized case per row.

Each case builds measurements that put every lesion category in the row's state, runs the whole
engine and checks both the category responses and the overall response of the row.
"""

from __future__ import annotations

import pytest

from quant.response.recist import overall_response
from tests.quant.response.recist_helpers import column, new, non_target, run, target, visit

# Baseline: T1 liver 40 mm + LN1 node 20 mm short axis = 60 mm; NT1 bone present.
LESIONS = [target("T1", "liver"), target("LN1", "lymph node", nodal=True), non_target("NT1", "bone")]
BASE = visit(0, {"T1": 40, "LN1": 20}, {"NT1": "present"})
TARGET_STATE = {
    "CR": {"T1": 0, "LN1": 8},  # non-nodal gone, node < 10 mm
    "PR": {"T1": 20, "LN1": 15},  # 35 mm <= 42 mm
    "SD": {"T1": 38, "LN1": 18},  # 56 mm
    "PD": {"T1": 52, "LN1": 20},  # 72 mm = 1.2 x 60, +12 mm
    "NE": {"T1": None, "LN1": 18},
}
NT_STATE = {"CR": "absent", "NON_CR_NON_PD": "present", "NE": "not_assessed", "PD": "unequivocal_progression"}
NEW = [new("X1", "lung", 12)]

TABLE4 = [
    ("row1-CR+CR+no-new=CR", "CR", "CR", False, "CR"),
    ("row2-CR+nonCR/nonPD+no-new=PR", "CR", "NON_CR_NON_PD", False, "PR"),
    ("row3-CR+not-evaluated+no-new=PR", "CR", "NE", False, "PR"),
    ("row4-PR+nonPD+no-new=PR", "PR", "NON_CR_NON_PD", False, "PR"),
    ("row4-PR+not-all-evaluated+no-new=PR", "PR", "NE", False, "PR"),
    ("row5-SD+nonPD+no-new=SD", "SD", "NON_CR_NON_PD", False, "SD"),
    ("row5-SD+not-all-evaluated+no-new=SD", "SD", "NE", False, "SD"),
    ("row6-not-all-evaluated+nonPD+no-new=NE", "NE", "NON_CR_NON_PD", False, "NE"),
    ("row7-PD+any+no-new=PD", "PD", "NON_CR_NON_PD", False, "PD"),
    ("row7-PD+any+new=PD", "PD", "CR", True, "PD"),
    ("row8-any+PD+no-new=PD", "PR", "PD", False, "PD"),
    ("row8-any+PD+new=PD", "SD", "PD", True, "PD"),
    ("row9-any+any+new=PD", "CR", "CR", True, "PD"),
]


@pytest.mark.parametrize(
    ("tgt", "nt", "has_new", "expected"), [row[1:] for row in TABLE4], ids=[row[0] for row in TABLE4]
)
def test_eisenhauer_table4(tgt: str, nt: str, has_new: bool, expected: str) -> None:
    follow = visit(56, TARGET_STATE[tgt], {"NT1": NT_STATE[nt]}, NEW if has_new else ())
    tp = run(LESIONS, [BASE, follow]).timepoints[1]
    assert (tp.target_response, tp.non_target_response, tp.new_lesion_present) == (tgt, nt, has_new)
    assert tp.recist == expected
    assert overall_response(tgt, nt, has_new)[0] == expected


NT_ONLY = [non_target("NT1", "bone"), non_target("LN1", "lymph node", nodal=True)]
NT_ONLY_BASE = visit(0, {}, {"NT1": "present", "LN1": "present"})
TABLE5 = [
    ("row1-CR+no-new=CR", {"NT1": "absent", "LN1": "absent"}, False, "CR", "iCR"),
    (
        "row2-nonCR/nonPD+no-new=NON_CR_NON_PD",
        {"NT1": "present", "LN1": "absent"},
        False,
        "NON_CR_NON_PD",
        "NON_iCR_NON_iUPD",
    ),
    ("row3-not-all-evaluated+no-new=NE", {"NT1": "not_assessed", "LN1": "present"}, False, "NE", "iNE"),
    (
        "row4-unequivocal-PD+no-new=PD",
        {"NT1": "unequivocal_progression", "LN1": "present"},
        False,
        "PD",
        "iUPD",
    ),
    ("row4-unequivocal-PD+new=PD", {"NT1": "unequivocal_progression", "LN1": "absent"}, True, "PD", "iUPD"),
    ("row5-any+new=PD", {"NT1": "absent", "LN1": "absent"}, True, "PD", "iUPD"),
]


@pytest.mark.parametrize(
    ("nt", "has_new", "expected", "expected_i"), [row[1:] for row in TABLE5], ids=[row[0] for row in TABLE5]
)
def test_eisenhauer_table5(nt: dict[str, str], has_new: bool, expected: str, expected_i: str) -> None:
    follow = visit(56, {}, nt, NEW if has_new else ())
    tp = run(NT_ONLY, [NT_ONLY_BASE, follow]).timepoints[1]
    assert tp.target_response is None
    assert tp.recist == expected
    assert tp.irecist == expected_i
    assert tp.reasons["recist"].code.startswith("t5_")


# Seymour 2017 Table 2. Baseline: T1 liver 30 + T2 lung 20 = 50 mm, NT1 present.
I_LESIONS = [target("T1", "liver"), target("T2", "lung"), non_target("NT1", "peritoneum")]
I_BASE = visit(0, {"T1": 30, "T2": 20}, {"NT1": "present"})
T_ICR, T_IPR, T_ISD = {"T1": 0, "T2": 0}, {"T1": 20, "T2": 10}, {"T1": 25, "T2": 20}
T_IUPD = {"T1": 40, "T2": 25}  # 65 mm >= 1.2 x 50 and +15 mm
NT_PRESENT, NT_ABSENT, NT_UP = {"NT1": "present"}, {"NT1": "absent"}, {"NT1": "unequivocal_progression"}
N1 = [new("N1", "lung", 12)]  # measurable: new-lesion target

NO_PRIOR = [
    ("row1-iCR+iCR+no-new=iCR", visit(42, T_ICR, NT_ABSENT), "iCR"),
    ("row2-iCR+nonCR/nonUPD+no-new=iPR", visit(42, T_ICR, NT_PRESENT), "iPR"),
    ("row3-iPR+nonCR/nonUPD+no-new=iPR", visit(42, T_IPR, NT_PRESENT), "iPR"),
    ("row4-iSD+nonCR/nonUPD+no-new=iSD", visit(42, T_ISD, NT_PRESENT), "iSD"),
    ("row6-iSD+iUPD+no-new=iUPD", visit(42, T_ISD, NT_UP), "iUPD"),
    ("row7-iUPD+nonCR/nonUPD+no-new=iUPD", visit(42, T_IUPD, NT_PRESENT), "iUPD"),
    ("row8-iUPD+iUPD+no-new=iUPD", visit(42, T_IUPD, NT_UP), "iUPD"),
    ("row9-iUPD+iUPD+new=iUPD", visit(42, T_IUPD, NT_UP, N1), "iUPD"),
    ("row10-nonUPD+nonUPD+new=iUPD", visit(42, T_ISD, NT_PRESENT, N1), "iUPD"),
]


@pytest.mark.parametrize(("follow", "expected"), [r[1:] for r in NO_PRIOR], ids=[r[0] for r in NO_PRIOR])
def test_seymour_table2_no_previous_iupd(follow, expected: str) -> None:
    assert column(run(I_LESIONS, [I_BASE, follow]), "irecist") == [expected]


def _prior(first, second) -> list[str | None]:
    """iRECIST responses for an iUPD visit on day 42 followed by the visit of the row on day 84."""
    return column(run(I_LESIONS, [I_BASE, first, second]), "irecist")


UPD_TARGET = visit(42, T_IUPD, NT_PRESENT)
UPD_NT = visit(42, T_ISD, NT_UP)
UPD_BOTH = visit(42, T_IUPD, NT_UP)
UPD_ALL = visit(42, T_IUPD, NT_UP, N1)
UPD_NEW = visit(42, T_ISD, NT_PRESENT, N1)
N1_17, N1_N2 = [new("N1", "lung", 17)], [new("N1", "lung", 12), new("N2", "bone", None)]
PLUS5 = {"T1": 45, "T2": 25}  # 70 mm: +5 mm over the iUPD sum
PLUS49 = {"T1": 44.9, "T2": 25}  # 69.9 mm: +4.9 mm

PRIOR = [
    ("row1-iCR+iCR+no-new=iCR(reset)", UPD_TARGET, visit(84, T_ICR, NT_ABSENT), "iCR"),
    ("row2-iCR+nonCR/nonUPD+no-new=iPR(reset)", UPD_TARGET, visit(84, T_ICR, NT_PRESENT), "iPR"),
    ("row3-iPR+nonCR/nonUPD+no-new=iPR(reset)", UPD_TARGET, visit(84, T_IPR, NT_PRESENT), "iPR"),
    ("row4-iSD+nonCR/nonUPD+no-new=iSD(reset)", UPD_TARGET, visit(84, T_ISD, NT_PRESENT), "iSD"),
    ("row5-UPD-no-change+new-unchanged=iUPD", UPD_ALL, visit(84, T_IUPD, NT_PRESENT, N1), "iUPD"),
    ("row5-new-lesion-target-grew-5mm=iCPD", UPD_ALL, visit(84, T_IUPD, NT_PRESENT, N1_17), "iCPD"),
    ("row5-new-lesion-number-grew=iCPD", UPD_ALL, visit(84, T_IUPD, NT_PRESENT, N1_N2), "iCPD"),
    (
        "row5-new-lesion-non-target-grew=iCPD",
        visit(42, T_IUPD, NT_PRESENT, [new("N9", "mediastinum", 12, True)]),
        visit(84, T_IUPD, NT_PRESENT, [new("N9", "mediastinum", 13, True)]),
        "iCPD",
    ),
    ("row6-iSD+iUPD-no-further-increase=iUPD", UPD_NT, visit(84, T_ISD, NT_PRESENT), "iUPD"),
    ("row6-iPR+iUPD-no-further-increase=iUPD", UPD_NT, visit(84, T_IPR, NT_PRESENT), "iUPD"),
    ("row6-iSD+iUPD-further-increase=iCPD", UPD_NT, visit(84, T_ISD, NT_UP), "iCPD"),
    ("row7-iUPD+nonUPD-plus-4.9mm=iUPD", UPD_TARGET, visit(84, PLUS49, NT_PRESENT), "iUPD"),
    ("row7-iUPD+nonUPD-plus-5mm=iCPD", UPD_TARGET, visit(84, PLUS5, NT_PRESENT), "iCPD"),
    ("row8-iUPD+iUPD-no-change=iUPD", UPD_BOTH, visit(84, T_IUPD, NT_PRESENT), "iUPD"),
    ("row8-target-plus-5mm=iCPD", UPD_BOTH, visit(84, PLUS5, NT_PRESENT), "iCPD"),
    ("row8-non-target-increase=iCPD", UPD_BOTH, visit(84, T_IUPD, NT_UP), "iCPD"),
    ("row9-iUPD+iUPD+new-no-change=iUPD", UPD_ALL, visit(84, T_IUPD, NT_PRESENT, N1), "iUPD"),
    ("row9-target-plus-5mm=iCPD", UPD_ALL, visit(84, PLUS5, NT_PRESENT, N1), "iCPD"),
    ("row9-non-target-increase=iCPD", UPD_ALL, visit(84, T_IUPD, NT_UP, N1), "iCPD"),
    ("row9-new-lesion-grew=iCPD", UPD_ALL, visit(84, T_IUPD, NT_PRESENT, N1_17), "iCPD"),
    ("row10-nonUPD+nonUPD+new-unchanged=iUPD", UPD_NEW, visit(84, T_ISD, NT_PRESENT, N1), "iUPD"),
    ("row10-new-lesion-grew=iCPD", UPD_NEW, visit(84, T_ISD, NT_PRESENT, N1_17), "iCPD"),
    ("row10-another-new-lesion=iCPD", UPD_NEW, visit(84, T_ISD, NT_PRESENT, N1_N2), "iCPD"),
]


@pytest.mark.parametrize(("first", "second", "expected"), [r[1:] for r in PRIOR], ids=[r[0] for r in PRIOR])
def test_seymour_table2_previous_iupd(first, second, expected: str) -> None:
    assert _prior(first, second) == ["iUPD", expected]
