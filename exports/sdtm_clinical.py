"""SDTMIG 3.4 definitions of the casebook and tracer PK domains: CM, MH, VS, LB, PC (+ SUPPPC), PP, IS and DS.

Pure (no Django). Conventions shared by these domains: --SEQ is stable (a fixed slot per source record and
test, so voiding or editing one record never renumbers another) and --SPID names the source record
("LAB-12"); date/times are the site's wall clock with its UTC offset; VISITNUM/VISIT name the scheduled visit
the record was entered against, EPOCH and --DY are derived from the first tracer injection (RFSTDTC).
"""

from __future__ import annotations

from exports.sdtm_vars import SUPP_VARS, Dataset, Var, dtc_var, ids

LOCAL_DTC = 25  # "2026-03-01T09:30:00+01:00"
EPOCHS = ("SCREENING", "TREATMENT")
TRACER_INFUSION = "89Zr-Df-crefmirlimab infusion"


def _seq(prefix: str) -> tuple[Var, ...]:
    return (
        Var(f"{prefix}SEQ", "Sequence Number", "Num", 8, core="Req", origin="Derived"),
        Var(f"{prefix}SPID", "Sponsor-Defined Identifier", length=20, origin="Assigned"),
    )


def _visit() -> tuple[Var, ...]:
    return (
        Var("VISITNUM", "Visit Number", "Num", 8, core="Exp", origin="Derived"),
        Var("VISIT", "Visit Name", length=120),
        Var("EPOCH", "Epoch", length=20, terms=EPOCHS, origin="Derived"),
    )


def _dy(name: str, label: str) -> Var:
    return Var(name, label, "Num", 8, origin="Derived")


def _results(prefix: str, res_len: int = 20, unit_terms: tuple[str, ...] = ()) -> tuple[Var, ...]:
    return (
        Var(f"{prefix}ORRES", "Result or Finding in Original Units", length=res_len, core="Exp"),
        Var(f"{prefix}ORRESU", "Original Units", length=12, terms=unit_terms, core="Exp"),
        Var(f"{prefix}STRESC", "Character Result/Finding in Std Format", length=res_len, core="Exp"),
        Var(f"{prefix}STRESN", "Numeric Result/Finding in Standard Units", "Num", 8, core="Exp"),
        Var(f"{prefix}STRESU", "Standard Units", length=12, terms=unit_terms, core="Exp"),
    )


ROUTES = {
    "oral": "ORAL",
    "iv": "INTRAVENOUS",
    "sc": "SUBCUTANEOUS",
    "im": "INTRAMUSCULAR",
    "topical": "TOPICAL",
    "inhaled": "RESPIRATORY (INHALATION)",
    "other": "OTHER",
}
CM_CATS = ("PRIOR MEDICATION", "CONCOMITANT MEDICATION", "PRIOR CANCER THERAPY")
CM = Dataset(
    "CM",
    "Concomitant/Prior Medications",
    ("STUDYID", "USUBJID", "CMCAT", "CMTRT", "CMSTDTC", "CMSEQ"),
    (
        *ids("CM"),
        *_seq("CM"),
        Var("CMTRT", "Reported Name of Drug, Med, or Therapy", length=200, core="Req"),
        Var("CMDECOD", "Standardized Medication Name", length=200, origin="Assigned"),
        Var("CMCAT", "Category for Medication", length=30, terms=CM_CATS),
        Var("CMSCAT", "Subcategory for Medication", length=40),
        Var("CMINDC", "Indication", length=200),
        Var("CMCLAS", "Medication Class", length=200, origin="Assigned"),
        Var("CMCLASCD", "Medication Class Code", length=10, origin="Assigned"),
        Var("CMDOSE", "Dose per Administration", "Num", 8),
        Var("CMDOSU", "Dose Units", length=20),
        Var("CMDOSFRQ", "Dosing Frequency per Interval", length=60),
        Var("CMROUTE", "Route of Administration", length=30, terms=tuple(ROUTES.values())),
        dtc_var("CMSTDTC", "Start Date/Time of Medication"),
        dtc_var("CMENDTC", "End Date/Time of Medication"),
        _dy("CMSTDY", "Study Day of Start of Medication"),
        _dy("CMENDY", "Study Day of End of Medication"),
        Var("CMENRTPT", "End Relative to Reference Time Point", length=10, terms=("ONGOING",)),
        Var("CMENTPT", "End Reference Time Point", length=20),
    ),
)

