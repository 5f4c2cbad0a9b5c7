"""The AE rules, as one pure function shared by the form, the API and imports (no Django imports).

`check_ae(values, term, window, today)` returns {field: [messages]}; an empty dict means the AE may be saved.
Each message names the rule it enforces, so a client can tell which one failed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safety import partial_dates as pdates

SAE_CRITERIA = (
    ("sae_death", "Results in death"),
    ("sae_life_threatening", "Is life-threatening"),
    ("sae_hospitalisation", "Requires or prolongs hospitalisation"),
    ("sae_disability", "Results in persistent or significant disability/incapacity"),
    ("sae_congenital_anomaly", "Is a congenital anomaly/birth defect"),
    ("sae_other_important", "Is another important medical event"),
)
FATAL = "fatal"


@dataclass(frozen=True)
class TermInfo:
    """What the rules need to know about a CTCAE term."""

    name: str
    version: str
    grade_texts: dict[int, str]
    is_other_specify: bool

    @property
    def defined_grades(self) -> list[int]:
        return [g for g in range(1, 6) if self.grade_texts.get(g)]


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def check_term_and_grade(values: dict[str, Any], term: TermInfo, errors: dict[str, list[str]]) -> None:
    grade = values.get("grade")
    if grade not in term.defined_grades:
        defined = ", ".join(str(g) for g in term.defined_grades)
        _add(
            errors,
            "grade",
            f"Grade must be defined for the term: CTCAE v{term.version} '{term.name}' "
            f"defines grade {defined} only (got {grade}).",
        )
    if term.is_other_specify and not (values.get("verbatim_term") or "").strip():
        _add(
            errors,
            "verbatim_term",
            f"'{term.name}' is an \"Other, specify\" term: the verbatim text is required.",
        )


def parse_dates(values: dict[str, Any], errors: dict[str, list[str]]) -> tuple[Any, Any]:
    onset = end = None
    try:
        onset = pdates.parse(values.get("onset_date") or "")
    except pdates.PartialDateError as exc:
        _add(errors, "onset_date", f"Onset date: {exc}")
    if values.get("end_date"):
        try:
            end = pdates.parse(values["end_date"])
        except pdates.PartialDateError as exc:
            _add(errors, "end_date", f"End date: {exc}")
    return onset, end


def check_dates(
    values: dict[str, Any], onset: Any, end: Any, today: dt.date, errors: dict[str, list[str]]
) -> None:
    if onset is not None and onset.earliest > today:
        _add(errors, "onset_date", f"Onset date {onset} is in the future.")
    if end is not None and end.earliest > today:
        _add(errors, "end_date", f"End date {end} is in the future.")
    if onset is not None and end is not None and pdates.definitely_before(end, onset):
        _add(
            errors, "end_date", f"End not before onset: the end date {end} is before the onset date {onset}."
        )
    if values.get("ongoing") and values.get("end_date"):
        _add(errors, "end_date", "An ongoing AE has no end date: clear the end date or untick ongoing.")
    if not values.get("ongoing") and not values.get("end_date") and values.get("grade") != 5:
        _add(errors, "end_date", "Give the end date, or tick ongoing.")


def check_grade5(values: dict[str, Any], onset: Any, errors: dict[str, list[str]]) -> None:
    death_date = values.get("death_date")
    if values.get("grade") == 5:
        if values.get("outcome") != FATAL:
            _add(errors, "outcome", "Grade 5 requires outcome fatal (grade 5 is death related to the AE).")
        if death_date is None:
            _add(errors, "death_date", "Grade 5 requires the date of death.")
        if values.get("ongoing"):
            _add(errors, "ongoing", "A grade 5 (fatal) AE cannot be ongoing.")
    elif values.get("outcome") == FATAL:
        _add(errors, "outcome", "Outcome fatal is grade 5: choose grade 5 or another outcome.")
    if death_date is not None and values.get("outcome") != FATAL:
        _add(errors, "death_date", "A date of death is only recorded with outcome fatal.")
    if death_date is not None and onset is not None and death_date < onset.earliest:
        _add(errors, "death_date", f"The date of death {death_date} is before the onset date {onset}.")


def check_serious(values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    ticked = [name for name, _ in SAE_CRITERIA if values.get(name)]
    if values.get("serious") and not ticked:
        _add(errors, "serious", "Serious requires at least one SAE criterion.")
    if ticked and not values.get("serious"):
        _add(errors, "serious", "An SAE criterion is ticked: a serious AE must be marked serious.")
    if values.get("grade") == 5 and not values.get("sae_death"):
        _add(errors, "sae_death", "Grade 5 requires serious with the criterion 'results in death'.")


def outside_window(onset: Any, window: tuple[dt.date | None, dt.date | None]) -> str:
    """Describe why the onset lies outside the reporting window, or '' when it may lie inside."""
    first, last = window
    if onset is None:
        return ""
    if first is None:
        return "no study procedure has been done yet, so the reporting window has not started"
    if onset.latest < first:
        return f"onset {onset} is before the first study procedure ({first})"
    if last is not None and onset.earliest > last:
        return f"onset {onset} is after the window end ({last}, last study procedure + 100 days)"
    return ""


def check_window(values: dict[str, Any], onset: Any, window: Any, errors: dict[str, list[str]]) -> bool:
    """Refuse an onset outside the reporting window unless a reason is given; return the flag."""
    why = outside_window(onset, window)
    if why and not (values.get("out_of_window_reason") or "").strip():
        _add(
            errors,
            "out_of_window_reason",
            f"Onset outside the reporting window: {why}. Give a reason to record it anyway.",
        )
    return bool(why)


def check_ae(
    values: dict[str, Any], term: TermInfo, window: tuple[dt.date | None, dt.date | None], today: dt.date
) -> tuple[dict[str, list[str]], bool]:
    """All AE rules; returns (errors, out_of_window flag)."""
    errors: dict[str, list[str]] = {}
    check_term_and_grade(values, term, errors)
    onset, end = parse_dates(values, errors)
    check_dates(values, onset, end, today, errors)
    check_grade5(values, onset, errors)
    check_serious(values, errors)
    flagged = check_window(values, onset, window, errors)
    return errors, flagged
