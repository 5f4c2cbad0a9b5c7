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

SDTMIG_VERSION = "3.4"  # the implementation guide every domain follows (define.xml, define.json, TS SDTIGVER)
SDTM_VERSION = "2.0"  # the SDTM model version of SDTMIG 3.4 (TS SDTMVER)
CT_VERSION = "2025-03-28"  # CDISC/NCI SDTM controlled terminology package the code lists follow
LOCAL_DTC = 25  # "2026-03-01T09:30:00+01:00": site wall clock with its UTC offset, no fractions
EPOCHS = ("SCREENING", "TREATMENT")


def seq_vars(prefix: str) -> tuple[Var, ...]:
    """--SEQ (stable: a fixed slot per source record) and --SPID (the source record, e.g. "AE-12")."""
    return (
        Var(f"{prefix}SEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var(f"{prefix}SPID", "Sponsor-Defined Identifier", length=20, origin="Assigned"),
    )


def visit_vars(epoch: bool = True) -> tuple[Var, ...]:
    """VISITNUM, VISIT (and EPOCH) of a record entered against a scheduled visit."""
    return (
        Var("VISITNUM", "Visit Number", "Num", 8, core="Exp", origin="Derived"),
        Var("VISIT", "Visit Name", length=120),
    ) + ((epoch_var(),) if epoch else ())


def epoch_var() -> Var:
    return Var("EPOCH", "Epoch", length=20, terms=EPOCHS, origin="Derived")


def dy_var(name: str, label: str) -> Var:
    """A --DY study day (RFSTDTC is day 1; no day 0)."""
    return Var(name, label, "Num", 8, origin="Derived")