MH_CATS = ("GENERAL MEDICAL HISTORY", "CANCER HISTORY")
MH = Dataset(
    "MH",
    "Medical History",
    ("STUDYID", "USUBJID", "MHCAT", "MHTERM", "MHSEQ"),
    (
        *ids("MH"),
        *_seq("MH"),
        Var("MHTERM", "Reported Term for the Medical History", length=200, core="Req"),
        Var("MHLLTCD", "Lowest Level Term Code", "Num", 8, origin="Assigned"),
        Var("MHCAT", "Category for Medical History", length=30, terms=MH_CATS),
        Var("MHSCAT", "Subcategory for Medical History", length=30),
        dtc_var("MHSTDTC", "Start Date/Time of Medical History Event"),
        dtc_var("MHENDTC", "End Date/Time of Medical History Event"),
        Var("MHENRTPT", "End Relative to Reference Time Point", length=10, terms=("ONGOING",)),
        Var("MHENTPT", "End Reference Time Point", length=20),
    ),
)

VS_TESTS = {
    "SYSBP": ("Systolic Blood Pressure", "mmHg"),
    "DIABP": ("Diastolic Blood Pressure", "mmHg"),
    "PULSE": ("Pulse Rate", "beats/min"),
    "TEMP": ("Temperature", "C"),
    "RESP": ("Respiratory Rate", "breaths/min"),
    "OXYSAT": ("Oxygen Saturation", "%"),
    "WEIGHT": ("Weight", "kg"),
    "HEIGHT": ("Height", "cm"),
}
VS_TPT = ("PRE-INFUSION", "POST-INFUSION")
VS = Dataset(
    "VS",
    "Vital Signs",
    ("STUDYID", "USUBJID", "VSTESTCD", "VSDTC", "VSTPT", "VSSEQ"),
    (
        *ids("VS"),
        *_seq("VS"),
        Var("VSTESTCD", "Vital Signs Test Short Name", length=8, terms=tuple(VS_TESTS), core="Req"),
        Var(
            "VSTEST",
            "Vital Signs Test Name",
            length=40,
            terms=tuple(t for t, _ in VS_TESTS.values()),
            core="Req",
        ),
        *_results("VS", unit_terms=tuple(sorted({u for _, u in VS_TESTS.values()}))),
        *_visit(),
        dtc_var("VSDTC", "Date/Time of Measurements", LOCAL_DTC),
        _dy("VSDY", "Study Day of Vital Signs"),
        Var("VSTPT", "Planned Time Point Name", length=20, terms=VS_TPT),
        Var("VSTPTREF", "Time Point Reference", length=40),
        dtc_var("VSRFTDTC", "Date/Time of Reference Time Point", LOCAL_DTC),
    ),
)

