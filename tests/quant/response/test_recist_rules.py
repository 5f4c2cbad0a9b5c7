"""Edge cases of RECIST 1.1 (Eisenhauer 2009) and iRECIST (Seymour 2017) at their thresholds."""

from __future__ import annotations

import pytest

from quant.response.recist import Lesion, RecistInputError, validate_baseline_selection
from tests.quant.response.recist_helpers import column, new, non_target, run, target, visit

ONE = [target("T1", "liver"), non_target("NT1", "bone")]
P = {"NT1": "present"}


def one(*sums: float, nt: str = "present") -> list[str | None]:
    """RECIST responses for a single 100-mm-at-baseline target measured at day 42, 84, ..."""
    visits = [visit(0, {"T1": 100}, P)] + [
        visit(42 * (i + 1), {"T1": s}, {"NT1": nt}) for i, s in enumerate(sums)
    ]
    return column(run(ONE, visits), "recist")


# ------------------------------------------------------------------ target thresholds


def test_exactly_30_percent_decrease_is_pr_and_29_9_is_sd() -> None:
    assert one(70) == ["PR"]
    assert one(70.1) == ["SD"]


def test_thirty_percent_of_a_non_round_baseline_is_pr() -> None:
    les = [target("T1", "liver"), target("T2", "lung")]
    ev = run(les, [visit(0, {"T1": 23.1, "T2": 10.2}), visit(42, {"T1": 13.1, "T2": 10.21})])
    assert ev.timepoints[1].recist == "PR"  # 23.31 mm = 0.7 x 33.3 mm (floating point noise)


def test_pd_needs_20_percent_and_5_mm_over_the_nadir() -> None:
    small = [target("T1", "liver")]
    base = visit(0, {"T1": 20})
    assert column(run(small, [base, visit(42, {"T1": 24.9})]), "recist") == ["SD"]  # +24.5 %, +4.9 mm
    assert column(run(small, [base, visit(42, {"T1": 25})]), "recist") == ["PD"]  # +25 %, +5 mm
    assert one(119.9) == ["SD"]  # +19.9 mm but 19.9 %
    assert one(120) == ["PD"]


def test_nadir_after_a_response_is_the_reference_for_pd() -> None:
    assert one(60, 71.9) == ["PR", "SD"]  # +11.9 mm = 19.8 % over the nadir; -28.1 % vs baseline
    assert one(60, 72) == ["PR", "PD"]  # +20 % over the nadir although still -28 % vs baseline
    assert one(60, 50, 60) == ["PR", "PR", "PD"]  # the nadir moved to 50 mm


def test_nodes_under_10_mm_count_as_complete_response() -> None:
    les = [target("T1", "liver"), target("LN1", "lymph node", nodal=True)]
    base = visit(0, {"T1": 20, "LN1": 20})
    ev = run(les, [base, visit(42, {"T1": 0, "LN1": 9.9})])
    assert (ev.timepoints[1].recist, ev.timepoints[1].sum_mm) == ("CR", 9.9)
    assert column(run(les, [base, visit(42, {"T1": 0, "LN1": 10})]), "recist") == ["PR"]
    assert column(run(les, [base, visit(42, {"T1": 5, "LN1": 5})]), "recist") == ["PR"]  # 5 mm: too small


def test_not_assessed_target_gives_ne_unless_the_others_already_show_pd() -> None:
    les = [target("T1", "liver"), target("T2", "lung")]
    base = visit(0, {"T1": 30, "T2": 20})
    ne = run(les, [base, visit(42, {"T1": 10, "T2": None})]).timepoints[1]
    assert (ne.target_response, ne.recist, ne.sum_mm) == ("NE", "NE", None)
    pd = run(les, [base, visit(42, {"T1": 60, "T2": None})]).timepoints[1]
    assert (pd.recist, pd.reasons["target"].code) == ("PD", "target_pd_partial")
    with_new = run(les, [base, visit(42, {"T1": 10, "T2": None}, {}, [new("X", "bone", None)])])
    assert with_new.timepoints[1].recist == "PD"


def test_unassessed_visit_does_not_move_the_nadir() -> None:
    les = [target("T1", "liver"), target("T2", "lung")]
    visits = [
        visit(0, {"T1": 30, "T2": 20}),
        visit(42, {"T1": 5, "T2": None}),
        visit(84, {"T1": 30, "T2": 18}),
    ]
    assert column(run(les, visits), "recist") == ["NE", "SD"]


