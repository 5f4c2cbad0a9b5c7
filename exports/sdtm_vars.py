"""SDTM variable and dataset definitions shared by every domain module (pure: no Django)."""

from __future__ import annotations

from dataclasses import dataclass

STUDYID = "CD8PET"
NY = ("N", "Y")


@dataclass(frozen=True)
class Var:
    name: str
    label: str
    type: str = "Char"  # Char | Num
    length: int = 200
    terms: tuple[str, ...] = ()
    core: str = "Perm"  # Req | Exp | Perm
    origin: str = "CRF"
    iso8601: bool = False


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    keys: tuple[str, ...]
    variables: tuple[Var, ...]

    @property
    def columns(self) -> list[str]:
        return [v.name for v in self.variables]


def ids(domain: str) -> tuple[Var, ...]:
    """STUDYID, DOMAIN and USUBJID of a domain."""
    return (
        Var("STUDYID", "Study Identifier", length=12, core="Req", origin="Assigned"),
        Var("DOMAIN", "Domain Abbreviation", length=2, terms=(domain,), core="Req", origin="Assigned"),
        Var("USUBJID", "Unique Subject Identifier", length=40, core="Req", origin="Derived"),
    )


def dtc_var(name: str, label: str, length: int = 20) -> Var:
    """An ISO 8601 date/time variable (expected)."""
    return Var(name, label, length=length, iso8601=True, core="Exp")


SUPP_VARS = (
    Var("STUDYID", "Study Identifier", length=12, core="Req"),
    Var("RDOMAIN", "Related Domain Abbreviation", length=2, core="Req"),
    Var("USUBJID", "Unique Subject Identifier", length=40, core="Req"),
    Var("IDVAR", "Identifying Variable", length=8, core="Exp"),
    Var("IDVARVAL", "Identifying Variable Value", length=40, core="Exp"),
    Var("QNAM", "Qualifier Variable Name", length=8, core="Req"),
    Var("QLABEL", "Qualifier Variable Label", length=40, core="Req"),
    Var("QVAL", "Data Value", core="Req"),
    Var("QORIG", "Origin", length=20, core="Req"),
    Var("QEVAL", "Evaluator", length=20, core="Exp"),
)