LB_TESTS = {
    "NEUT": "Neutrophils",
    "PLAT": "Platelets",
    "HGB": "Hemoglobin",
    "WBC": "Leukocytes",
    "LYM": "Lymphocytes",
    "ALT": "Alanine Aminotransferase",
    "AST": "Aspartate Aminotransferase",
    "BILI": "Bilirubin",
    "ALP": "Alkaline Phosphatase",
    "GGT": "Gamma Glutamyl Transferase",
    "CREAT": "Creatinine",
    "LIPASE": "Lipase",
    "AMYLASE": "Amylase",
    "K": "Potassium",
    "SODIUM": "Sodium",
    "CA": "Calcium",
    "MG": "Magnesium",
    "GLUC": "Glucose",
    "ALB": "Albumin",
    "CK": "Creatine Kinase",
    "TSH": "Thyrotropin",
    "T4FR": "Thyroxine, Free",
    "INR": "Prothrombin Intl. Normalized Ratio",
    "APTT": "Activated Partial Thromboplastin Time",
}
LB_CODE = {"FT4": "T4FR"}  # casebook test code -> CDISC LBTESTCD where they differ
LB_CATS = {
    "haematology": ("HEMATOLOGY", "BLOOD"),
    "chemistry": ("CHEMISTRY", "SERUM"),
    "thyroid": ("THYROID", "SERUM"),
    "coagulation": ("COAGULATION", "PLASMA"),
}
NRIND = ("LOW", "NORMAL", "HIGH")
LB = Dataset(
    "LB",
    "Laboratory Test Results",
    ("STUDYID", "USUBJID", "LBCAT", "LBTESTCD", "LBDTC", "LBSEQ"),
    (
        *ids("LB"),
        *_seq("LB"),
        Var("LBTESTCD", "Lab Test or Examination Short Name", length=8, terms=tuple(LB_TESTS), core="Req"),
        Var("LBTEST", "Lab Test or Examination Name", length=40, terms=tuple(LB_TESTS.values()), core="Req"),
        Var("LBCAT", "Category for Lab Test", length=20, terms=tuple(c for c, _ in LB_CATS.values())),
        *_results("LB"),
        Var("LBORNRLO", "Reference Range Lower Limit in Orig Unit", length=20, core="Exp"),
        Var("LBORNRHI", "Reference Range Upper Limit in Orig Unit", length=20, core="Exp"),
        Var("LBSTNRLO", "Reference Range Lower Limit-Std Units", "Num", 8, core="Exp"),
        Var("LBSTNRHI", "Reference Range Upper Limit-Std Units", "Num", 8, core="Exp"),
        Var("LBNRIND", "Reference Range Indicator", length=8, terms=NRIND, core="Exp", origin="Derived"),
        Var("LBSPEC", "Specimen Type", length=10, terms=("BLOOD", "SERUM", "PLASMA")),
        Var("LBBLFL", "Baseline Flag", length=1, terms=("Y",)),
        Var("LBTOX", "Toxicity", length=100, origin="Derived"),
        Var(
            "LBTOXGR", "Standard Toxicity Grade", length=1, terms=("0", "1", "2", "3", "4"), origin="Derived"
        ),
        *_visit(),
        dtc_var("LBDTC", "Date/Time of Specimen Collection"),
        _dy("LBDY", "Study Day of Specimen Collection"),
    ),
)

PC_TEST = ("ZR89ACT", "89Zr Activity, Decay-Corrected to Inj")
PC = Dataset(
    "PC",
    "Pharmacokinetics Concentrations",
    ("STUDYID", "USUBJID", "PCTESTCD", "PCRFTDTC", "PCDTC", "PCSEQ"),
    (
        *ids("PC"),
        *_seq("PC"),
        Var("PCTESTCD", "Pharmacokinetic Test Short Name", length=8, terms=(PC_TEST[0],), core="Req"),
        Var("PCTEST", "Pharmacokinetic Test Name", length=40, terms=(PC_TEST[1],), core="Req"),
        *_results("PC", unit_terms=("Bq/mL",)),
        Var("PCSPEC", "Specimen Material Type", length=10, terms=("SERUM",), core="Exp"),
        *_visit(),
        dtc_var("PCDTC", "Date/Time of Specimen Collection", LOCAL_DTC),
        _dy("PCDY", "Study Day of Specimen Collection"),
        Var("PCTPT", "Planned Time Point Name", length=40),
        Var("PCTPTREF", "Time Point Reference", length=40),
        dtc_var("PCRFTDTC", "Date/Time of Reference Time Point", LOCAL_DTC),
    ),
)

SUPPPC = Dataset(
    "SUPPPC", "Supplemental Qualifiers for PC", ("STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"), SUPP_VARS
)
SUPPPC_QUALIFIERS = {"PCAELTM": "Actual Elapsed Time from Injection (h)"}

