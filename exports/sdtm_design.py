"""SDTMIG 3.4 trial design and subject-level design domains: TS, TA, TE, TV, TI (trial-level), SE, SV, IE and
PR (per subject). Pure (no Django)."""

from __future__ import annotations

from exports.sdtm_vars import (
    LOCAL_DTC,
    Dataset,
    Var,
    dtc_var,
    dy_var,
    epoch_var,
    ids,
    seq_vars,
    visit_vars,
)

ARM = ("CD8PET", "89Zr-Df-crefmirlimab PET with anti-PD-1")
ELEMENTS = {  # ETCD -> (element, start rule, end rule, epoch)
    "SCRN": ("Screening", "Informed consent", "First 89Zr-Df-crefmirlimab injection", "SCREENING"),
    "TRT": ("Treatment", "First 89Zr-Df-crefmirlimab injection", "End of study", "TREATMENT"),
}
IECAT = ("INCLUSION", "EXCLUSION")
PR_TRT = ("BIOPSY", "PET/CT SCAN", "MRI")


def _trial_ids(domain: str) -> tuple[Var, ...]:
    return (
        Var("STUDYID", "Study Identifier", length=12, core="Req", origin="Assigned"),
        Var("DOMAIN", "Domain Abbreviation", length=2, terms=(domain,), core="Req", origin="Assigned"),
    )


def _protocol(name: str, label: str, length: int = 200, core: str = "Req", **kw) -> Var:
    return Var(name, label, length=length, core=core, origin="Protocol", **kw)


