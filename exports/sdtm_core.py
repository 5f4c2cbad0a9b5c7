"""SDTMIG 3.4 definitions of the subject, safety, exposure, tumour and pathology domains: DM, AE (+ SUPPAE),
EX (+ SUPPEX), TU, TR, RS and MI. Pure (no Django).

Same conventions as the casebook domains (exports/sdtm_clinical.py): stable --SEQ with --SPID naming the source
record, site-local date/times with their UTC offset, VISITNUM/VISIT/EPOCH and --DY from RFSTDTC.
"""

from __future__ import annotations

from exports.sdtm_vars import (
    LOCAL_DTC,
    NY,
    SUPP_VARS,
    Dataset,
    Var,
    dtc_var,
    dy_var,
    epoch_var,
    ids,
    seq_vars,
    visit_vars,
)

TOXGR = ("1", "2", "3", "4", "5")
AEREL_TERMS = ("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "RELATED")
ACN = ("DOSE NOT CHANGED", "DRUG INTERRUPTED", "DRUG WITHDRAWN", "NOT APPLICABLE", "UNKNOWN")
OUT = (
    "RECOVERED/RESOLVED",
    "RECOVERING/RESOLVING",
    "NOT RECOVERED/NOT RESOLVED",
    "RECOVERED/RESOLVED WITH SEQUELAE",
    "FATAL",
    "UNKNOWN",
)
RECIST_RESP = ("CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD", "iCR", "iPR", "iSD", "iUPD", "iCPD", "iNE")
ARMNRS = ("SCREEN FAILURE", "NOT ASSIGNED", "ASSIGNED, NOT TREATED", "UNPLANNED TREATMENT")
METHODS = ("CT SCAN", "MRI", "PET/CT SCAN")
ENTPT = "DATA COLLECTION"  # --ENTPT of records ongoing when the data were extracted

DM = Dataset(
    "DM",
    "Demographics",
    ("STUDYID", "USUBJID"),
    (
        *ids("DM"),
        Var("SUBJID", "Subject Identifier for the Study", length=16, core="Req"),
        dtc_var("RFSTDTC", "Subject Reference Start Date/Time", LOCAL_DTC),
        dtc_var("RFENDTC", "Subject Reference End Date/Time", LOCAL_DTC),
        dtc_var("RFXSTDTC", "Date/Time of First Study Treatment", LOCAL_DTC),
        dtc_var("RFXENDTC", "Date/Time of Last Study Treatment", LOCAL_DTC),
        dtc_var("RFICDTC", "Date/Time of Informed Consent"),
        dtc_var("RFPENDTC", "Date/Time of End of Participation"),
        dtc_var("DTHDTC", "Date/Time of Death"),
        Var("DTHFL", "Subject Death Flag", length=1, terms=("Y",), core="Exp", origin="Derived"),
        Var("SITEID", "Study Site Identifier", length=8, core="Req"),
        Var("BRTHDTC", "Date/Time of Birth", length=4, iso8601=True),
        Var("AGE", "Age", "Num", 8, core="Exp", origin="Derived"),
        Var("AGETXT", "Age Range", length=5),
        Var("AGEU", "Age Units", length=5, terms=("YEARS",), core="Exp", origin="Assigned"),
        Var("SEX", "Sex", length=1, terms=("F", "M", "U"), core="Req"),
        Var("RACE", "Race", length=40, core="Exp"),
        Var("ETHNIC", "Ethnicity", length=40),
        Var("ARMCD", "Planned Arm Code", length=20, core="Exp", origin="Assigned"),
        Var("ARM", "Description of Planned Arm", length=60, core="Exp", origin="Assigned"),
        Var("ACTARMCD", "Actual Arm Code", length=20, core="Exp", origin="Derived"),
        Var("ACTARM", "Description of Actual Arm", length=60, core="Exp", origin="Derived"),
        Var("ARMNRS", "Reason Arm and/or Actual Arm is Null", length=25, terms=ARMNRS, origin="Derived"),
        Var("ACTARMUD", "Description of Unplanned Actual Arm", length=60),
        Var("COUNTRY", "Country", length=3, core="Req"),
        dtc_var("DMDTC", "Date/Time of Collection"),
        dy_var("DMDY", "Study Day of Collection"),
    ),
)

AE = Dataset(
    "AE",
    "Adverse Events",
    ("STUDYID", "USUBJID", "AESEQ"),
    (
        *ids("AE"),
        *seq_vars("AE"),
        Var("AETERM", "Reported Term for the Adverse Event", core="Req"),
        Var("AELLT", "Lowest Level Term", length=100, core="Exp", origin="Assigned"),
        Var("AELLTCD", "Lowest Level Term Code", "Num", 8, core="Exp", origin="Assigned"),
        Var("AEDECOD", "Dictionary-Derived Term", length=100, core="Req", origin="Assigned"),
        Var("AEPTCD", "Preferred Term Code", "Num", 8, core="Exp", origin="Assigned"),
        Var("AEHLT", "High Level Term", length=100, core="Exp", origin="Assigned"),
        Var("AEHLTCD", "High Level Term Code", "Num", 8, core="Exp", origin="Assigned"),
        Var("AEHLGT", "High Level Group Term", length=100, core="Exp", origin="Assigned"),
        Var("AEHLGTCD", "High Level Group Term Code", "Num", 8, core="Exp", origin="Assigned"),
        Var("AEBODSYS", "Body System or Organ Class", length=100, core="Exp", origin="Assigned"),
        Var("AEBDSYCD", "Body System or Organ Class Code", "Num", 8, core="Exp", origin="Assigned"),
        Var("AESOC", "Primary System Organ Class", length=100, core="Exp", origin="Assigned"),
        Var("AESOCCD", "Primary System Organ Class Code", "Num", 8, core="Exp", origin="Assigned"),
        Var("AESER", "Serious Event", length=1, terms=NY, core="Exp"),
        Var("AEACN", "Action Taken with Study Treatment", length=20, terms=ACN, core="Exp"),
        Var("AEREL", "Causality", length=20, terms=AEREL_TERMS, core="Exp", origin="Derived"),
        Var("AEOUT", "Outcome of Adverse Event", length=40, terms=OUT),
        Var("AESCONG", "Congenital Anomaly or Birth Defect", length=1, terms=NY),
        Var("AESDISAB", "Persist or Signif Disability/Incapacity", length=1, terms=NY),
        Var("AESDTH", "Results in Death", length=1, terms=NY),
        Var("AESHOSP", "Requires or Prolongs Hospitalization", length=1, terms=NY),
        Var("AESLIFE", "Is Life Threatening", length=1, terms=NY),
        Var("AESMIE", "Other Medically Important Serious Event", length=1, terms=NY),
        Var("AETOXGR", "Standard Toxicity Grade", length=1, terms=TOXGR, core="Exp"),
        epoch_var(),
        dtc_var("AESTDTC", "Start Date/Time of Adverse Event", 10),
        dtc_var("AEENDTC", "End Date/Time of Adverse Event", 10),
        dy_var("AESTDY", "Study Day of Start of Adverse Event"),
        dy_var("AEENDY", "Study Day of End of Adverse Event"),
        Var("AEENRTPT", "End Relative to Reference Time Point", length=10, terms=("ONGOING",)),
        Var("AEENTPT", "End Reference Time Point", length=20),
    ),
)

SUPPAE = Dataset(
    "SUPPAE", "Supplemental Qualifiers for AE", ("STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"), SUPP_VARS
)
SUPPEX = Dataset(
    "SUPPEX", "Supplemental Qualifiers for EX", ("STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"), SUPP_VARS
)
SUPPAE_QUALIFIERS = {
    "AERELTRC": "Relationship to 89Zr-Df-crefmirlimab",
    "AERELPD1": "Relationship to anti-PD-1 antibody",
    "AERELPET": "Relationship to PET procedure",
    "AERELBX": "Relationship to biopsy",
    "AECTCV": "CTCAE Version",
    "AEIMMUN": "Immune-Related Adverse Event",
    "AECODNT": "Dictionary Coding Note",
}
SUPPEX_QUALIFIERS = {"EXMASSMG": "Tracer mass dose (mg)"}

EX = Dataset(
    "EX",
    "Exposure",
    ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC", "EXSEQ"),
    (
        *ids("EX"),
        *seq_vars("EX"),
        Var("EXTRT", "Name of Treatment", length=40, core="Req"),
        Var("EXDOSE", "Dose", "Num", 8, core="Exp"),
        Var("EXDOSU", "Dose Units", length=8, terms=("MBq", "mg"), core="Exp"),
        Var("EXDOSFRM", "Dose Form", length=20, terms=("SOLUTION",), core="Exp"),
        Var("EXROUTE", "Route of Administration", length=20, terms=("INTRAVENOUS",)),
        *visit_vars(),
        dtc_var("EXSTDTC", "Start Date/Time of Treatment", LOCAL_DTC),
        dtc_var("EXENDTC", "End Date/Time of Treatment", LOCAL_DTC),
        dy_var("EXSTDY", "Study Day of Start of Treatment"),
        dy_var("EXENDY", "Study Day of End of Treatment"),
    ),
)

TU = Dataset(
    "TU",
    "Tumor/Lesion Identification",
    ("STUDYID", "USUBJID", "TULNKID"),
    (
        *ids("TU"),
        *seq_vars("TU"),
        Var("TULNKID", "Link ID", length=16, core="Exp"),
        Var("TUTESTCD", "Tumor/Lesion ID Short Name", length=8, terms=("TUMIDENT",), core="Req"),
        Var("TUTEST", "Tumor/Lesion ID Test Name", length=40, terms=("Tumor Identification",), core="Req"),
        Var(
            "TUORRES", "Tumor/Lesion ID Result", length=12, terms=("TARGET", "NON-TARGET", "NEW"), core="Exp"
        ),
        Var(
            "TUSTRESC", "Tumor/Lesion ID Result Std. Format", length=12, terms=("TARGET", "NON-TARGET", "NEW")
        ),
        Var("TULOC", "Location of the Tumor/Lesion", length=60, core="Exp"),
        Var("TUMETHOD", "Method of Identification", length=20, terms=METHODS, core="Exp"),
        *visit_vars(),
        dtc_var("TUDTC", "Date/Time of Tumor ID"),
        dy_var("TUDY", "Study Day of Tumor ID"),
    ),
)

TR_TESTS = {
    "LDIAM": "Longest Diameter",
    "LPERP": "Longest Perpendicular",
    "SUMDIAM": "Sum of Diameter",
    "TUMSTATE": "Tumor State",
    "SUVMAX": "SUV Maximum",
    "SUVMEAN": "SUV Mean",
    "SUVPEAK": "SUV Peak",
}
TUMSTATE = ("PRESENT", "ABSENT", "UNEQUIVOCAL PROGRESSION")
TR = Dataset(
    "TR",
    "Tumor/Lesion Results",
    ("STUDYID", "USUBJID", "TRLNKID", "TRTESTCD", "TRDTC", "TRSEQ"),
    (
        *ids("TR"),
        *seq_vars("TR"),
        Var("TRGRPID", "Group ID", length=12),
        Var("TRLNKID", "Link ID", length=16, core="Exp"),
        Var("TRTESTCD", "Tumor/Lesion Assessment Short Name", length=8, terms=tuple(TR_TESTS), core="Req"),
        Var(
            "TRTEST",
            "Tumor/Lesion Assessment Test Name",
            length=40,
            terms=tuple(TR_TESTS.values()),
            core="Req",
        ),
        Var("TRORRES", "Result or Finding in Original Units", length=24, core="Exp"),
        Var("TRORRESU", "Original Units", length=8, terms=("mm", "g/mL")),
        Var("TRSTRESC", "Character Result/Finding in Std Format", length=24, core="Exp"),
        Var("TRSTRESN", "Numeric Result/Finding in Std Units", "Num", 8),
        Var("TRSTRESU", "Standard Units", length=8, terms=("mm", "g/mL")),
        Var("TRSTAT", "Completion Status", length=8, terms=("NOT DONE",)),
        Var("TRMETHOD", "Method Used to Identify the Tumor", length=20, terms=METHODS),
        *visit_vars(),
        dtc_var("TRDTC", "Date/Time of Tumor Measurement", LOCAL_DTC),
        dy_var("TRDY", "Study Day of Tumor Measurement"),
    ),
)

RS_TESTS = {
    "OVRLRESP": "Overall Response",
    "TRGRESP": "Target Response",
    "NTRGRESP": "Non-target Response",
    "BESTRESP": "Best Overall Response",
}
RS = Dataset(
    "RS",
    "Disease Response and Clin Classification",
    ("STUDYID", "USUBJID", "RSCAT", "RSTESTCD", "RSDTC", "RSSEQ"),
    (
        *ids("RS"),
        *seq_vars("RS"),
        Var("RSTESTCD", "Assessment Short Name", length=8, terms=tuple(RS_TESTS), core="Req"),
        Var("RSTEST", "Assessment Name", length=40, terms=tuple(RS_TESTS.values()), core="Req"),
        Var("RSCAT", "Category for Assessment", length=12, terms=("RECIST 1.1", "iRECIST"), core="Exp"),
        Var("RSORRES", "Result or Finding in Original Units", length=20, terms=RECIST_RESP, core="Exp"),
        Var("RSSTRESC", "Character Result/Finding in Std Format", length=20, terms=RECIST_RESP, core="Exp"),
        Var("RSEVAL", "Evaluator", length=20, terms=("INVESTIGATOR",)),
        *visit_vars(),
        dtc_var("RSDTC", "Date/Time of Assessment"),
        dy_var("RSDY", "Study Day of Assessment"),
    ),
)

MI = Dataset(
    "MI",
    "Microscopic Findings",
    ("STUDYID", "USUBJID", "MIREFID", "MITESTCD", "MITSTDTL", "MIEVALID", "MISEQ"),
    (
        *ids("MI"),
        *seq_vars("MI"),
        Var("MIREFID", "Reference ID", length=40),
        Var("MITESTCD", "Microscopic Examination Short Name", length=8, core="Req"),
        Var("MITEST", "Microscopic Examination Name", length=40, core="Req"),
        Var("MITSTDTL", "Microscopic Examination Detail", length=40),
        Var("MIORRES", "Result or Finding in Original Units", length=20, core="Exp"),
        Var("MIORRESU", "Original Units", length=12, terms=("/mm2", "%")),
        Var("MISTRESC", "Character Result/Finding in Std Format", length=20, core="Exp"),
        Var("MISTRESN", "Numeric Result/Finding in Std Units", "Num", 8),
        Var("MISTRESU", "Standard Units", length=12, terms=("/mm2", "%")),
        Var("MISPEC", "Specimen Material Type", length=20, terms=("TISSUE",)),
        Var("MILOC", "Specimen Location", length=60),
        Var("MIMETHOD", "Method of Test or Examination", length=40, terms=("IHC",)),
        Var("MIEVAL", "Evaluator", length=20, terms=("PATHOLOGIST",)),
        Var("MIEVALID", "Evaluator Identifier", length=20, terms=("PATHOLOGIST 1", "PATHOLOGIST 2")),
        *visit_vars(),
        dtc_var("MIDTC", "Date/Time of Specimen Collection"),
        dy_var("MIDY", "Study Day of Specimen Collection"),
    ),
)

DATASETS = (DM, AE, SUPPAE, EX, SUPPEX, TU, TR, RS, MI)
CLASSES = {
    "DM": "SPECIAL PURPOSE",
    "AE": "EVENTS",
    "EX": "INTERVENTIONS",
    "TU": "FINDINGS",
    "TR": "FINDINGS",
    "RS": "FINDINGS",
    "MI": "FINDINGS",
    "SUPPAE": "RELATIONSHIP",
    "SUPPEX": "RELATIONSHIP",
}
STRUCTURES = {
    "DM": "One record per subject",
    "AE": "One record per adverse event per subject",
    "EX": "One record per administration per subject",
    "TU": "One record per identified tumor per subject",
    "TR": "One record per tumor measurement, sum of diameters, tumor state or SUV result per visit per subject",
    "RS": "One record per response assessment per visit per subject",
    "MI": "One record per IHC finding per specimen per evaluator",
    "SUPPAE": "One record per supplemental qualifier per AE",
    "SUPPEX": "One record per supplemental qualifier per exposure record",
}