# PP: the stored PK parameters (kinetics.PkParameter) of the serum and PET image-derived curves. PPTESTCD/PPTEST
# are CDISC PK Parameters terminology where a term exists (LAMZHL, LAMZ, AUCLST, AUCIFO, AUCPEO, R2); HLEFF,
# HLFAST and TIAC are sponsor-defined (kinetics.parameters.SPONSOR_TESTS).
PP_TESTS = {
    "LAMZHL": "Half-Life Lambda z",
    "LAMZ": "Lambda z",
    "HLEFF": "Effective Half-Life",
    "HLFAST": "Half-Life Fast Phase",
    "AUCLST": "AUC to Last Nonzero Conc",
    "AUCIFO": "AUC Infinity Obs",
    "AUCPEO": "AUC %Extrapolation Obs",
    "R2": "R Squared",
    "TIAC": "Time-Integrated Activity Coefficient",
}
PP_CATS = ("SERUM", "PET IMAGE-DERIVED")
PP_SCATS = {
    "bq_ml": "89ZR ACTIVITY CONCENTRATION",
    "suv_mean": "SUVMEAN",
    "tiac": "TIAC TRAPEZOID + DECAY TAIL",
}
PP_UNITS = ("h", "/h", "%", "h*Bq/mL", "h*g/mL")
PP_SPECS = (
    "SERUM",
    "BLOOD",
    "LIVER",
    "SPLEEN",
    "KIDNEY",
    "BONE MARROW",
    "LUNG",
    "SKELETAL MUSCLE",
    "TUMOR TISSUE",
    "REMAINDER OF BODY",
)
PP = Dataset(
    "PP",
    "Pharmacokinetics Parameters",
    ("STUDYID", "USUBJID", "PPCAT", "PPGRPID", "PPTESTCD", "PPSEQ"),
    (
        *ids("PP"),
        *_seq("PP"),
        Var("PPGRPID", "Group ID", length=120, origin="Assigned"),
        Var(
            "PPTESTCD", "Parameter Short Name", length=8, terms=tuple(PP_TESTS), core="Req", origin="Derived"
        ),
        Var(
            "PPTEST",
            "Parameter Name",
            length=40,
            terms=tuple(PP_TESTS.values()),
            core="Req",
            origin="Derived",
        ),
        Var("PPCAT", "Parameter Category", length=20, terms=PP_CATS, origin="Derived"),
        Var("PPSCAT", "Parameter Subcategory", length=30, terms=tuple(PP_SCATS.values()), origin="Derived"),
        *_results("PP", unit_terms=PP_UNITS),
        Var("PPSTAT", "Completion Status", length=8, terms=("NOT DONE",), origin="Derived"),
        Var("PPREASND", "Reason Parameter Not Calculated", length=200, origin="Derived"),
        Var("PPSPEC", "Specimen Material Type", length=20, terms=PP_SPECS, core="Exp", origin="Derived"),
        dtc_var("PPRFTDTC", "Date/Time of Reference Point", LOCAL_DTC),
    ),
)

IS_TESTS = {"ADA": "Anti-Drug Antibody", "ADATITER": "Anti-Drug Antibody Titer"}
IS_RESULTS = ("POSITIVE", "NEGATIVE")
IS = Dataset(
    "IS",
    "Immunogenicity Specimen Assessments",
    ("STUDYID", "USUBJID", "ISTESTCD", "ISREFID", "ISSEQ"),
    (
        *ids("IS"),
        *_seq("IS"),
        Var("ISREFID", "Reference ID", length=40),
        Var("ISTESTCD", "Immunogenicity Test/Exam Short Name", length=8, terms=tuple(IS_TESTS), core="Req"),
        Var(
            "ISTEST",
            "Immunogenicity Test or Examination Name",
            length=40,
            terms=tuple(IS_TESTS.values()),
            core="Req",
        ),
        Var("ISBDAGNT", "Binding Agent", length=40),
        *_results("IS"),
        Var("ISSPEC", "Specimen Material Type", length=10, terms=("SERUM",)),
        *_visit(),
        dtc_var("ISDTC", "Date/Time of Collection"),
        _dy("ISDY", "Study Day of Visit/Collection/Exam"),
    ),
)

