"""CTCAE v5.0 laboratory criteria as data: the bands of each graded term, with the criterion text they come from.

Source: NCI, Common Terminology Criteria for Adverse Events v5.0 (27 Nov 2017), sheet "CTCAE v5.0 Clean
Copy" (see tests/data/ctcae_v5/SOURCE.md). Each band names the grade, its lower edge and the criterion
text it was read from. An edge is one of:

- ``Uln()`` / ``Lln()``: the site laboratory's upper / lower limit of normal,
- ``TimesUln(k)`` / ``TimesBaseline(k)``: k x ULN or k x the participant's baseline value,
- ``Absolute({unit: v, ...})``: a fixed value, given per unit exactly as CTCAE prints it (so a band edge in
  mmol/L is CTCAE's mmol/L figure, never a conversion of the mg/dL one),
- ``OverReference(g_per_dl)``: an increase above the reference (ULN, or an abnormal baseline) in g/dL
  (Hemoglobin increased).

A "high" term is graded when the value is above an edge, a "low" term when it is below (CTCAE's ">" and
"<": a value exactly on an edge stays in the milder grade). Grades that CTCAE defines only by symptoms,
intervention or life-threatening consequences are left out: grading is from the value alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

D = Decimal

COUNT_UNITS = ("10^9/L", "/mm3")
ENZYME_UNITS = ("U/L",)


@dataclass(frozen=True)
class Uln:
    """The laboratory's upper limit of normal."""


@dataclass(frozen=True)
class Lln:
    """The laboratory's lower limit of normal."""


@dataclass(frozen=True)
class TimesUln:
    factor: Decimal


@dataclass(frozen=True)
class TimesBaseline:
    factor: Decimal


@dataclass(frozen=True)
class Absolute:
    by_unit: dict[str, Decimal]


@dataclass(frozen=True)
class OverReference:
    g_per_dl: Decimal


Edge = Uln | Lln | TimesUln | TimesBaseline | Absolute | OverReference


@dataclass(frozen=True)
class Band:
    grade: int
    edge: Edge
    criterion: str


@dataclass(frozen=True)
class Criterion:
    """One CTCAE term of one lab test in one direction."""

    term: str
    direction: str  # "low" | "high"
    bands: tuple[Band, ...]
    # Bands that replace `bands` when the baseline is abnormal (above the ULN); empty = no baseline rule.
    abnormal_baseline_bands: tuple[Band, ...] = ()
    # Bands added to `bands` whenever a baseline is given (Creatinine increased: "x baseline; x ULN").
    baseline_extra: tuple[Band, ...] = ()


@dataclass(frozen=True)
class LabTest:
    code: str
    name: str
    units: tuple[str, ...]
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)


def _abs(**by_unit: str) -> Absolute:
    names = {
        "e9_l": "10^9/L",
        "mm3": "/mm3",
        "g_dl": "g/dL",
        "g_l": "g/L",
        "mmol_l": "mmol/L",
        "mg_dl": "mg/dL",
    }
    return Absolute({names[k]: D(v) for k, v in by_unit.items()})


def _counts_low(term: str, g1: str, cells: list[tuple[int, str, str, str]]) -> Criterion:
    """A count term graded below LLN then below fixed counts given in /mm3 and 10^9/L."""
    bands = [Band(1, Lln(), g1)]
    bands += [Band(g, _abs(mm3=mm3, e9_l=si), text) for g, mm3, si, text in cells]
    return Criterion(term, "low", tuple(bands))


def _uln_multiples(term: str, cells: list[tuple[int, str, str]]) -> tuple[Band, ...]:
    return tuple(Band(g, Uln() if k == "1" else TimesUln(D(k)), text) for g, k, text in cells)


def _baseline_multiples(cells: list[tuple[int, str, str]]) -> tuple[Band, ...]:
    return tuple(Band(g, TimesBaseline(D(k)), text) for g, k, text in cells)


def _liver(
    term: str, texts: tuple[str, str, str, str], uln: tuple[str, str, str], base: tuple[str, str, str, str]
):
    """ALT/AST/ALP/GGT/bilirubin: x ULN if baseline was normal; x baseline if baseline was abnormal."""
    normal = _uln_multiples(
        term, [(1, "1", texts[0]), (2, uln[0], texts[1]), (3, uln[1], texts[2]), (4, uln[2], texts[3])]
    )
    abnormal = _baseline_multiples([(g, k, texts[g - 1]) for g, k in zip((1, 2, 3, 4), base, strict=True)])
    return Criterion(term, "high", normal, abnormal_baseline_bands=abnormal)


