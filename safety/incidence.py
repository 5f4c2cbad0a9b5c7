"""Safety tables from plain rows (no Django imports): incidence by SOC and term with the maximum grade
per participant, the grade >= 3 table, and the max-grade-by-SOC data behind the plot.

A participant counts once per term and once per SOC, at the highest grade recorded for it.
Percentages are of the participants in the population (the denominator N).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

GRADES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class AeRow:
    participant_id: int
    soc: str
    term: str
    grade: int


@dataclass
class IncidenceLine:
    """One line of the table: a SOC (term == '') or a term within a SOC."""

    soc: str
    term: str
    by_grade: dict[int, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))

    @property
    def is_soc(self) -> bool:
        return self.term == ""

    @property
    def any_grade(self) -> int:
        return sum(self.by_grade.values())

    @property
    def grade3_plus(self) -> int:
        return sum(n for g, n in self.by_grade.items() if g >= 3)


def percent(n: int, denominator: int) -> float:
    return round(100.0 * n / denominator, 1) if denominator else 0.0


def max_grades(rows: Iterable[AeRow], key) -> dict[tuple, int]:
    """{(key..., participant_id): maximum grade}."""
    best: dict[tuple, int] = {}
    for r in rows:
        k = (*key(r), r.participant_id)
        best[k] = max(best.get(k, 0), r.grade)
    return best


def incidence(rows: Iterable[AeRow], min_grade: int = 1) -> list[IncidenceLine]:
    """SOC lines followed by their term lines, each counting participants by their maximum grade."""
    rows = [r for r in rows]
    soc_max = max_grades(rows, lambda r: (r.soc,))
    term_max = max_grades(rows, lambda r: (r.soc, r.term))
    socs: dict[str, IncidenceLine] = {}
    terms: dict[tuple[str, str], IncidenceLine] = {}
    for (soc, _pid), grade in soc_max.items():
        if grade >= min_grade:
            socs.setdefault(soc, IncidenceLine(soc, "")).by_grade[grade] += 1
    for (soc, term, _pid), grade in term_max.items():
        if grade >= min_grade:
            terms.setdefault((soc, term), IncidenceLine(soc, term)).by_grade[grade] += 1
    by_soc: dict[str, list[IncidenceLine]] = defaultdict(list)
    for line in terms.values():
        by_soc[line.soc].append(line)
    ordered: list[IncidenceLine] = []
    for soc in sorted(socs, key=lambda s: (-socs[s].any_grade, s)):
        ordered.append(socs[soc])
        ordered.extend(sorted(by_soc[soc], key=lambda t: (-t.any_grade, t.term)))
    return ordered


def participants_with_any(rows: Iterable[AeRow], min_grade: int = 1) -> int:
    best = max_grades(rows, lambda r: ())
    return sum(1 for g in best.values() if g >= min_grade)


def max_grade_by_soc(rows: Iterable[AeRow]) -> dict[str, dict[int, int]]:
    """{soc: {grade: participants whose maximum grade in that SOC is grade}} for the plot."""
    return {line.soc: dict(line.by_grade) for line in incidence(rows) if line.is_soc}


def lines_from_counts(
    soc_counts: Iterable[tuple[str, int, int]],
    term_counts: Iterable[tuple[str, str, int, int]],
    min_grade: int = 1,
) -> list[IncidenceLine]:
    """The lines `incidence` gives, from counts already aggregated (in SQL): (soc, max grade, participants)
    and (soc, term, max grade, participants), each participant counted at its maximum grade."""
    socs: dict[str, IncidenceLine] = {}
    by_soc: dict[str, list[IncidenceLine]] = defaultdict(list)
    for soc, grade, n in soc_counts:
        if grade >= min_grade:
            socs.setdefault(soc, IncidenceLine(soc, "")).by_grade[grade] += n
    terms: dict[tuple[str, str], IncidenceLine] = {}
    for soc, term, grade, n in term_counts:
        if grade >= min_grade:
            terms.setdefault((soc, term), IncidenceLine(soc, term)).by_grade[grade] += n
    for line in terms.values():
        by_soc[line.soc].append(line)
    ordered: list[IncidenceLine] = []
    for soc in sorted(socs, key=lambda s: (-socs[s].any_grade, s)):
        ordered.append(socs[soc])
        ordered.extend(sorted(by_soc[soc], key=lambda t: (-t.any_grade, t.term)))
    return ordered