def test_non_target_not_assessed_keeps_target_sd() -> None:
    assert one(90, nt="not_assessed") == ["SD"]


# ------------------------------------------------------------------ best overall response


def test_pr_confirmation_at_28_days_but_not_27() -> None:
    base = visit(0, {"T1": 100}, P)
    ok = run(ONE, [base, visit(42, {"T1": 60}, P), visit(70, {"T1": 60}, P)])
    short = run(ONE, [base, visit(42, {"T1": 60}, P), visit(69, {"T1": 60}, P)])
    assert ok.best_recist == "PR" and ok.best_irecist == "iPR"
    assert short.best_recist == "SD" and short.best_reasons["recist"].code == "bor_sd_minimum_met"


def test_cr_confirmation_at_28_days_but_not_27() -> None:
    base = visit(0, {"T1": 100}, {"NT1": "present"})
    gone = {"NT1": "absent"}
    ok = run(ONE, [base, visit(42, {"T1": 0}, gone), visit(70, {"T1": 0}, gone)])
    short = run(
        ONE, [base, visit(42, {"T1": 0}, gone), visit(69, {"T1": 0}, gone), visit(120, {"T1": 50}, P)]
    )
    assert ok.best_recist == "CR" and ok.best_reasons["recist"].code == "bor_cr_confirmed"
    # CR twice 27 days apart, then PD (5 mm over a 0-mm nadir): unconfirmed, SD minimum met (Table 3)
    assert column(short, "recist") == ["CR", "CR", "PD"]
    assert short.best_recist == "SD"


def test_confirmation_setting_is_honoured() -> None:
    visits = [visit(0, {"T1": 100}, P), visit(42, {"T1": 60}, P), visit(63, {"T1": 60}, P)]
    assert run(ONE, visits, confirmation_days=21).best_recist == "PR"
    assert run(ONE, visits).best_recist == "SD"


def test_sd_needs_the_minimum_time_from_baseline() -> None:
    base = visit(0, {"T1": 100}, P)
    assert run(ONE, [base, visit(42, {"T1": 95}, P)]).best_recist == "SD"
    early = run(ONE, [base, visit(41, {"T1": 95}, P)])
    assert (early.best_recist, early.best_reasons["recist"].code) == ("NE", "bor_sd_too_early")
    then_pd = run(ONE, [base, visit(41, {"T1": 95}, P), visit(80, {"T1": 130}, P)])
    assert then_pd.best_recist == "PD"
    assert run(ONE, [base, visit(30, {"T1": 95}, P)], sd_minimum_days=28).best_recist == "SD"


def test_pr_then_sd_is_sd_and_nothing_after_pd_counts() -> None:
    base = visit(0, {"T1": 100}, P)
    assert run(ONE, [base, visit(42, {"T1": 60}, P), visit(84, {"T1": 75}, P)]).best_recist == "SD"
    late = run(ONE, [base, visit(20, {"T1": 130}, P), visit(84, {"T1": 60}, P), visit(126, {"T1": 60}, P)])
    assert late.best_recist == "PD"  # the later PRs come after progression
    assert late.best_irecist == "iPR"  # iRECIST: iUPD reset, then a confirmed iPR (Seymour Table 3)


def test_no_follow_up_is_ne() -> None:
    ev = run(ONE, [visit(0, {"T1": 100}, P)])
    assert (ev.best_recist, ev.best_irecist) == ("NE", "iNE")
    assert ev.timepoints[0].recist is None and ev.timepoints[0].irecist is None


# ------------------------------------------------------------------ iRECIST


def irecist(*sums: float, new_at: dict[int, list] | None = None) -> list[str | None]:
    """iRECIST responses of a 50-mm single target at day 42, 84, ... (new lesions by visit index)."""
    les = [target("T1", "liver")]
    visits = [visit(0, {"T1": 50})]
    for i, s in enumerate(sums):
        visits.append(visit(42 * (i + 1), {"T1": s}, {}, (new_at or {}).get(i, ())))
    return column(run(les, visits), "irecist")


def test_icpd_needs_5_mm_more_than_the_iupd_sum() -> None:
    assert irecist(60, 64.9) == ["iUPD", "iUPD"]
    assert irecist(60, 65) == ["iUPD", "iCPD"]


def test_icpd_increase_is_cumulative_from_the_iupd() -> None:
    assert irecist(60, 63, 65) == ["iUPD", "iUPD", "iCPD"]