ALT_TEXTS = (
    ">ULN - 3.0 x ULN if baseline was normal; 1.5 - 3.0 x baseline if baseline was abnormal",
    ">3.0 - 5.0 x ULN if baseline was normal; >3.0 - 5.0 x baseline if baseline was abnormal",
    ">5.0 - 20.0 x ULN if baseline was normal; >5.0 - 20.0 x baseline if baseline was abnormal",
    ">20.0 x ULN if baseline was normal; >20.0 x baseline if baseline was abnormal",
)
ALP_TEXTS = (
    ">ULN - 2.5 x ULN if baseline was normal; 2.0 - 2.5 x baseline if baseline was abnormal",
    ">2.5 - 5.0 x ULN if baseline was normal; >2.5 - 5.0 x baseline if baseline was abnormal",
    ">5.0 - 20.0 x ULN if baseline was normal; >5.0 - 20.0 x baseline if baseline was abnormal",
    ">20.0 x ULN if baseline was normal; >20.0 x baseline if baseline was abnormal",
)
BILI_TEXTS = (
    ">ULN - 1.5 x ULN if baseline was normal; > 1.0 - 1.5 x baseline if baseline was abnormal",
    ">1.5 - 3.0 x ULN if baseline was normal; >1.5 - 3.0 x baseline if baseline was abnormal",
    ">3.0 - 10.0 x ULN if baseline was normal; >3.0 - 10.0 x baseline if baseline was abnormal",
    ">10.0 x ULN if baseline was normal; >10.0 x baseline if baseline was abnormal",
)
PANCREAS_TEXTS = (
    ">ULN - 1.5 x ULN",
    ">1.5 - 2.0 x ULN; >2.0 - 5.0 x ULN and asymptomatic",
    ">2.0 - 5.0 x ULN with signs or symptoms; >5.0 x ULN and asymptomatic",
)


def _pancreas(term: str) -> Criterion:
    # Grade 2 runs to 5.0 x ULN when asymptomatic; grade 4 needs signs or symptoms.
    t = PANCREAS_TEXTS
    return Criterion(term, "high", _uln_multiples(term, [(1, "1", t[0]), (2, "1.5", t[1]), (3, "5.0", t[2])]))


