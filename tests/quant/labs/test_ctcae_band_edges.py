"""CTCAE v5.0 lab grading at every band edge of every listed test: just inside the milder band, exactly on the
edge (milder grade: CTCAE's "<" / ">"), and just past it (the more severe grade).

Each edge cites the CTCAE v5.0 criterion text of the more severe grade; the test also checks that this text is
the one printed in the shipped CTCAE v5.0 sheet (safety/data/ctcae_v5/ctcae_v5.csv, from NCI's workbook) for
that term and grade, so a citation cannot drift from the source.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from quant.labs import grade_values

CSV = Path(__file__).resolve().parents[3] / "safety" / "data" / "ctcae_v5" / "ctcae_v5.csv"
CTCAE = {r["term"]: r for r in csv.DictReader(CSV.open(encoding="utf-8"))}

# (test, unit, lln, uln, baseline, direction, edge, milder grade, severe grade, term, criterion of severe grade)
EDGES: list[tuple] = []


def edges(test, unit, lln, uln, direction, term, cells, baseline="", step="0.01"):
    for edge, milder, severe, text in cells:
        EDGES.append((test, unit, lln, uln, baseline, direction, edge, milder, severe, term, text, step))


# Neutrophil count decreased
N = "Neutrophil count decreased"
edges(
    "NEUT",
    "10^9/L",
    "2.0",
    "7.5",
    "low",
    N,
    [
        ("2.0", 0, 1, "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L"),
        ("1.5", 1, 2, "<1500 - 1000/mm3; <1.5 - 1.0 x 10e9 /L"),
        ("1.0", 2, 3, "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"),
        ("0.5", 3, 4, "<500/mm3; <0.5 x 10e9 /L"),
    ],
)
edges(
    "NEUT",
    "/mm3",
    "2000",
    "7500",
    "low",
    N,
    [
        ("2000", 0, 1, "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L"),
        ("1500", 1, 2, "<1500 - 1000/mm3; <1.5 - 1.0 x 10e9 /L"),
        ("1000", 2, 3, "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"),
        ("500", 3, 4, "<500/mm3; <0.5 x 10e9 /L"),
    ],
    step="1",
)
P = "Platelet count decreased"
edges(
    "PLAT",
    "10^9/L",
    "150",
    "400",
    "low",
    P,
    [
        ("150", 0, 1, "<LLN - 75,000/mm3; <LLN - 75.0 x 10e9 /L"),
        ("75.0", 1, 2, "<75,000 - 50,000/mm3; <75.0 - 50.0 x 10e9 /L"),
        ("50.0", 2, 3, "<50,000 - 25,000/mm3; <50.0 - 25.0 x 10e9 /L"),
        ("25.0", 3, 4, "<25,000/mm3; <25.0 x 10e9 /L"),
    ],
)
edges(
    "PLAT",
    "/mm3",
    "150000",
    "400000",
    "low",
    P,
    [
        ("75000", 1, 2, "<75,000 - 50,000/mm3; <75.0 - 50.0 x 10e9 /L"),
        ("50000", 2, 3, "<50,000 - 25,000/mm3; <50.0 - 25.0 x 10e9 /L"),
        ("25000", 3, 4, "<25,000/mm3; <25.0 x 10e9 /L"),
    ],
    step="1",
)
W = "White blood cell decreased"
edges(
    "WBC",
    "10^9/L",
    "4.0",
    "10.0",
    "low",
    W,
    [
        ("4.0", 0, 1, "<LLN - 3000/mm3; <LLN - 3.0 x 10e9 /L"),
        ("3.0", 1, 2, "<3000 - 2000/mm3; <3.0 - 2.0 x 10e9 /L"),
        ("2.0", 2, 3, "<2000 - 1000/mm3; <2.0 - 1.0 x 10e9 /L"),
        ("1.0", 3, 4, "<1000/mm3; <1.0 x 10e9 /L"),
    ],
)
edges(
    "WBC",
    "/mm3",
    "4000",
    "10000",
    "low",
    W,
    [
        ("3000", 1, 2, "<3000 - 2000/mm3; <3.0 - 2.0 x 10e9 /L"),
        ("2000", 2, 3, "<2000 - 1000/mm3; <2.0 - 1.0 x 10e9 /L"),
        ("1000", 3, 4, "<1000/mm3; <1.0 x 10e9 /L"),
    ],
    step="1",
)
edges("WBC", "10^9/L", "4.0", "10.0", "high", "Leukocytosis", [("100", 0, 3, ">100,000/mm3")])
edges("WBC", "/mm3", "4000", "10000", "high", "Leukocytosis", [("100000", 0, 3, ">100,000/mm3")], step="1")
L = "Lymphocyte count decreased"
edges(
    "LYM",
    "10^9/L",
    "1.0",
    "3.5",
    "low",
    L,
    [
        ("1.0", 0, 1, "<LLN - 800/mm3; <LLN - 0.8 x 10e9/L"),
        ("0.8", 1, 2, "<800 - 500/mm3; <0.8 - 0.5 x 10e9 /L"),
        ("0.5", 2, 3, "<500 - 200/mm3; <0.5 - 0.2 x 10e9 /L"),
        ("0.2", 3, 4, "<200/mm3; <0.2 x 10e9 /L"),
    ],
)
edges(
    "LYM",
    "/mm3",
    "1000",
    "3500",
    "low",
    L,
    [
        ("800", 1, 2, "<800 - 500/mm3; <0.8 - 0.5 x 10e9 /L"),
        ("500", 2, 3, "<500 - 200/mm3; <0.5 - 0.2 x 10e9 /L"),
        ("200", 3, 4, "<200/mm3; <0.2 x 10e9 /L"),
    ],
    step="1",
)
LI = "Lymphocyte count increased"
edges(
    "LYM",
    "10^9/L",
    "1.0",
    "3.5",
    "high",
    LI,
    [("4.0", 0, 2, ">4000/mm3 - 20,000/mm3"), ("20.0", 2, 3, ">20,000/mm3")],
)
edges(
    "LYM",
    "/mm3",
    "1000",
    "3500",
    "high",
    LI,
    [("4000", 0, 2, ">4000/mm3 - 20,000/mm3"), ("20000", 2, 3, ">20,000/mm3")],
    step="1",
)
A = "Anemia"
A1 = "Hemoglobin (Hgb) <LLN - 10.0 g/dL; <LLN - 6.2 mmol/L; <LLN - 100 g/L"
A2 = "Hgb <10.0 - 8.0 g/dL; <6.2 - 4.9 mmol/L; <100 - 80g/L"
A3 = "Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion indicated"
edges("HGB", "g/dL", "12.0", "16.0", "low", A, [("12.0", 0, 1, A1), ("10.0", 1, 2, A2), ("8.0", 2, 3, A3)])
edges(
    "HGB", "g/L", "120", "160", "low", A, [("120", 0, 1, A1), ("100", 1, 2, A2), ("80", 2, 3, A3)], step="1"
)
edges("HGB", "mmol/L", "7.4", "9.9", "low", A, [("7.4", 0, 1, A1), ("6.2", 1, 2, A2), ("4.9", 2, 3, A3)])
H = "Hemoglobin increased"
H1, H2, H3 = "Increase in >0 - 2 g/dL", "Increase in >2 - 4 g/dL", "Increase in >4 g/dL"
edges("HGB", "g/dL", "12.0", "16.0", "high", H, [("16.0", 0, 1, H1), ("18.0", 1, 2, H2), ("20.0", 2, 3, H3)])
edges(
    "HGB", "g/L", "120", "160", "high", H, [("160", 0, 1, H1), ("180", 1, 2, H2), ("200", 2, 3, H3)], step="1"
)
# mmol/L: 2 g/dL = 1.2412 mmol/L (0.6206 mmol/L per g/dL).
edges(
    "HGB",
    "mmol/L",
    "7.4",
    "9.9",
    "high",
    H,
    [("9.9", 0, 1, H1), ("11.1412", 1, 2, H2), ("12.3824", 2, 3, H3)],
    step="0.001",
)
# An abnormal baseline (above the ULN): the increase counts from the baseline.
edges(
    "HGB",
    "g/dL",
    "12.0",
    "16.0",
    "high",
    H,
    [("17.0", 0, 1, H1), ("19.0", 1, 2, H2), ("21.0", 2, 3, H3)],
    baseline="17.0",
)

LIVER = {
    "ALT": ("Alanine aminotransferase increased", ("3.0", "5.0", "20.0"), ("1.5", "3.0", "5.0", "20.0")),
    "AST": ("Aspartate aminotransferase increased", ("3.0", "5.0", "20.0"), ("1.5", "3.0", "5.0", "20.0")),
    "ALP": ("Alkaline phosphatase increased", ("2.5", "5.0", "20.0"), ("2.0", "2.5", "5.0", "20.0")),
    "GGT": ("GGT increased", ("2.5", "5.0", "20.0"), ("2.0", "2.5", "5.0", "20.0")),
    "BILI": ("Blood bilirubin increased", ("1.5", "3.0", "10.0"), ("1.0", "1.5", "3.0", "10.0")),
}
for code, (term, uln_k, base_k) in LIVER.items():
    unit = "umol/L" if code == "BILI" else "U/L"
    texts = [CTCAE[term][f"grade{g}"] for g in (1, 2, 3, 4)]
    # Baseline normal: ULN 40 and multiples of it; written out so a wrong factor in the table fails.
    uln = Decimal("40")
    cells = [(str(uln), 0, 1, texts[0])]
    cells += [(str(uln * Decimal(k)), g, g + 1, texts[g]) for g, k in zip((1, 2, 3), uln_k, strict=True)]
    edges(code, unit, "0", "40", "high", term, cells)
    # Baseline 60 (abnormal: above ULN 40): multiples of the baseline.
    base = Decimal("60")
    cells = [
        (str(base * Decimal(k)), g - 1, g, texts[g - 1]) for g, k in zip((1, 2, 3, 4), base_k, strict=True)
    ]
    edges(code, unit, "0", "40", "high", term, cells, baseline="60")

# Hand-computed values, independent of the loop above: ALT ULN 40 -> 120 / 200 / 800 U/L.
edges(
    "ALT",
    "U/L",
    "0",
    "40",
    "high",
    "Alanine aminotransferase increased",
    [
        (
            "120",
            1,
            2,
            ">3.0 - 5.0 x ULN if baseline was normal; >3.0 - 5.0 x baseline if baseline was abnormal",
        ),
        (
            "200",
            2,
            3,
            ">5.0 - 20.0 x ULN if baseline was normal; >5.0 - 20.0 x baseline if baseline was abnormal",
        ),
        ("800", 3, 4, ">20.0 x ULN if baseline was normal; >20.0 x baseline if baseline was abnormal"),
    ],
)
edges(
    "BILI",
    "mg/dL",
    "0.3",
    "1.2",
    "high",
    "Blood bilirubin increased",
    [
        (
            "1.2",
            0,
            1,
            ">ULN - 1.5 x ULN if baseline was normal; > 1.0 - 1.5 x baseline if baseline was abnormal",
        ),
        (
            "1.8",
            1,
            2,
            ">1.5 - 3.0 x ULN if baseline was normal; >1.5 - 3.0 x baseline if baseline was abnormal",
        ),
        (
            "3.6",
            2,
            3,
            ">3.0 - 10.0 x ULN if baseline was normal; >3.0 - 10.0 x baseline if baseline was abnormal",
        ),
        ("12.0", 3, 4, ">10.0 x ULN if baseline was normal; >10.0 x baseline if baseline was abnormal"),
    ],
)
C = "Creatinine increased"
C2, C3 = ">1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN", ">3.0 x baseline; >3.0 - 6.0 x ULN"
edges(
    "CREAT",
    "umol/L",
    "60",
    "100",
    "high",
    C,
    [
        ("100", 0, 1, ">ULN - 1.5 x ULN"),
        ("150", 1, 2, C2),
        ("300", 2, 3, C3),
        ("600", 3, 4, ">6.0 x ULN"),
    ],
)
edges(
    "CREAT",
    "mg/dL",
    "0.6",
    "1.1",
    "high",
    C,
    [
        ("1.1", 0, 1, ">ULN - 1.5 x ULN"),
        ("1.65", 1, 2, C2),
        ("3.3", 2, 3, C3),
        ("6.6", 3, 4, ">6.0 x ULN"),
    ],
    step="0.001",
)
# Baseline 80 umol/L: 1.5 x baseline = 120 (grade 1 by the ULN) and 3.0 x baseline = 240 (grade 2 by the ULN).
edges("CREAT", "umol/L", "60", "100", "high", C, [("120", 1, 2, C2), ("240", 2, 3, C3)], baseline="80")
PANC = (
    ">ULN - 1.5 x ULN",
    ">1.5 - 2.0 x ULN; >2.0 - 5.0 x ULN and asymptomatic",
    ">2.0 - 5.0 x ULN with signs or symptoms; >5.0 x ULN and asymptomatic",
)
edges(
    "LIPASE",
    "U/L",
    "0",
    "60",
    "high",
    "Lipase increased",
    [("60", 0, 1, PANC[0]), ("90", 1, 2, PANC[1]), ("300", 2, 3, PANC[2])],
)
edges(
    "AMYLASE",
    "U/L",
    "0",
    "100",
    "high",
    "Serum amylase increased",
    [("100", 0, 1, PANC[0]), ("150", 1, 2, PANC[1]), ("500", 2, 3, PANC[2])],
)
edges(
    "CK",
    "U/L",
    "0",
    "200",
    "high",
    "CPK increased",
    [
        ("200", 0, 1, ">ULN - 2.5 x ULN"),
        ("500", 1, 2, ">2.5 x ULN - 5 x ULN"),
        ("1000", 2, 3, ">5 x ULN - 10 x ULN"),
        ("2000", 3, 4, ">10 x ULN"),
    ],
)
edges(
    "K",
    "mmol/L",
    "3.5",
    "5.1",
    "low",
    "Hypokalemia",
    [
        ("3.5", 0, 1, "<LLN - 3.0 mmol/L"),
        ("3.0", 1, 3, "<3.0 - 2.5 mmol/L; hospitalization indicated"),
        ("2.5", 3, 4, "<2.5 mmol/L; life-threatening consequences"),
    ],
)
edges(
    "K",
    "mmol/L",
    "3.5",
    "5.1",
    "high",
    "Hyperkalemia",
    [
        ("5.1", 0, 1, ">ULN - 5.5 mmol/L"),
        ("5.5", 1, 2, ">5.5 - 6.0 mmol/L; intervention initiated"),
        ("6.0", 2, 3, ">6.0 - 7.0 mmol/L; hospitalization indicated"),
        ("7.0", 3, 4, ">7.0 mmol/L; life-threatening consequences"),
    ],
)
edges(
    "SODIUM",
    "mmol/L",
    "135",
    "145",
    "low",
    "Hyponatremia",
    [
        ("135", 0, 1, "<LLN - 130 mmol/L"),
        ("130", 1, 2, "125-129 mmol/L and asymptomatic"),
        ("125", 2, 3, "125-129 mmol/L symptomatic; 120-124 mmol/L regardless of symptoms"),
        ("120", 3, 4, "<120 mmol/L; life-threatening consequences"),
    ],
)
edges(
    "SODIUM",
    "mmol/L",
    "135",
    "145",
    "high",
    "Hypernatremia",
    [
        ("145", 0, 1, ">ULN - 150 mmol/L"),
        ("150", 1, 2, ">150 - 155 mmol/L; intervention initiated"),
        ("155", 2, 3, ">155 - 160 mmol/L; hospitalization indicated"),
        ("160", 3, 4, ">160 mmol/L; life-threatening consequences"),
    ],
)
HYPOCA = CTCAE["Hypocalcemia"]
HYPERCA = CTCAE["Hypercalcemia"]
edges(
    "CA",
    "mg/dL",
    "8.5",
    "10.5",
    "low",
    "Hypocalcemia",
    [
        ("8.5", 0, 1, HYPOCA["grade1"]),
        ("8.0", 1, 2, HYPOCA["grade2"]),
        ("7.0", 2, 3, HYPOCA["grade3"]),
        ("6.0", 3, 4, HYPOCA["grade4"]),
    ],
)
edges(
    "CA",
    "mmol/L",
    "2.15",
    "2.55",
    "low",
    "Hypocalcemia",
    [
        ("2.15", 0, 1, HYPOCA["grade1"]),
        ("2.0", 1, 2, HYPOCA["grade2"]),
        ("1.75", 2, 3, HYPOCA["grade3"]),
        ("1.5", 3, 4, HYPOCA["grade4"]),
    ],
)
edges(
    "CA",
    "mg/dL",
    "8.5",
    "10.5",
    "high",
    "Hypercalcemia",
    [
        ("10.5", 0, 1, HYPERCA["grade1"]),
        ("11.5", 1, 2, HYPERCA["grade2"]),
        ("12.5", 2, 3, HYPERCA["grade3"]),
        ("13.5", 3, 4, HYPERCA["grade4"]),
    ],
)
edges(
    "CA",
    "mmol/L",
    "2.15",
    "2.55",
    "high",
    "Hypercalcemia",
    [
        ("2.55", 0, 1, HYPERCA["grade1"]),
        ("2.9", 1, 2, HYPERCA["grade2"]),
        ("3.1", 2, 3, HYPERCA["grade3"]),
        ("3.4", 3, 4, HYPERCA["grade4"]),
    ],
)
edges(
    "MG",
    "mg/dL",
    "1.7",
    "2.2",
    "low",
    "Hypomagnesemia",
    [
        ("1.7", 0, 1, "<LLN - 1.2 mg/dL; <LLN - 0.5 mmol/L"),
        ("1.2", 1, 2, "<1.2 - 0.9 mg/dL; <0.5 - 0.4 mmol/L"),
        ("0.9", 2, 3, "<0.9 - 0.7 mg/dL; <0.4 - 0.3 mmol/L"),
        ("0.7", 3, 4, "<0.7 mg/dL; <0.3 mmol/L; life-threatening consequences"),
    ],
)
edges(
    "MG",
    "mmol/L",
    "0.7",
    "1.0",
    "low",
    "Hypomagnesemia",
    [
        ("0.7", 0, 1, "<LLN - 1.2 mg/dL; <LLN - 0.5 mmol/L"),
        ("0.5", 1, 2, "<1.2 - 0.9 mg/dL; <0.5 - 0.4 mmol/L"),
        ("0.4", 2, 3, "<0.9 - 0.7 mg/dL; <0.4 - 0.3 mmol/L"),
        ("0.3", 3, 4, "<0.7 mg/dL; <0.3 mmol/L; life-threatening consequences"),
    ],
)
edges(
    "MG",
    "mg/dL",
    "1.7",
    "2.2",
    "high",
    "Hypermagnesemia",
    [
        ("2.2", 0, 1, ">ULN - 3.0 mg/dL; >ULN - 1.23 mmol/L"),
        ("3.0", 1, 3, ">3.0 - 8.0 mg/dL; >1.23 - 3.30 mmol/L"),
        ("8.0", 3, 4, ">8.0 mg/dL; >3.30 mmol/L; life-threatening consequences"),
    ],
)
edges(
    "MG",
    "mmol/L",
    "0.7",
    "1.0",
    "high",
    "Hypermagnesemia",
    [
        ("1.0", 0, 1, ">ULN - 3.0 mg/dL; >ULN - 1.23 mmol/L"),
        ("1.23", 1, 3, ">3.0 - 8.0 mg/dL; >1.23 - 3.30 mmol/L"),
        ("3.30", 3, 4, ">8.0 mg/dL; >3.30 mmol/L; life-threatening consequences"),
    ],
)
G = "Hypoglycemia"
edges(
    "GLUC",
    "mg/dL",
    "70",
    "100",
    "low",
    G,
    [
        ("70", 0, 1, "<LLN - 55 mg/dL; <LLN - 3.0 mmol/L"),
        ("55", 1, 2, "<55 - 40 mg/dL; <3.0 - 2.2 mmol/L"),
        ("40", 2, 3, "<40 - 30 mg/dL; <2.2 - 1.7 mmol/L"),
        ("30", 3, 4, "<30 mg/dL; <1.7 mmol/L; life-threatening consequences; seizures"),
    ],
)
edges(
    "GLUC",
    "mmol/L",
    "3.9",
    "5.6",
    "low",
    G,
    [
        ("3.9", 0, 1, "<LLN - 55 mg/dL; <LLN - 3.0 mmol/L"),
        ("3.0", 1, 2, "<55 - 40 mg/dL; <3.0 - 2.2 mmol/L"),
        ("2.2", 2, 3, "<40 - 30 mg/dL; <2.2 - 1.7 mmol/L"),
        ("1.7", 3, 4, "<30 mg/dL; <1.7 mmol/L; life-threatening consequences; seizures"),
    ],
)
edges(
    "ALB",
    "g/dL",
    "3.5",
    "5.0",
    "low",
    "Hypoalbuminemia",
    [
        ("3.5", 0, 1, "<LLN - 3 g/dL; <LLN - 30 g/L"),
        ("3", 1, 2, "<3 - 2 g/dL; <30 - 20 g/L"),
        ("2", 2, 3, "<2 g/dL; <20 g/L"),
    ],
)
edges(
    "ALB",
    "g/L",
    "35",
    "50",
    "low",
    "Hypoalbuminemia",
    [
        ("35", 0, 1, "<LLN - 3 g/dL; <LLN - 30 g/L"),
        ("30", 1, 2, "<3 - 2 g/dL; <30 - 20 g/L"),
        ("20", 2, 3, "<2 g/dL; <20 g/L"),
    ],
    step="0.1",
)


def _cases():
    for test, unit, lln, uln, base, direction, edge, milder, severe, term, text, step in EDGES:
        e, s = Decimal(edge), Decimal(step)
        inside, past = (e - s, e + s) if direction == "high" else (e + s, e - s)
        ident = f"{test}-{unit}-{direction}-{edge}" + (f"-base{base}" if base else "")
        for where, value, expected in (("inside", inside, milder), ("on", e, milder), ("past", past, severe)):
            yield pytest.param(
                test, unit, lln, uln, base, str(value), expected, direction, term, text, id=f"{ident}-{where}"
            )


@pytest.mark.parametrize("test,unit,lln,uln,base,value,expected,direction,term,criterion", list(_cases()))
def test_the_grade_at_each_band_edge(test, unit, lln, uln, base, value, expected, direction, term, criterion):
    result = grade_values(test=test, value=value, unit=unit, lln=lln, uln=uln, baseline=base)
    assert result.grade == expected
    if expected == 0:
        assert (result.direction, result.ctcae_term) == (None, None)
    else:
        assert (result.direction, result.ctcae_term) == (direction, term)


@pytest.mark.parametrize("edge", EDGES, ids=lambda e: f"{e[0]}-{e[1]}-{e[6]}")
def test_each_cited_criterion_is_the_ctcae_text_of_that_grade(edge):
    test, unit, lln, uln, base, direction, value, milder, severe, term, text, step = edge
    assert CTCAE[term][f"grade{severe}"] == text
    past = Decimal(value) + (Decimal(step) if direction == "high" else -Decimal(step))
    assert (
        grade_values(test=test, value=str(past), unit=unit, lln=lln, uln=uln, baseline=base).criterion == text
    )


def test_every_listed_test_and_unit_is_covered_by_an_edge():
    from quant.labs.criteria import TESTS

    covered = {(e[0], e[1]) for e in EDGES}
    for code, lab in TESTS.items():
        for unit in lab.units:
            if code in {"ALT", "AST", "ALP", "GGT", "LIPASE", "AMYLASE", "CK", "BILI", "CREAT"}:
                assert any(c == code for c, _ in covered), code  # x ULN: unit-free
            else:
                assert (code, unit) in covered, (code, unit)
