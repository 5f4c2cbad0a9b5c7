"""Define-XML 2.1 of the SDTM datasets: datasets with their variables, origins (collected, assigned, derived
with the method), value-level metadata for the TR and MI results, code lists, and links to the XPT files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.apps import apps
from lxml import etree

from exports import meddra, sdtm, sdtm_clinical, sdtm_core, sdtm_design, sdtm_files
from exports.sdtm_vars import CT_VERSION, SDTMIG_VERSION

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

CLASSES = {**sdtm_core.CLASSES, **sdtm_clinical.CLASSES, **sdtm_design.CLASSES}
STRUCTURES = {**sdtm_core.STRUCTURES, **sdtm_clinical.STRUCTURES, **sdtm_design.STRUCTURES}
METHODS = {
    "MT.SEQ": (
        "Algorithm to derive --SEQ",
        "Sequential number of the subject's records in the domain, in the order of the keys.",
    ),
    "MT.USUBJID": (
        "Algorithm to derive USUBJID",
        "STUDYID and the participant's study id joined by '-'; a screening-log screen failure: STUDYID, site "
        "code and SF with the log entry's number.",
    ),
    "MT.RFSTDTC": (
        "Algorithm to derive RFSTDTC/RFXSTDTC",
        "Site-local date/time (with UTC offset) of the first 89Zr-Df-crefmirlimab injection.",
    ),
    "MT.RFXENDTC": (
        "Algorithm to derive RFXENDTC",
        "Site-local date/time of the last administration of a study treatment (tracer or anti-PD-1).",
    ),
    "MT.RFENDTC": ("Algorithm to derive RFENDTC", "End-of-study date, else RFXENDTC."),
    "MT.RFPENDTC": (
        "Algorithm to derive RFPENDTC",
        "Latest of the end-of-study, last contact and death dates; the screen failure date for screen failures.",
    ),
    "MT.DTH": (
        "Algorithm to derive DTHDTC/DTHFL",
        "Death date of the end-of-study form, else of a fatal adverse event; DTHFL Y when there is one.",
    ),
    "MT.AGE": (
        "Algorithm to derive AGE",
        "Completed years at informed consent (RFICDTC); the casebook keeps the year of birth only, so the birth "
        "date is taken as 1 July of that year.",
    ),
    "MT.ACTARM": (
        "Algorithm to derive ACTARMCD/ACTARM/ARMNRS",
        "The planned arm when a tracer dose was given; else empty with ARMNRS ASSIGNED, NOT TREATED; screen "
        "failures have no arm and ARMNRS SCREEN FAILURE.",
    ),
    "MT.DICT": (
        "MedDRA coding of adverse events",
        "The CTCAE v5.0 term is a MedDRA lowest level term; AELLT..AESOCCD follow its primary path in the loaded "
        "MedDRA release. Without one, AELLT/AELLTCD/AEDECOD hold the CTCAE term and code, AEBODSYS/AESOC the "
        "CTCAE SOC, and SUPPAE.AECODNT says so.",
    ),
    "MT.AEREL": (
        "Algorithm to derive AEREL",
        "Strongest relationship to a study treatment (89Zr-Df-crefmirlimab or the anti-PD-1 antibody); each "
        "product's and procedure's relationship is in SUPPAE (AERELTRC, AERELPD1, AERELPET, AERELBX).",
    ),
    "MT.SE": (
        "Algorithm to derive subject elements",
        "SCRN from informed consent to the first 89Zr-Df-crefmirlimab injection (or the screen failure); TRT "
        "from that injection to the end-of-study date.",
    ),
    "MT.SUV": (
        "SUV from the PET series",
        "QIBA SUVbw over the VOI (max, mean, 1 mL peak), computed by the "
        "system's PET engine from the de-identified DICOM series; engine version and input checksums "
        "are kept with each result.",
    ),
    "MT.RECIST": (
        "RECIST 1.1 / iRECIST response",
        "Computed by the response engine from the target and "
        "non-target lesion measurements of the visit and the nadir.",
    ),
    "MT.SPSEQ": (
        "Algorithm to derive a stable --SEQ",
        "Stable: (rank of the source record among the subject's records of the domain in creation order, voided "
        "ones included - 1) x the number of rows a record may give + the row's slot; --SPID names the record.",
    ),
    "MT.DY": (
        "Algorithm to derive --DY",
        "Site-local date minus the site-local date of RFSTDTC (first tracer injection), plus 1 when on or after "
        "it (no day 0).",
    ),
    "MT.EPOCH": (
        "Algorithm to derive EPOCH",
        "SCREENING before the first 89Zr-Df-crefmirlimab injection (RFSTDTC), TREATMENT from it on.",
    ),
    "MT.VISITNUM": (
        "Algorithm to derive VISITNUM",
        "Rank of the visit in the participant's schedule ordered by planned date, then entry order.",
    ),
    "MT.NRIND": (
        "Algorithm to derive LBNRIND",
        "LOW below the site laboratory's lower limit, HIGH above its upper limit, else NORMAL; empty without "
        "a reference range.",
    ),
    "MT.CTCAE": (
        "CTCAE v5.0 grading of laboratory values",
        "Graded on entry by the system's lab grading engine from the value, unit, reference range and the "
        "baseline (CTCAE v5.0 bands, milder grade on a band edge); 0 = within no graded band; empty for tests "
        "CTCAE v5.0 does not grade by value.",
    ),
    "MT.PKACT": (
        "Serum activity from gamma-counter counts",
        "(gross - background counts) / counting time / counter efficiency x calibration factor / sample volume, "
        "decay-corrected from the counting time to the injection with the 89Zr half-life (78.41 h); Bq/mL.",
    ),
}
# Variables derived by the system (origin Derived, with their method); the rest follow Var.origin.
DERIVED = {
    "USUBJID": "MT.USUBJID",
    "RFSTDTC": "MT.RFSTDTC",
    "RFXSTDTC": "MT.RFSTDTC",
    "RFXENDTC": "MT.RFXENDTC",
    "RFENDTC": "MT.RFENDTC",
    "RFPENDTC": "MT.RFPENDTC",
    "DTHDTC": "MT.DTH",
    "DTHFL": "MT.DTH",
    "AGE": "MT.AGE",
    "ACTARMCD": "MT.ACTARM",
    "ACTARM": "MT.ACTARM",
    "ARMNRS": "MT.ACTARM",
    "AEREL": "MT.AEREL",
    "ETCD": "MT.SE",
    "SESTDTC": "MT.SE",
    "SEENDTC": "MT.SE",
    "RSORRES": "MT.RECIST",
    "RSSTRESC": "MT.RECIST",
    "TRSTRESN": "MT.SUV",
    "EPOCH": "MT.EPOCH",
    "VISITNUM": "MT.VISITNUM",
    "LBNRIND": "MT.NRIND",
    "LBTOX": "MT.CTCAE",
    "LBTOXGR": "MT.CTCAE",
    "PCORRES": "MT.PKACT",
    "PCSTRESC": "MT.PKACT",
    "PCSTRESN": "MT.PKACT",
}
SPID_DOMAINS = {ds.name for ds in (*sdtm_clinical.DATASETS, *sdtm_core.DATASETS, *sdtm_design.DATASETS)}
METHODS |= sdtm_clinical.DEFINE_METHODS  # PP: the PK parameters' method (h16)
DERIVED |= sdtm_clinical.DEFINE_DERIVED
ASSIGNED_DICT = {
    "AELLT",
    "AELLTCD",
    "AEDECOD",
    "AEPTCD",
    "AEHLT",
    "AEHLTCD",
    "AEHLGT",
    "AEHLGTCD",
    "AEBODSYS",
    "AEBDSYCD",
    "AESOC",
    "AESOCCD",
}
COMMENTS = {  # variables the trial does not collect: empty, and define.xml says why
    "COM.NOTCOLL": (
        ("DM", "RACE"),
        ("DM", "ETHNIC"),
    ),
}
COMMENT_TEXT = {
    "COM.NOTCOLL": "Not collected: the trial's casebook has no race or ethnicity fields, so the variable is empty "
    "for every subject (no value is imputed).",
    "COM.TS": "Parameters the data cannot derive come from exports/data/trial_summary.json; those the sponsor "
    "has not filled yet are written with TSVALNF UNK.",
}
TR_UNITS = {"LDIAM": ("mm", "Collected"), "LPERP": ("mm", "Collected")}


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: object) -> etree._Element:
    node = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = text
    return node


def _description(parent: etree._Element, text: str) -> None:
    desc = _sub(parent, _q("Description"))
    _sub(desc, _q("TranslatedText"), text, **{XML_LANG: "en"})


def _origin(name: str, var: sdtm.Var) -> tuple[str, str, str | None]:
    """(def:Origin Type, Source, MethodOID) of a variable."""
    if name.endswith("SEQ") and var.type == "Num":
        stable = name[:2] in SPID_DOMAINS and name[:2] not in ("TS", "SE")
        return "Derived", "Sponsor", "MT.SPSEQ" if stable else "MT.SEQ"
    if var.origin == "Protocol":
        return "Protocol", "Sponsor", None
    if var.type == "Num" and name.endswith("DY"):
        return "Derived", "Sponsor", "MT.DY"
    if name in DERIVED:
        return "Derived", "Sponsor", DERIVED[name]
    if name in ASSIGNED_DICT:
        return "Assigned", "Sponsor", "MT.DICT"
    if var.origin == "Derived":
        return "Derived", "Sponsor", None
    if var.origin == "Assigned":
        return "Assigned", "Sponsor", None
    return "Collected", "Investigator", None


def _data_type(var: sdtm.Var) -> str:
    if var.type == "Num":
        return "integer" if sdtm_files.json_data_type(var) == "integer" else "float"
    return "datetime" if var.iso8601 else "text"


def _markers() -> list[tuple[str, str]]:
    try:
        model = apps.get_model("pathology", "MarkerDefinition")
    except LookupError:
        return []
    codes = {}
    for code, name in model.objects.order_by("code").values_list("code", "name"):
        codes.setdefault(code.upper().replace("-", "")[:8], name)
    return sorted(codes.items())


def document(created: dt.datetime) -> etree._Element:
    root = etree.Element(
        _q("ODM"),
        {
            "ODMVersion": "1.3.2",
            "FileOID": f"CD8PET.DEFINE.{created:%Y%m%dT%H%M%S}",
            "FileType": "Snapshot",
            "CreationDateTime": created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "Originator": "CD8-PET Trial Data Manager",
            "SourceSystem": "cd8pet-edc",
            "SourceSystemVersion": "1",
            _d("Context"): "Submission",
        },
        nsmap={None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS},
    )
    study = _sub(root, _q("Study"), OID=sdtm_files.STUDY_OID)
    gv = _sub(study, _q("GlobalVariables"))
    _sub(gv, _q("StudyName"), "CD8-PET")
    _sub(
        gv, _q("StudyDescription"), "89Zr-Df-crefmirlimab CD8 PET imaging before and during anti-PD-1 therapy"
    )
    _sub(gv, _q("ProtocolName"), "CD8-PET")
    mdv = _sub(
        study,
        _q("MetaDataVersion"),
        OID=sdtm_files.MDV_OID,
        Name="CD8-PET SDTM datasets",
        Description="SDTM tabulation datasets of the CD8-PET trial",
        **{_d("DefineVersion"): "2.1.0"},
    )
    standards = _sub(mdv, _d("Standards"))
    _sub(
        standards,
        _d("Standard"),
        OID="STD.SDTMIG",
        Name="SDTMIG",
        Type="IG",
        Version=SDTMIG_VERSION,
        Status="Final",
    )
    _sub(
        standards,
        _d("Standard"),
        OID="STD.CT",
        Name="CDISC/NCI",
        Type="CT",
        PublishingSet="SDTM",
        Version=CT_VERSION,
        Status="Final",
    )
    datasets = sdtm_files.domains()
    _value_lists(mdv)
    codelists: dict[str, tuple[str, tuple[str, ...]]] = {}
    for ds in datasets:
        _item_group(mdv, ds, codelists)
    for ds in datasets:
        for var in ds.variables:
            _item_def(mdv, ds, var, codelists)
    _vlm_item_defs(mdv)
    for oid, (name, terms) in codelists.items():
        cl = _sub(mdv, _q("CodeList"), OID=oid, Name=name, DataType="text", **{_d("StandardOID"): "STD.CT"})
        for term in terms:
            _sub(cl, _q("EnumeratedItem"), CodedValue=term)
    _meddra_codelist(mdv)
    for oid, (name, text) in METHODS.items():
        method = _sub(mdv, _q("MethodDef"), OID=oid, Name=name, Type="Computation")
        _description(method, text)
    for oid, text in COMMENT_TEXT.items():
        comment = _sub(mdv, _d("CommentDef"), OID=oid)
        _description(comment, text)
    return root


def _meddra_codelist(mdv: etree._Element) -> None:
    """The MedDRA dictionary the AE coding variables refer to (the loaded release, or CTCAE's MedDRA LLTs)."""
    version = meddra.current_version() or "CTCAE v5.0 MedDRA LLT codes (no MedDRA release loaded)"
    cl = _sub(mdv, _q("CodeList"), OID="CL.MEDDRA", Name="MedDRA", DataType="text")
    _sub(cl, _q("ExternalCodeList"), Dictionary="MedDRA", Version=version)


def _item_group(mdv: etree._Element, ds: sdtm.Dataset, codelists: dict) -> None:
    is_supp = ds.name.startswith("SUPP")
    group = _sub(
        mdv,
        _q("ItemGroupDef"),
        OID=f"IG.{ds.name}",
        Domain=ds.name[4:] if is_supp else ds.name,
        Name=ds.name,
        Repeating="No" if ds.name == "DM" else "Yes",
        IsReferenceData="Yes" if CLASSES[ds.name] == "TRIAL DESIGN" else "No",
        SASDatasetName=ds.name,
        Purpose="Tabulation",
        **{
            _d("Structure"): STRUCTURES[ds.name],
            _d("StandardOID"): "STD.SDTMIG",
            _d("ArchiveLocationID"): f"LF.{ds.name}",
            _d("CommentOID"): "COM.TS" if ds.name == "TS" else None,
        },
    )
    _description(group, ds.label)
    for n, var in enumerate(ds.variables, 1):
        _, _, method = _origin(var.name, var)
        attrs = {"ItemOID": f"IT.{ds.name}.{var.name}", "OrderNumber": n}
        attrs["Mandatory"] = "Yes" if var.core == "Req" else "No"
        if var.name in ds.keys:
            attrs["KeySequence"] = ds.keys.index(var.name) + 1
        if method:
            attrs["MethodOID"] = method
        _sub(group, _q("ItemRef"), **attrs)
    _sub(group, _d("Class"), Name=CLASSES[ds.name])
    leaf = _sub(group, _d("leaf"), ID=f"LF.{ds.name}", **{f"{{{XLINK_NS}}}href": f"{ds.name.lower()}.xpt"})
    _sub(leaf, _d("title"), f"{ds.name.lower()}.xpt")


def _item_def(mdv: etree._Element, ds: sdtm.Dataset, var: sdtm.Var, codelists: dict) -> None:
    data_type = _data_type(var)
    attrs = {"OID": f"IT.{ds.name}.{var.name}", "Name": var.name, "DataType": data_type}
    if data_type in ("text", "integer", "float"):
        attrs["Length"] = var.length
    attrs["SASFieldName"] = var.name
    comment = next((oid for oid, refs in COMMENTS.items() if (ds.name, var.name) in refs), None)
    if comment:
        attrs[_d("CommentOID")] = comment
    item = _sub(mdv, _q("ItemDef"), **attrs)
    _description(item, var.label)
    if var.terms:
        oid = f"CL.{ds.name}.{var.name}"
        codelists[oid] = (f"{ds.name} {var.label}", var.terms)
        _sub(item, _q("CodeListRef"), CodeListOID=oid)
    if (ds.name, var.name) in (("AE", n) for n in ASSIGNED_DICT if not n.endswith("CD")):
        _sub(item, _q("CodeListRef"), CodeListOID="CL.MEDDRA")
    kind, source, _ = _origin(var.name, var)
    _sub(item, _d("Origin"), Type=kind, Source=source)
    if (ds.name, var.name) in (("TR", "TRORRES"), ("MI", "MIORRES")):
        _sub(item, _d("ValueListRef"), ValueListOID=f"VL.{ds.name}.{var.name}")


def _vlm() -> dict[str, list[tuple[str, str, str, str]]]:
    """Value-level rows: domain -> [(test code, description, origin, method OID or '')]."""
    tr = []
    for code, name in sdtm.TR_TESTS.items():
        if code in TR_UNITS:
            tr.append((code, f"{name} (mm), measured by the radiologist", "Collected", ""))
        elif code == "SUMDIAM":
            tr.append((code, f"{name} (mm) of the target lesions", "Derived", "MT.RECIST"))
        elif code == "TUMSTATE":
            tr.append((code, f"{name} of a non-target lesion", "Collected", ""))
        else:
            tr.append((code, f"{name} (g/mL) of the lesion's VOI", "Derived", "MT.SUV"))
    mi = [(code, f"{name} IHC result (scorer's value)", "Collected", "") for code, name in _markers()]
    return {"TR": tr, "MI": mi}


def _value_lists(mdv: etree._Element) -> None:
    rows = _vlm()
    for domain, tests in rows.items():
        if not tests:
            continue
        vl = _sub(mdv, _d("ValueListDef"), OID=f"VL.{domain}.{domain}ORRES")
        for n, (code, _, _, method) in enumerate(tests, 1):
            ref = _sub(
                vl,
                _q("ItemRef"),
                ItemOID=f"IT.{domain}.{domain}ORRES.{code}",
                OrderNumber=n,
                Mandatory="No",
                MethodOID=method or None,
            )
            _sub(ref, _d("WhereClauseRef"), WhereClauseOID=f"WC.{domain}.{domain}TESTCD.{code}")
    for domain, tests in rows.items():
        for code, _, _, _ in tests:
            wc = _sub(mdv, _d("WhereClauseDef"), OID=f"WC.{domain}.{domain}TESTCD.{code}")
            check = _sub(
                wc,
                _q("RangeCheck"),
                Comparator="EQ",
                SoftHard="Soft",
                **{_d("ItemOID"): f"IT.{domain}.{domain}TESTCD"},
            )
            _sub(check, _q("CheckValue"), code)


def _vlm_item_defs(mdv: etree._Element) -> None:
    for domain, tests in _vlm().items():
        for code, text, origin, _ in tests:
            item = _sub(
                mdv,
                _q("ItemDef"),
                OID=f"IT.{domain}.{domain}ORRES.{code}",
                Name=f"{domain}ORRES",
                DataType="text",
                Length=20,
                SASFieldName=f"{domain}ORRES",
            )
            _description(item, text)
            _sub(
                item, _d("Origin"), Type=origin, Source="Investigator" if origin == "Collected" else "Sponsor"
            )


def chunks(created: dt.datetime) -> Iterator[bytes]:
    """define.xml (metadata only: small, written in one piece)."""
    yield etree.tostring(document(created), xml_declaration=True, encoding="UTF-8", pretty_print=True)