def test_reset_after_isd_makes_a_later_pd_a_new_iupd() -> None:
    les = [target("T1", "liver")]
    days = [0, 42, 84, 126, 168]
    sums = [50, 60, 52, 63, 68]
    ev = run(les, [visit(d, {"T1": s}) for d, s in zip(days, sums)])
    assert column(ev, "irecist") == ["iUPD", "iSD", "iUPD", "iCPD"]
    assert ev.timepoints[2].reasons["irecist"].code.startswith("reset_")
    assert ev.progression_date["irecist"].isoformat() == "2025-05-07"  # the second iUPD (day 126)
    assert ev.best_irecist == "iSD"
    assert (ev.best_recist, ev.progression_date["recist"].isoformat()) == ("PD", "2025-02-12")


def test_unconfirmed_iupd_then_not_evaluable_keeps_iupd() -> None:
    les = [target("T1", "liver"), target("T2", "lung")]
    visits = [
        visit(0, {"T1": 30, "T2": 20}),
        visit(20, {"T1": 40, "T2": 25}),
        visit(60, {"T1": 30, "T2": None}),
    ]
    ev = run(les, visits)
    assert column(ev, "irecist") == ["iUPD", "iNE"]
    assert (ev.best_irecist, ev.best_reasons["irecist"].code) == ("iUPD", "bor_iupd_unconfirmed")
    assert ev.progression_date["irecist"] is None


def test_at_most_5_new_lesion_targets_and_2_per_organ() -> None:
    seven = [
        new(f"N{i}", organ, 10)
        for i, organ in enumerate(["lung", "lung", "lung", "bone", "brain", "skin", "adrenal"])
    ]
    assert [r for r in irecist(45, new_at={0: seven})] == ["iUPD"]
    les = [target("T1", "liver")]
    ev = run(les, [visit(0, {"T1": 50}), visit(42, {"T1": 45}, {}, seven)])
    # N0, N1 (lung, 2 per organ), N3, N4, N5 are targets: 5 x 10 mm; N2 (third lung) and N6 (sixth) are not
    assert ev.timepoints[1].new_lesion_target_sum_mm == 50


def test_new_lesion_measurability_decides_target_or_non_target() -> None:
    les = [target("T1", "liver")]
    first = [
        new("A", "lung", 9.9),
        new("B", "node", 14.9, nodal=True),
        new("C", "node", 15, nodal=True),
        new("D", "bone", 10),
    ]
    ev = run(les, [visit(0, {"T1": 50}), visit(42, {"T1": 45}, {}, first)])
    assert ev.timepoints[1].new_lesion_target_sum_mm == 25  # C (15 mm node) + D (10 mm)


def test_new_lesion_target_grows_by_5_mm_vs_non_target_by_any_amount() -> None:
    nlt = {0: [new("A", "lung", 12)], 1: [new("A", "lung", 16.9)]}
    assert irecist(45, 45, new_at=nlt) == ["iUPD", "iUPD"]
    nlt[1] = [new("A", "lung", 17)]
    assert irecist(45, 45, new_at=nlt) == ["iUPD", "iCPD"]
    nlnt = {0: [new("B", "lung", 8)], 1: [new("B", "lung", 8.5)]}
    assert irecist(45, 45, new_at=nlnt) == ["iUPD", "iCPD"]


def test_normal_new_node_is_not_a_new_lesion() -> None:
    les = [target("T1", "liver")]
    ev = run(les, [visit(0, {"T1": 50}), visit(42, {"T1": 45}, {}, [new("LNX", "node", 9, nodal=True)])])
    assert (ev.timepoints[1].recist, ev.timepoints[1].irecist) == ("SD", "iSD")


def test_new_lesion_with_further_target_shrinkage_allows_ipr() -> None:
    """EORTC iRECIST FAQ scenario B (shrinkage after the new lesion) versus scenario F (no change)."""
    n1 = [new("N1", "lung", 12)]
    assert irecist(40, 30, new_at={0: n1, 1: n1}) == ["iUPD", "iPR"]
    assert irecist(35, 35, new_at={0: n1, 1: n1}) == ["iUPD", "iUPD"]


def test_known_new_lesion_growing_to_pd_after_a_reset_is_a_new_iupd() -> None:
    n = {0: [new("N1", "lung", 20)], 1: [new("N1", "lung", 20)], 2: [new("N1", "lung", 26)]}
    assert irecist(40, 30, 30, new_at=n) == ["iUPD", "iPR", "iUPD"]


