"""PS3.15 Table E.1-1 as data (quant/dicom/data/ps3_15_table_e1_1.json) and the action of each row.

``action(row, options)``: the declared options' column wins (K keep over C clean), else the basic profile
code. Combined codes are resolved towards conformance: X/Z -> Z (the attribute stays, empty; such rows
are Type 2 or 3), X/D, X/Z/D and Z/D -> D (a dummy value, valid for Type 1 attributes such as
DeviceSerialNumber in Enhanced MR and SEG), X/Z/U* -> U (the sequence stays, its UIDs remapped).

``clean_text``: the Clean Descriptors option keeps only words of a fixed vocabulary of anatomical,
technical and trial terms, numbers and measurements (e.g. "Tumor Bed Block", "PET WB 48h", "CT_1");
every other word (a name, an initial, a free comment) is dropped; nothing left gives "CLEANED".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE_PATH = Path(__file__).resolve().parent / "data" / "ps3_15_table_e1_1.json"
OPTION_COLUMNS = {  # DeidOptions field -> Table E.1-1 column
    "retain_longitudinal_temporal": "rtnLongFullDatesOpt",
    "retain_patient_characteristics": "rtnPatCharsOpt",
    "retain_safe_private": "rtnSafePrivOpt",
    "clean_descriptors": "cleanDescOpt",
}
RESOLVED = {"X/Z": "Z", "X/D": "D", "X/Z/D": "D", "Z/D": "D", "X/Z/U*": "U"}
PRIVATE_ROW = "ggggeeee-where-gggg-is-odd"
CURVE_ROW, OVERLAY_ROWS = "(50XX,XXXX)", ("(60XX,4000)", "(60XX,3000)")


@dataclass(frozen=True)
class Row:
    name: str
    tag: str
    basic: str
    options: dict[str, str]

    @property
    def tag_int(self) -> int | None:
        match = re.fullmatch(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)", self.tag)
        return int(match.group(1) + match.group(2), 16) if match else None


@cache
def rows() -> tuple[Row, ...]:
    data = json.loads(TABLE_PATH.read_text())
    return tuple(
        Row(
            name=r["name"],
            tag=r["tag"] if r["id"] != PRIVATE_ROW else PRIVATE_ROW,
            basic=r["basicProfile"],
            options={k: v for k, v in r.items() if k.endswith("Opt")},
        )
        for r in data
    )


def action(row: Row, declared: tuple[str, ...]) -> str:
    """K, C, X, Z, D or U for a row under the declared option columns."""
    codes = [row.options[c] for c in declared if c in row.options]
    if "K" in codes:
        return "K"
    if "C" in codes:
        return "C"
    return RESOLVED.get(row.basic, row.basic)


@cache
def actions_by_tag(declared: tuple[str, ...]) -> dict[int, str]:
    return {row.tag_int: action(row, declared) for row in rows() if row.tag_int is not None}


SAFE_WORDS = frozenset(
    [
        "abdomen",
        "abdominal",
        "adrenal",
        "anterior",
        "aorta",
        "aortic",
        "apex",
        "area",
        "areola",
        "arm",
        "artery",
        "ascending",
        "attenuation",
        "axial",
        "axilla",
        "axillary",
        "b0",
        "background",
        "base",
        "bed",
        "biopsy",
        "bladder",
        "block",
        "blood",
        "body",
        "bone",
        "bones",
        "borders",
        "brain",
        "breast",
        "bronchus",
        "calibration",
        "cervical",
        "chest",
        "ctac",
        "ctv",
        "colon",
        "contrast",
        "coronal",
        "cortex",
        "cranial",
        "decay",
        "delay",
        "delayed",
        "descending",
        "diffusion",
        "distal",
        "duodenum",
        "dwi",
        "dynamic",
        "edema",
        "esophagus",
        "external",
        "eye",
        "femur",
        "field",
        "flair",
        "frame",
        "gallbladder",
        "gland",
        "gtv",
        "head",
        "heart",
        "hilar",
        "hilum",
        "iliac",
        "inferior",
        "inguinal",
        "intestine",
        "itv",
        "joint",
        "kidney",
        "kidneys",
        "knee",
        "lateral",
        "left",
        "leg",
        "lesion",
        "limb",
        "liver",
        "lobe",
        "low",
        "lt",
        "lumbar",
        "lung",
        "lungs",
        "lymph",
        "mask",
        "mass",
        "max",
        "mediastinal",
        "mediastinum",
        "medial",
        "met",
        "metastasis",
        "mip",
        "muscle",
        "mri",
        "nac",
        "neck",
        "node",
        "nodes",
        "nodule",
        "oar",
        "organ",
        "organs",
        "pancreas",
        "parotid",
        "pelvis",
        "pet",
        "peritoneum",
        "phantom",
        "pool",
        "portal",
        "posterior",
        "primary",
        "prostate",
        "proximal",
        "ptv",
        "rectum",
        "recon",
        "reference",
        "region",
        "renal",
        "rib",
        "right",
        "rim",
        "roi",
        "rt",
        "sagittal",
        "scar",
        "segment",
        "series",
        "skin",
        "skull",
        "small",
        "soft",
        "spine",
        "spinal",
        "spleen",
        "static",
        "stomach",
        "structure",
        "superior",
        "suv",
        "t1",
        "t2",
        "target",
        "testis",
        "thigh",
        "thoracic",
        "thorax",
        "thyroid",
        "tissue",
        "total",
        "trachea",
        "tumor",
        "tumour",
        "upper",
        "uterus",
        "vein",
        "vena",
        "vertebra",
        "voi",
        "volume",
        "wall",
        "wb",
        "whole",
        "ac",
        "adc",
        "ax",
        "cor",
        "sag",
        "ct",
        "mr",
        "pt",
        "pet/ct",
        "petct",
        "fdg",
        "zr",
        "zirconium",
        "crefmirlimab",
        "df",
        "cd8",
        "pd",
        "pdl1",
        "nivolumab",
        "cetrelimab",
        "baseline",
        "treatment",
        "on",
        "pre",
        "post",
        "screening",
        "visit",
        "day",
        "week",
        "scan",
        "h",
        "hr",
        "hrs",
        "min",
        "mm",
        "cm",
        "ml",
        "mbq",
        "kg",
        "apparent",
        "coefficient",
        "map",
        "bold",
        "mprage",
        "iso",
        "ep2d",
        "fmri",
        "dti",
        "trace",
        "tracew",
        "phase",
        "magnitude",
        "perfusion",
        "dce",
        "and",
        "of",
        "the",
        "with",
        "without",
        "in",
        "to",
        "at",
    ]
)
_MEASURE = re.compile(
    r"^(\d{1,3}(\.\d{1,3})?|\d{1,4}(\.\d{1,3})?(mm|cm|ml|h|hr|hrs|min|s|mbq|kg|d|x))$", re.IGNORECASE
)
_NUCLIDE = re.compile(r"^(\d{1,3}(zr|f|ga|cu|tc|in|i)|(zr|f|ga|cu|tc|in|i)\d{1,3})$", re.IGNORECASE)


def _safe_token(token: str) -> bool:
    lower = token.lower()
    return lower in SAFE_WORDS or bool(_MEASURE.match(token)) or bool(_NUCLIDE.match(token))


def clean_text(value: str) -> str:
    """A descriptor with only vocabulary words, numbers and measurements kept ("CLEANED" if none)."""
    out: list[str] = []
    separator = ""
    for token in re.findall(r"[A-Za-z0-9]+|[^A-Za-z0-9]+", str(value)):
        if not token[0].isalnum():
            separator += token
            continue
        if _safe_token(token):
            out.append((separator if out else "") + token)
        separator = ""
    text = "".join(out).strip(" _-^.,;:/\\(")
    return text or "CLEANED"