DS_DECOD = {
    "completed": "COMPLETED",
    "adverse_event": "ADVERSE EVENT",
    "progression": "PROGRESSIVE DISEASE",
    "withdrew_consent": "WITHDRAWAL BY SUBJECT",
    "lost": "LOST TO FOLLOW-UP",
    "physician": "PHYSICIAN DECISION",
    "death": "DEATH",
    "other": "OTHER",
}
DS = Dataset(
    "DS",
    "Disposition",
    ("STUDYID", "USUBJID", "DSDECOD", "DSSTDTC", "DSSEQ"),
    (
        *ids("DS"),
        *_seq("DS"),
        Var("DSTERM", "Reported Term for the Disposition Event", length=200, core="Req"),
        Var(
            "DSDECOD", "Standardized Disposition Term", length=40, terms=tuple(DS_DECOD.values()), core="Req"
        ),
        Var("DSCAT", "Category for Disposition Event", length=20, terms=("DISPOSITION EVENT",), core="Exp"),
        Var("DSSCAT", "Subcategory for Disposition Event", length=30, terms=("STUDY PARTICIPATION",)),
        Var("EPOCH", "Epoch", length=20, terms=EPOCHS, origin="Derived"),
        dtc_var("DSSTDTC", "Start Date/Time of Disposition Event"),
        _dy("DSSTDY", "Study Day of Start of Disposition Event"),
    ),
)

DATASETS = (CM, MH, VS, LB, PC, SUPPPC, PP, IS, DS)
CLASSES = {
    "CM": "INTERVENTIONS",
    "MH": "EVENTS",
    "DS": "EVENTS",
    "VS": "FINDINGS",
    "LB": "FINDINGS",
    "PC": "FINDINGS",
    "PP": "FINDINGS",
    "IS": "FINDINGS",
    "SUPPPC": "RELATIONSHIP",
}
STRUCTURES = {
    "CM": "One record per recorded medication or prior cancer therapy line per subject",
    "MH": "One record per medical or cancer history event per subject",
    "VS": "One record per vital sign measurement per time point per visit per subject",
    "LB": "One record per lab test per time point per visit per subject",
    "PC": "One record per sample characteristic or time-point concentration per reference time point",
    "PP": "One record per PK parameter per curve (serum or PET organ/lesion) per tracer injection per subject",
    "IS": "One record per test per specimen per subject",
    "DS": "One record per disposition status or protocol milestone per subject",
    "SUPPPC": "One record per supplemental qualifier per PC record",
}

# Define-XML methods of the derived PP values (define_xml merges DEFINE_METHODS and DEFINE_DERIVED).
DEFINE_METHODS = {
    "MT.PKPARAM": (
        "PK parameters of the serum and PET image-derived curves",
        "Stored by the system's PK analysis (kinetics.PkParameter, audited) with quant.pk: values decay-corrected "
        "to injection; mono- or bi-exponential fit chosen by AICc on log residuals; LAMZHL = ln 2 / terminal rate "
        "(the biological half-life), HLEFF from 1/T_eff = 1/T_bio + 1/T_phys (89Zr 78.41 h), HLFAST the faster "
        "bi-exponential phase; AUC by linear-up/log-down trapezoids from the fitted intercept at injection, "
        "AUCIFO = AUCLST + C_last / lambda_z, AUCPEO its extrapolated percentage; R2 of the fitted model; TIAC "
        "(h) by trapezoids of the organ's fraction of injected activity plus the physical-decay tail, sphere VOIs "
        "scaled to the ICRP Publication 89 reference organ mass of the participant's sex.",
    ),
}
DEFINE_DERIVED = {"PPORRES": "MT.PKPARAM", "PPSTRESC": "MT.PKPARAM", "PPSTRESN": "MT.PKPARAM"}