def test_every_response_carries_a_reason() -> None:
    ev = run(ONE, [visit(0, {"T1": 100}, P), visit(42, {"T1": 60}, P), visit(84, {"T1": 130}, P)])
    for tp in ev.timepoints[1:]:
        for key in ("target", "non_target", "new_lesions", "recist", "irecist"):
            assert tp.reasons[key].code and tp.reasons[key].text
    assert "20 %" in ev.timepoints[2].reasons["target"].text


# ------------------------------------------------------------------ baseline selection


def _targets(n: int, organs: list[str] | None = None) -> list[Lesion]:
    organs = organs or [f"organ{i}" for i in range(n)]
    return [target(f"T{i + 1}", organs[i]) for i in range(n)]


def _rules(lesions: list[Lesion], mm: dict[str, float | None]) -> list[str]:
    return [issue.rule for issue in validate_baseline_selection(lesions, mm)]


def test_five_targets_pass_and_six_fail_naming_the_extra() -> None:
    five, six = _targets(5), _targets(6)
    assert _rules(five, {les.id: 20 for les in five}) == []
    issues = validate_baseline_selection(six, {les.id: 20 for les in six})
    assert [i.rule for i in issues] == ["max_5_targets"]
    assert issues[0].lesion_ids == ("T6",) and "T6" in issues[0].message and "at most 5" in issues[0].message


def test_two_targets_per_organ_pass_and_three_fail() -> None:
    two = _targets(3, ["liver", "liver", "lung"])
    three = _targets(3, ["liver", "liver", "liver"])
    assert _rules(two, {les.id: 20 for les in two}) == []
    issues = validate_baseline_selection(three, {les.id: 20 for les in three})
    assert [i.rule for i in issues] == ["max_2_per_organ"]
    assert "liver" in issues[0].message and "T3" in issues[0].message


@pytest.mark.parametrize(
    ("nodal", "mm", "rule"),
    [
        (False, 9.9, "not_measurable"),
        (False, 10, None),
        (True, 14.9, "node_non_target_only"),
        (True, 15, None),
        (True, 9.9, "node_normal"),
        (True, 10, "node_non_target_only"),
        (False, None, "target_unmeasured"),
    ],
    ids=["lesion-9.9mm", "lesion-10mm", "node-14.9mm", "node-15mm", "node-9.9mm", "node-10mm", "unmeasured"],
)
def test_target_measurability_thresholds(nodal: bool, mm: float | None, rule: str | None) -> None:
    les = [Lesion("X1", "target", "site", nodal)]
    issues = validate_baseline_selection(les, {"X1": mm})
    assert [i.rule for i in issues] == ([rule] if rule else [])
    assert all("X1" in i.message for i in issues)


def test_non_target_nodes_10_to_15_mm_are_fine_but_under_10_are_normal() -> None:
    les = [non_target("N1", "node", nodal=True)]
    assert _rules(les, {"N1": 12}) == []
    assert _rules(les, {"N1": 9.9}) == ["node_normal"]


def test_engine_refuses_an_invalid_baseline_with_all_messages_on_one_line() -> None:
    les = _targets(6, ["liver"] * 6)
    with pytest.raises(RecistInputError) as err:
        run(les, [visit(0, {les_.id: 20 for les_ in les})])
    text = str(err.value)
    assert "\n" not in text and "at most 5" in text and "per organ" in text


def test_cr_then_pr_confirms_pr() -> None:
    les = [target("T1", "liver"), target("LN1", "node", nodal=True)]
    visits = [
        visit(0, {"T1": 100, "LN1": 20}),
        visit(42, {"T1": 0, "LN1": 8}),
        visit(70, {"T1": 0, "LN1": 11}),
    ]
    ev = run(les, visits)
    assert column(ev, "recist") == ["CR", "PR"]  # node back to 11 mm: +3 mm over the nadir, not PD
    assert ev.best_recist == "PR"


def test_non_target_only_unconfirmed_cr_is_non_cr_non_pd() -> None:
    les = [non_target("NT1", "bone")]
    visits = [visit(0, {}, P), visit(42, {}, {"NT1": "absent"}), visit(63, {}, P)]
    ev = run(les, visits)
    assert column(ev, "recist") == ["CR", "NON_CR_NON_PD"]
    assert (ev.best_recist, ev.best_irecist) == ("NON_CR_NON_PD", "NON_iCR_NON_iUPD")
    early = run(les, [visit(0, {}, P), visit(30, {}, P)])
    assert early.best_recist == "NE"