TS = Dataset(
    "TS",
    "Trial Summary",
    ("STUDYID", "TSPARMCD", "TSSEQ"),
    (
        *_trial_ids("TS"),
        Var("TSSEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        _protocol("TSPARMCD", "Trial Summary Parameter Short Name", 8),
        _protocol("TSPARM", "Trial Summary Parameter", 40),
        _protocol("TSVAL", "Parameter Value", core="Exp"),
        _protocol("TSVALNF", "Parameter Null Flavor", 8, core="Perm"),
        _protocol("TSVALCD", "Parameter Value Code", 20, core="Exp"),
        _protocol("TSVCDREF", "Name of the Reference Terminology", 20, core="Exp"),
        _protocol("TSVCDVER", "Version of the Reference Terminology", 20, core="Exp"),
    ),
)

TE = Dataset(
    "TE",
    "Trial Elements",
    ("STUDYID", "ETCD"),
    (
        *_trial_ids("TE"),
        _protocol("ETCD", "Element Code", 8),
        _protocol("ELEMENT", "Description of Element", 40),
        _protocol("TESTRL", "Rule for Start of Element", 100),
        _protocol("TEENRL", "Rule for End of Element", 100, core="Perm"),
        _protocol("TEDUR", "Planned Duration of Element", 20, core="Perm"),
    ),
)

TA = Dataset(
    "TA",
    "Trial Arms",
    ("STUDYID", "ARMCD", "TAETORD"),
    (
        *_trial_ids("TA"),
        _protocol("ARMCD", "Planned Arm Code", 20),
        _protocol("ARM", "Description of Planned Arm", 60),
        Var("TAETORD", "Planned Order of Element within Arm", "Num", 8, core="Req", origin="Protocol"),
        _protocol("ETCD", "Element Code", 8),
        _protocol("ELEMENT", "Description of Element", 40, core="Perm"),
        _protocol("TABRANCH", "Branch", 100, core="Exp"),
        _protocol("TATRANS", "Transition Rule", 100, core="Exp"),
        _protocol("EPOCH", "Epoch", 20),
    ),
)

TV = Dataset(
    "TV",
    "Trial Visits",
    ("STUDYID", "VISITNUM"),
    (
        *_trial_ids("TV"),
        Var("VISITNUM", "Visit Number", "Num", 8, core="Req", origin="Protocol"),
        _protocol("VISIT", "Visit Name", 120, core="Perm"),
        Var("VISITDY", "Planned Study Day of Visit", "Num", 8, origin="Protocol"),
        _protocol("ARMCD", "Planned Arm Code", 20, core="Exp"),
        _protocol("ARM", "Description of Planned Arm", 60, core="Perm"),
        _protocol("TVSTRL", "Visit Start Rule", 200),
        _protocol("TVENRL", "Visit End Rule", 200, core="Perm"),
    ),
)

TI = Dataset(
    "TI",
    "Trial Inclusion/Exclusion Criteria",
    ("STUDYID", "IETESTCD"),
    (
        *_trial_ids("TI"),
        _protocol("IETESTCD", "Incl/Excl Criterion Short Name", 8),
        _protocol("IETEST", "Inclusion/Exclusion Criterion", 200),
        _protocol("IECAT", "Inclusion/Exclusion Category", 10, terms=IECAT),
        _protocol("TIVERS", "Protocol Criteria Versions", 16, core="Perm"),
    ),
)

SE = Dataset(
    "SE",
    "Subject Elements",
    ("STUDYID", "USUBJID", "ETCD", "SESTDTC"),
    (
        *ids("SE"),
        Var("SESEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var("ETCD", "Element Code", length=8, terms=tuple(ELEMENTS), core="Req", origin="Derived"),
        Var("ELEMENT", "Description of Element", length=40, core="Perm", origin="Derived"),
        Var("TAETORD", "Planned Order of Element within Arm", "Num", 8, core="Exp", origin="Derived"),
        epoch_var(),
        dtc_var("SESTDTC", "Start Date/Time of Element", LOCAL_DTC),
        dtc_var("SEENDTC", "End Date/Time of Element", LOCAL_DTC),
        dy_var("SESTDY", "Study Day of Start of Element"),
        dy_var("SEENDY", "Study Day of End of Element"),
        Var("SEUPDES", "Description of Unplanned Element", length=100),
    ),
)

SV = Dataset(
    "SV",
    "Subject Visits",
    ("STUDYID", "USUBJID", "VISITNUM"),
    (
        *ids("SV"),
        Var("VISITNUM", "Visit Number", "Num", 8, core="Req", origin="Derived"),
        Var("VISIT", "Visit Name", length=120, core="Exp"),
        Var("VISITDY", "Planned Study Day of Visit", "Num", 8, origin="Derived"),
        epoch_var(),
        dtc_var("SVSTDTC", "Start Date/Time of Observation"),
        dtc_var("SVENDTC", "End Date/Time of Observation"),
        dy_var("SVSTDY", "Study Day of Start of Observation"),
        dy_var("SVENDY", "Study Day of End of Observation"),
        Var("SVUPDES", "Description of Unplanned Visit", length=200),
    ),
)

IE = Dataset(
    "IE",
    "Inclusion/Exclusion Criteria Not Met",
    ("STUDYID", "USUBJID", "IETESTCD", "IESEQ"),
    (
        *ids("IE"),
        *seq_vars("IE"),
        Var("IETESTCD", "Inclusion/Exclusion Criterion Short Name", length=8, core="Req"),
        Var("IETEST", "Inclusion/Exclusion Criterion", length=200, core="Req"),
        Var("IECAT", "Inclusion/Exclusion Category", length=10, terms=IECAT, core="Req"),
        Var("IEORRES", "I/E Criterion Original Result", length=1, terms=("N", "Y"), core="Req"),
        Var("IESTRESC", "I/E Criterion Result in Std Format", length=1, terms=("N", "Y"), core="Req"),
        *visit_vars(),
        dtc_var("IEDTC", "Date/Time of Collection"),
        dy_var("IEDY", "Study Day of Collection"),
    ),
)

PR = Dataset(
    "PR",
    "Procedures",
    ("STUDYID", "USUBJID", "PRTRT", "PRSTDTC", "PRSEQ"),
    (
        *ids("PR"),
        *seq_vars("PR"),
        Var("PRREFID", "Reference ID", length=40),
        Var("PRLNKID", "Link ID", length=16),
        Var("PRTRT", "Reported Name of Procedure", length=20, terms=PR_TRT, core="Req"),
        Var("PRLOC", "Location of Procedure", length=60),
        *visit_vars(),
        dtc_var("PRSTDTC", "Start Date/Time of Procedure", LOCAL_DTC),
        dy_var("PRSTDY", "Study Day of Start of Procedure"),
    ),
)

TRIAL_LEVEL = (TS, TA, TE, TV, TI)
DATASETS = (*TRIAL_LEVEL, SE, SV, IE, PR)
CLASSES = {
    **{ds.name: "TRIAL DESIGN" for ds in TRIAL_LEVEL},
    "SE": "SPECIAL PURPOSE",
    "SV": "SPECIAL PURPOSE",
    "IE": "FINDINGS",
    "PR": "INTERVENTIONS",
}
STRUCTURES = {
    "TS": "One record per trial summary parameter value",
    "TA": "One record per planned Element per Arm",
    "TE": "One record per planned Element",
    "TV": "One record per planned Visit per Arm",
    "TI": "One record per I/E criterion",
    "SE": "One record per actual Element per subject",
    "SV": "One record per actual visit per subject",
    "IE": "One record per inclusion/exclusion criterion not met per subject",
    "PR": "One record per recorded procedure per occurrence per subject",
}