TESTS: dict[str, LabTest] = {
    t.code: t
    for t in (
        LabTest(
            "NEUT",
            "Neutrophils",
            COUNT_UNITS,
            (
                _counts_low(
                    "Neutrophil count decreased",
                    "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L",
                    [
                        (2, "1500", "1.5", "<1500 - 1000/mm3; <1.5 - 1.0 x 10e9 /L"),
                        (3, "1000", "1.0", "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"),
                        (4, "500", "0.5", "<500/mm3; <0.5 x 10e9 /L"),
                    ],
                ),
            ),
        ),
        LabTest(
            "PLAT",
            "Platelets",
            COUNT_UNITS,
            (
                _counts_low(
                    "Platelet count decreased",
                    "<LLN - 75,000/mm3; <LLN - 75.0 x 10e9 /L",
                    [
                        (2, "75000", "75.0", "<75,000 - 50,000/mm3; <75.0 - 50.0 x 10e9 /L"),
                        (3, "50000", "50.0", "<50,000 - 25,000/mm3; <50.0 - 25.0 x 10e9 /L"),
                        (4, "25000", "25.0", "<25,000/mm3; <25.0 x 10e9 /L"),
                    ],
                ),
            ),
        ),
        LabTest(
            "WBC",
            "Leukocytes",
            COUNT_UNITS,
            (
                _counts_low(
                    "White blood cell decreased",
                    "<LLN - 3000/mm3; <LLN - 3.0 x 10e9 /L",
                    [
                        (2, "3000", "3.0", "<3000 - 2000/mm3; <3.0 - 2.0 x 10e9 /L"),
                        (3, "2000", "2.0", "<2000 - 1000/mm3; <2.0 - 1.0 x 10e9 /L"),
                        (4, "1000", "1.0", "<1000/mm3; <1.0 x 10e9 /L"),
                    ],
                ),
                Criterion("Leukocytosis", "high", (Band(3, _abs(mm3="100000", e9_l="100"), ">100,000/mm3"),)),
            ),
        ),
        LabTest(
            "LYM",
            "Lymphocytes",
            COUNT_UNITS,
            (
                _counts_low(
                    "Lymphocyte count decreased",
                    "<LLN - 800/mm3; <LLN - 0.8 x 10e9/L",
                    [
                        (2, "800", "0.8", "<800 - 500/mm3; <0.8 - 0.5 x 10e9 /L"),
                        (3, "500", "0.5", "<500 - 200/mm3; <0.5 - 0.2 x 10e9 /L"),
                        (4, "200", "0.2", "<200/mm3; <0.2 x 10e9 /L"),
                    ],
                ),
                Criterion(
                    "Lymphocyte count increased",
                    "high",
                    (
                        Band(2, _abs(mm3="4000", e9_l="4.0"), ">4000/mm3 - 20,000/mm3"),
                        Band(3, _abs(mm3="20000", e9_l="20.0"), ">20,000/mm3"),
                    ),
                ),
            ),
        ),
        LabTest(
            "HGB",
            "Hemoglobin",
            ("g/dL", "g/L", "mmol/L"),
            (
                Criterion(
                    "Anemia",
                    "low",
                    (
                        Band(
                            1, Lln(), "Hemoglobin (Hgb) <LLN - 10.0 g/dL; <LLN - 6.2 mmol/L; <LLN - 100 g/L"
                        ),
                        Band(
                            2,
                            _abs(g_dl="10.0", mmol_l="6.2", g_l="100"),
                            "Hgb <10.0 - 8.0 g/dL; <6.2 - 4.9 mmol/L; <100 - 80g/L",
                        ),
                        Band(
                            3,
                            _abs(g_dl="8.0", mmol_l="4.9", g_l="80"),
                            "Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion indicated",
                        ),
                    ),
                ),
                Criterion(
                    "Hemoglobin increased",
                    "high",
                    (
                        Band(1, OverReference(D("0")), "Increase in >0 - 2 g/dL"),
                        Band(2, OverReference(D("2")), "Increase in >2 - 4 g/dL"),
                        Band(3, OverReference(D("4")), "Increase in >4 g/dL"),
                    ),
                ),
            ),
        ),
        LabTest(
            "ALT",
            "Alanine aminotransferase",
            ENZYME_UNITS,
            (
                _liver(
                    "Alanine aminotransferase increased",
                    ALT_TEXTS,
                    ("3.0", "5.0", "20.0"),
                    ("1.5", "3.0", "5.0", "20.0"),
                ),
            ),
        ),
        LabTest(
            "AST",
            "Aspartate aminotransferase",
            ENZYME_UNITS,
            (
                _liver(
                    "Aspartate aminotransferase increased",
                    ALT_TEXTS,
                    ("3.0", "5.0", "20.0"),
                    ("1.5", "3.0", "5.0", "20.0"),
                ),
            ),
        ),
        LabTest(
            "ALP",
            "Alkaline phosphatase",
            ENZYME_UNITS,
            (
                _liver(
                    "Alkaline phosphatase increased",
                    ALP_TEXTS,
                    ("2.5", "5.0", "20.0"),
                    ("2.0", "2.5", "5.0", "20.0"),
                ),
            ),
        ),
        LabTest(
            "GGT",
            "Gamma glutamyl transferase",
            ENZYME_UNITS,
            (_liver("GGT increased", ALP_TEXTS, ("2.5", "5.0", "20.0"), ("2.0", "2.5", "5.0", "20.0")),),
        ),
        LabTest(
            "BILI",
            "Bilirubin",
            ("umol/L", "mg/dL"),
            (
                _liver(
                    "Blood bilirubin increased",
                    BILI_TEXTS,
                    ("1.5", "3.0", "10.0"),
                    ("1.0", "1.5", "3.0", "10.0"),
                ),
            ),
        ),
        LabTest(
            "CREAT",
            "Creatinine",
            ("umol/L", "mg/dL"),
            (
                Criterion(
                    "Creatinine increased",
                    "high",
                    _uln_multiples(
                        "Creatinine increased",
                        [
                            (1, "1", ">ULN - 1.5 x ULN"),
                            (2, "1.5", ">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN"),
                            (3, "3.0", ">3.0 x baseline; >3.0 - 6.0 x ULN"),
                            (4, "6.0", ">6.0 x ULN"),
                        ],
                    ),
                    baseline_extra=_baseline_multiples(
                        [
                            (2, "1.5", ">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN"),
                            (3, "3.0", ">3.0 x baseline; >3.0 - 6.0 x ULN"),
                        ]
                    ),
                ),
            ),
        ),
        LabTest("LIPASE", "Lipase", ENZYME_UNITS, (_pancreas("Lipase increased"),)),
        LabTest("AMYLASE", "Amylase", ENZYME_UNITS, (_pancreas("Serum amylase increased"),)),
        LabTest(
            "CK",
            "Creatine kinase",
            ENZYME_UNITS,
            (
                Criterion(
                    "CPK increased",
                    "high",
                    _uln_multiples(
                        "CPK increased",
                        [
                            (1, "1", ">ULN - 2.5 x ULN"),
                            (2, "2.5", ">2.5 x ULN - 5 x ULN"),
                            (3, "5", ">5 x ULN - 10 x ULN"),
                            (4, "10", ">10 x ULN"),
                        ],
                    ),
                ),
            ),
        ),
        LabTest(
            "K",
            "Potassium",
            ("mmol/L",),
            (
                Criterion(
                    "Hypokalemia",
                    "low",
                    (
                        Band(1, Lln(), "<LLN - 3.0 mmol/L"),
                        Band(3, _abs(mmol_l="3.0"), "<3.0 - 2.5 mmol/L; hospitalization indicated"),
                        Band(4, _abs(mmol_l="2.5"), "<2.5 mmol/L; life-threatening consequences"),
                    ),
                ),
                Criterion(
                    "Hyperkalemia",
                    "high",
                    (
                        Band(1, Uln(), ">ULN - 5.5 mmol/L"),
                        Band(2, _abs(mmol_l="5.5"), ">5.5 - 6.0 mmol/L; intervention initiated"),
                        Band(3, _abs(mmol_l="6.0"), ">6.0 - 7.0 mmol/L; hospitalization indicated"),
                        Band(4, _abs(mmol_l="7.0"), ">7.0 mmol/L; life-threatening consequences"),
                    ),
                ),
            ),
        ),
        LabTest(
            "SODIUM",
            "Sodium",
            ("mmol/L",),
            (
                Criterion(
                    "Hyponatremia",
                    "low",
                    (
                        Band(1, Lln(), "<LLN - 130 mmol/L"),
                        Band(2, _abs(mmol_l="130"), "125-129 mmol/L and asymptomatic"),
                        Band(
                            3,
                            _abs(mmol_l="125"),
                            "125-129 mmol/L symptomatic; 120-124 mmol/L regardless of symptoms",
                        ),
                        Band(4, _abs(mmol_l="120"), "<120 mmol/L; life-threatening consequences"),
                    ),
                ),
                Criterion(
                    "Hypernatremia",
                    "high",
                    (
                        Band(1, Uln(), ">ULN - 150 mmol/L"),
                        Band(2, _abs(mmol_l="150"), ">150 - 155 mmol/L; intervention initiated"),
                        Band(3, _abs(mmol_l="155"), ">155 - 160 mmol/L; hospitalization indicated"),
                        Band(4, _abs(mmol_l="160"), ">160 mmol/L; life-threatening consequences"),
                    ),
                ),
            ),
        ),
        LabTest(
            "CA",
            "Calcium (corrected)",
            ("mg/dL", "mmol/L"),
            (
                Criterion(
                    "Hypocalcemia",
                    "low",
                    (
                        Band(
                            1,
                            Lln(),
                            "Corrected serum calcium of <LLN - 8.0 mg/dL; <LLN - 2.0 mmol/L; Ionized calcium <LLN - 1.0 mmol/L",
                        ),
                        Band(
                            2,
                            _abs(mg_dl="8.0", mmol_l="2.0"),
                            "Corrected serum calcium of <8.0 - 7.0 mg/dL; <2.0 - 1.75 mmol/L; Ionized calcium <1.0 - 0.9 mmol/L; symptomatic",
                        ),
                        Band(
                            3,
                            _abs(mg_dl="7.0", mmol_l="1.75"),
                            "Corrected serum calcium of <7.0 - 6.0 mg/dL; <1.75 - 1.5 mmol/L; Ionized calcium <0.9 - 0.8 mmol/L; hospitalization indicated",
                        ),
                        Band(
                            4,
                            _abs(mg_dl="6.0", mmol_l="1.5"),
                            "Corrected serum calcium of <6.0 mg/dL; <1.5 mmol/L; Ionized calcium <0.8 mmol/L; life-threatening consequences",
                        ),
                    ),
                ),
                Criterion(
                    "Hypercalcemia",
                    "high",
                    (
                        Band(
                            1,
                            Uln(),
                            "Corrected serum calcium of >ULN - 11.5 mg/dL; >ULN - 2.9 mmol/L; Ionized calcium >ULN - 1.5 mmol/L",
                        ),
                        Band(
                            2,
                            _abs(mg_dl="11.5", mmol_l="2.9"),
                            "Corrected serum calcium of >11.5 - 12.5 mg/dL; >2.9 - 3.1 mmol/L; Ionized calcium >1.5 - 1.6 mmol/L; symptomatic",
                        ),
                        Band(
                            3,
                            _abs(mg_dl="12.5", mmol_l="3.1"),
                            "Corrected serum calcium of >12.5 - 13.5 mg/dL; >3.1 - 3.4 mmol/L; Ionized calcium >1.6 - 1.8 mmol/L; hospitalization indicated",
                        ),
                        Band(
                            4,
                            _abs(mg_dl="13.5", mmol_l="3.4"),
                            "Corrected serum calcium of >13.5 mg/dL; >3.4 mmol/L; Ionized calcium >1.8 mmol/L; life-threatening consequences",
                        ),
                    ),
                ),
            ),
        ),
        LabTest(
            "MG",
            "Magnesium",
            ("mg/dL", "mmol/L"),
            (
                Criterion(
                    "Hypomagnesemia",
                    "low",
                    (
                        Band(1, Lln(), "<LLN - 1.2 mg/dL; <LLN - 0.5 mmol/L"),
                        Band(2, _abs(mg_dl="1.2", mmol_l="0.5"), "<1.2 - 0.9 mg/dL; <0.5 - 0.4 mmol/L"),
                        Band(3, _abs(mg_dl="0.9", mmol_l="0.4"), "<0.9 - 0.7 mg/dL; <0.4 - 0.3 mmol/L"),
                        Band(
                            4,
                            _abs(mg_dl="0.7", mmol_l="0.3"),
                            "<0.7 mg/dL; <0.3 mmol/L; life-threatening consequences",
                        ),
                    ),
                ),
                Criterion(
                    "Hypermagnesemia",
                    "high",
                    (
                        Band(1, Uln(), ">ULN - 3.0 mg/dL; >ULN - 1.23 mmol/L"),
                        Band(3, _abs(mg_dl="3.0", mmol_l="1.23"), ">3.0 - 8.0 mg/dL; >1.23 - 3.30 mmol/L"),
                        Band(
                            4,
                            _abs(mg_dl="8.0", mmol_l="3.30"),
                            ">8.0 mg/dL; >3.30 mmol/L; life-threatening consequences",
                        ),
                    ),
                ),
            ),
        ),
        LabTest(
            "GLUC",
            "Glucose",
            ("mg/dL", "mmol/L"),
            (
                # Hyperglycemia in v5.0 is graded by management (no value bands), so a high glucose is not graded.
                Criterion(
                    "Hypoglycemia",
                    "low",
                    (
                        Band(1, Lln(), "<LLN - 55 mg/dL; <LLN - 3.0 mmol/L"),
                        Band(2, _abs(mg_dl="55", mmol_l="3.0"), "<55 - 40 mg/dL; <3.0 - 2.2 mmol/L"),
                        Band(3, _abs(mg_dl="40", mmol_l="2.2"), "<40 - 30 mg/dL; <2.2 - 1.7 mmol/L"),
                        Band(
                            4,
                            _abs(mg_dl="30", mmol_l="1.7"),
                            "<30 mg/dL; <1.7 mmol/L; life-threatening consequences; seizures",
                        ),
                    ),
                ),
            ),
        ),
        LabTest(
            "ALB",
            "Albumin",
            ("g/dL", "g/L"),
            (
                Criterion(
                    "Hypoalbuminemia",
                    "low",
                    (
                        Band(1, Lln(), "<LLN - 3 g/dL; <LLN - 30 g/L"),
                        Band(2, _abs(g_dl="3", g_l="30"), "<3 - 2 g/dL; <30 - 20 g/L"),
                        Band(3, _abs(g_dl="2", g_l="20"), "<2 g/dL; <20 g/L"),
                    ),
                ),
            ),
        ),
    )
}

# Hemoglobin: 1 g/dL = 0.6206 mmol/L (monomer, 16.1145 kg/mol), 10 g/L.
HGB_PER_G_DL = {"g/dL": D("1"), "g/L": D("10"), "mmol/L": D("0.6206")}
