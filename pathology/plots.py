"""The trial's correlation plots (matplotlib Agg, PNG) and their statistics from plain rows (no Django).

Each plot is a PlotSpec: the rows it needs (`source`), the CSV columns written with it, a `stats`
function (Spearman per panel and period, always with n) and a `render` function returning PNG bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import cm, colors  # noqa: E402

from pathology.stats import spearman  # noqa: E402

PERIODS = (("baseline", "Baseline", "#1f5fa8", "o"), ("on_treatment", "On treatment", "#d9822b", "^"))
SUVS = (("suv_max", "SUVmax"), ("suv_peak", "SUVpeak"), ("suv_mean", "SUVmean"))
MRI = ("Ktrans", "ve", "vp", "f", "D", "D*", "K")
PHENOTYPES = ("desert", "excluded", "inflamed")
SEMI = (0, 1, 2, 3)
RESPONSE_ORDER = {
    "recist": ("CR", "PR", "SD", "NON_CR_NON_PD", "PD", "NE"),
    "irecist": ("iCR", "iPR", "iSD", "iUPD", "iCPD", "iNE"),
}
BIOPSY_COLUMNS = [
    "participant",
    "site",
    "tumour_type",
    "anti_pd1",
    "biopsy",
    "period",
    "biopsy_date",
    "lesion",
    "organ",
    "tumour_cells_present",
    "scan",
    "scan_date",
    "days_biopsy_to_scan",
    "voi",
]


@dataclass(frozen=True)
class Axis:
    key: str
    label: str
    kind: str = "num"  # num | ordinal | category
    levels: tuple = ()


@dataclass(frozen=True)
class PlotSpec:
    name: str
    title: str
    description: str
    source: str
    columns: list[str]
    stats: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
    render: Callable[[list[dict[str, Any]]], bytes]


def _num(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _xy(rows: list[dict], x: Axis, y: str, period: str | None = None) -> tuple[list, list]:
    xs, ys = [], []
    for r in rows:
        if period and r.get("period") != period:
            continue
        xv, yv = r.get(x.key), _num(r.get(y))
        if x.kind == "category":
            ok = xv in x.levels
        else:
            xv = _num(xv)
            ok = xv is not None
        if ok and yv is not None:
            xs.append(xv)
            ys.append(yv)
    return xs, ys


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _empty(ax: Any, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#667085")


def _jitter(i: int) -> float:
    return ((i * 37) % 11 - 5) / 40.0  # deterministic spread for strip plots


def _category_summary(xs: list, ys: list, levels: tuple) -> str:
    parts = []
    for level in levels:
        vals = sorted(y for x, y in zip(xs, ys) if x == level)
        if vals:
            mid = len(vals) // 2
            med = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
            parts.append(f"{level}: n={len(vals)}, median {med:.2f}")
        else:
            parts.append(f"{level}: n=0")
    return "; ".join(parts)


def panel_stats(rows: list[dict], x: Axis, y: str, y_label: str) -> list[dict[str, Any]]:
    """Spearman per period for numeric/ordinal x; n and medians per group for categories."""
    out = []
    for period, period_label, _, _ in PERIODS:
        xs, ys = _xy(rows, x, y, period)
        if x.kind == "category":
            out.append(
                {
                    "panel": f"{y_label} by {x.label}",
                    "period": period_label,
                    "n": len(xs),
                    "text": _category_summary(xs, ys, x.levels),
                    "result": None,
                }
            )
        else:
            res = spearman(xs, ys)
            out.append(
                {
                    "panel": f"{y_label} vs {x.label}",
                    "period": period_label,
                    "n": res.n,
                    "text": res.label(),
                    "result": res,
                }
            )
    return out


def short_label(res: Any) -> str:
    """Compact panel title: rho [CI] n p, each only where defined; n always."""
    if res.rho is None:
        return f"n={res.n}"
    text = f"rho={res.rho:.2f}"
    if res.ci_low is not None:
        text += f" [{res.ci_low:.2f}, {res.ci_high:.2f}]"
    text += f" n={res.n}"
    if res.p_value is not None:
        text += f" p={res.p_value:.2g}"
    return text


def _draw_panel(ax: Any, rows: list[dict], x: Axis, y: str, y_label: str) -> None:
    lines = []
    any_point = False
    for period, period_label, colour, marker in PERIODS:
        xs, ys = _xy(rows, x, y, period)
        if not xs:
            lines.append(f"{'BL' if period == 'baseline' else 'OT'}: n=0")
            continue
        any_point = True
        if x.kind in ("category", "ordinal"):
            pos = [x.levels.index(v) if x.kind == "category" else v for v in xs]
            offset = -0.12 if period == "baseline" else 0.12
            px = [p + offset + _jitter(i) / 2 for i, p in enumerate(pos)]
        else:
            px = xs
        ax.scatter(px, ys, s=22, c=colour, marker=marker, alpha=0.8, label=period_label, edgecolors="none")
        short = "BL" if period == "baseline" else "OT"
        lines.append(
            f"{short}: n={len(xs)}" if x.kind == "category" else f"{short}: {short_label(spearman(xs, ys))}"
        )
    if x.kind in ("category", "ordinal"):
        ax.set_xticks(range(len(x.levels)) if x.kind == "category" else list(x.levels))
        ax.set_xticklabels(
            [str(v) if x.kind == "category" else ("0" if v == 0 else f"{v}+") for v in x.levels]
        )
        ax.set_xlim(-0.6, len(x.levels) - 0.4)
    if not any_point:
        _empty(ax)
    ax.set_xlabel(x.label, fontsize=8)
    ax.set_ylabel(y_label, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title("\n".join(lines), fontsize=6.5, loc="left")


def _grid(rows: list[dict], ys: tuple, xs: tuple[Axis, ...], title: str, size: tuple[float, float]) -> bytes:
    fig, axes = plt.subplots(len(ys), len(xs), figsize=size, squeeze=False)
    for i, (ykey, ylabel) in enumerate(ys):
        for j, x in enumerate(xs):
            _draw_panel(axes[i][j], rows, x, ykey, ylabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(f"{title} (BL baseline, OT on treatment)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.93, 0.95))
    return _png(fig)


def _grid_stats(rows: list[dict], ys: tuple, xs: tuple[Axis, ...]) -> list[dict[str, Any]]:
    return [s for ykey, ylabel in ys for x in xs for s in panel_stats(rows, x, ykey, ylabel)]


CD8_AXES = (
    Axis("cd8_density_intratumoural", "CD8 density, intratumoural (cells/mm²)"),
    Axis("cd8_percent", "CD8 positive cells (%)"),
    Axis("cd8_semi_quant", "CD8 semi-quantitative score", "ordinal", SEMI),
)
PDL1_AXES = (Axis("pdl1_tps", "PD-L1 TPS (%)"), Axis("pdl1_cps", "PD-L1 CPS"))
MRI_YS = tuple((m, m) for m in MRI)


def _mri_stats(rows: list[dict]) -> list[dict[str, Any]]:
    cd8 = Axis("cd8_density_intratumoural", "CD8 density (cells/mm²)")
    phen = Axis("immune_phenotype", "immune phenotype", "category", PHENOTYPES)
    return [s for m in MRI for s in panel_stats(rows, cd8, m, m) + panel_stats(rows, phen, m, m)]


def _mri_render(rows: list[dict]) -> bytes:
    fig, axes = plt.subplots(2, len(MRI), figsize=(21, 7), squeeze=False)
    cd8 = Axis("cd8_density_intratumoural", "CD8 density (cells/mm²)")
    phen = Axis("immune_phenotype", "immune phenotype", "category", PHENOTYPES)
    for j, m in enumerate(MRI):
        _draw_panel(axes[0][j], rows, cd8, m, m)
        _draw_panel(axes[1][j], rows, phen, m, m)
    fig.suptitle(
        "mpMRI parameters of the biopsied lesion (same period) against CD8 density and immune phenotype "
        "(BL baseline, OT on treatment)",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _png(fig)


def _bor_levels(rows: list[dict], criterion: str) -> tuple[str, ...]:
    """The criterion's categories in clinical order, plus any other stored code (never dropped silently)."""
    extra = sorted({r.get(f"best_{criterion}") for r in rows} - set(RESPONSE_ORDER[criterion]) - {None, ""})
    return RESPONSE_ORDER[criterion] + tuple(extra)


def _bor_points(rows: list[dict], criterion: str) -> tuple[list[str], list[float]]:
    xs, ys = [], []
    for r in rows:
        resp, change = r.get(f"best_{criterion}"), _num(r.get("suvmax_change_percent"))
        if resp and change is not None:
            xs.append(resp)
            ys.append(change)
    return xs, ys


def _uptake_stats(rows: list[dict]) -> list[dict[str, Any]]:
    out = []
    for criterion, label in (("recist", "RECIST 1.1"), ("irecist", "iRECIST")):
        xs, ys = _bor_points(rows, criterion)
        out.append(
            {
                "panel": f"SUVmax change by best overall response ({label})",
                "period": "baseline to on-treatment",
                "n": len(xs),
                "text": _category_summary(xs, ys, _bor_levels(rows, criterion)),
                "result": None,
            }
        )
    return out


def _uptake_render(rows: list[dict]) -> bytes:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (criterion, label) in zip(axes, (("recist", "RECIST 1.1"), ("irecist", "iRECIST"))):
        levels = _bor_levels(rows, criterion)
        xs, ys = _bor_points(rows, criterion)
        if not xs:
            _empty(ax)
        ax.scatter([levels.index(x) + _jitter(i) for i, x in enumerate(xs)], ys, c="#1f5fa8", s=28)
        ax.axhline(0, color="#98a2b3", lw=0.8)
        ax.set_xticks(range(len(levels)))
        ax.set_xticklabels([f"{lv}\nn={xs.count(lv)}" for lv in levels], fontsize=7)
        ax.set_xlim(-0.6, len(levels) - 0.4)
        ax.set_ylabel("Lesion SUVmax change, baseline to on-treatment (%)", fontsize=8)
        ax.set_title(f"Best overall response, {label} (n = {len(xs)} participants)", fontsize=9)
    fig.suptitle("Change of CD8-PET uptake against best overall response", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return _png(fig)


def _waterfall_points(rows: list[dict]) -> list[dict]:
    pts = [r for r in rows if _num(r.get("best_sum_change_percent")) is not None]
    return sorted(pts, key=lambda r: (-_num(r["best_sum_change_percent"]), r["participant"]))


def _waterfall_stats(rows: list[dict]) -> list[dict[str, Any]]:
    pts = _waterfall_points(rows)
    xs = [_num(r.get("baseline_uptake_suvmax")) for r in pts]
    ys = [_num(r["best_sum_change_percent"]) for r in pts]
    res = spearman(xs, ys)
    return [
        {
            "panel": "Best % change of the target sum vs baseline uptake (SUVmax)",
            "period": "per participant",
            "n": res.n,
            "text": res.label(),
            "result": res,
        }
    ]


def _waterfall_render(rows: list[dict]) -> bytes:
    pts = _waterfall_points(rows)
    fig, ax = plt.subplots(figsize=(11, 4.8))
    uptake = [_num(r.get("baseline_uptake_suvmax")) for r in pts]
    known = [u for u in uptake if u is not None]
    norm = colors.Normalize(vmin=min(known) if known else 0, vmax=max(known) if known else 1)
    cmap = plt.get_cmap("viridis")
    bar_colours = [cmap(norm(u)) if u is not None else "#d0d5dd" for u in uptake]
    ax.bar(range(len(pts)), [_num(r["best_sum_change_percent"]) for r in pts], color=bar_colours)
    for ref in (20, -30):
        ax.axhline(ref, color="#b42318" if ref > 0 else "#067647", ls="--", lw=0.8)
    ax.axhline(0, color="#344054", lw=0.8)
    ax.set_xticks(range(len(pts)))
    ax.set_xticklabels(
        [f"{r['participant']}\n{r.get('best_recist') or '-'}" for r in pts], rotation=90, fontsize=6
    )
    ax.set_ylabel("Best change of the sum of target diameters (%)", fontsize=8)
    if not pts:
        _empty(ax)
    fig.colorbar(
        cm.ScalarMappable(norm=norm, cmap=cmap),
        ax=ax,
        label="Baseline uptake: max lesion SUVmax (grey: none)",
    )
    ax.set_title(f"Waterfall, RECIST 1.1 (+20 % / -30 % lines), n = {len(pts)} participants", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def _swimmer_stats(rows: list[dict]) -> list[dict[str, Any]]:
    people = {r["participant"] for r in rows}
    saes = sum(1 for r in rows if r["event"] == "sae")
    responses = sum(1 for r in rows if r["event"] == "response")
    return [
        {
            "panel": "Swimmer plot",
            "period": "from anti-PD-1 day 1",
            "n": len(people),
            "text": f"{len(people)} participants, {responses} response assessments, {saes} SAEs",
            "result": None,
        }
    ]


RESPONSE_COLOURS = {
    "CR": "#067647",
    "PR": "#32d583",
    "SD": "#fdb022",
    "NON_CR_NON_PD": "#fdb022",
    "PD": "#b42318",
    "NE": "#98a2b3",
}


def _swimmer_render(rows: list[dict]) -> bytes:
    spans = sorted((r for r in rows if r["event"] == "treatment"), key=lambda r: (r["day"], r["participant"]))
    index = {r["participant"]: i for i, r in enumerate(spans)}
    fig, ax = plt.subplots(figsize=(11, max(3.0, 0.32 * len(spans) + 1.5)))
    for r in spans:
        i = index[r["participant"]]
        ax.barh(i, r["day"], left=0, color="#b2ccff" if r["value"] != "ongoing" else "#528bff", height=0.6)
        if r["value"] == "ongoing":
            ax.annotate("", xy=(r["day"] + 12, i), xytext=(r["day"], i), arrowprops={"arrowstyle": "->"})
    seen: set[str] = set()
    for r in rows:
        if r["participant"] not in index or r["event"] == "treatment":
            continue
        i = index[r["participant"]]
        if r["event"] == "response":
            code = str(r["value"]).split("/")[0]
            label = f"RECIST {code}" if code not in seen else None
            seen.add(code)
            ax.scatter(
                r["day"], i, marker="D", s=30, c=RESPONSE_COLOURS.get(code, "#667085"), zorder=3, label=label
            )
        else:
            label = "SAE onset" if "sae" not in seen else None
            seen.add("sae")
            ax.scatter(r["day"], i, marker="x", s=45, c="#b42318", zorder=4, label=label)
    days = [r["day"] for r in rows if r["participant"] in index]
    if days:
        ax.set_xlim(min(0, min(days)) - 5, max(days) + 20)  # room for the ongoing arrows
    ax.set_yticks(range(len(spans)))
    ax.set_yticklabels([r["participant"] for r in spans], fontsize=7)
    ax.set_xlabel("Study day (day 1 = first anti-PD-1 dose)", fontsize=8)
    if not spans:
        _empty(ax)
    else:
        ax.legend(fontsize=7, loc="lower right")
    ax.set_title(
        f"Time on treatment, responses and SAEs (n = {len(spans)}; dark bar with arrow: on treatment, "
        "light bar: stopped at the last anti-PD-1 dose)",
        fontsize=10,
    )
    fig.tight_layout()
    return _png(fig)


SCAN_ORDER = ("BL_PET1", "BL_PET2", "OT_PET1", "OT_PET2")


def _organ_levels(rows: list[dict]) -> list[str]:
    return sorted({r["organ"] for r in rows})


def _median(vals: list[float]) -> float:
    v = sorted(vals)
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


def _organ_stats(rows: list[dict]) -> list[dict[str, Any]]:
    out = []
    for organ in _organ_levels(rows):
        parts = []
        for scan in SCAN_ORDER:
            vals = [r["suv_mean"] for r in rows if r["organ"] == organ and r["scan"] == scan]
            parts.append(f"{scan}: n={len(vals)}" + (f", median {_median(vals):.2f}" if vals else ""))
        people = {r["participant"] for r in rows if r["organ"] == organ}
        out.append(
            {
                "panel": f"{organ} SUVmean",
                "period": "per scan",
                "n": len(people),
                "text": "; ".join(parts),
                "result": None,
            }
        )
    return out


def _organ_render(rows: list[dict]) -> bytes:
    organs = _organ_levels(rows) or ["(none)"]
    cols = min(3, len(organs))
    nrows = math.ceil(len(organs) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.3 * nrows), squeeze=False)
    for k, organ in enumerate(organs):
        ax = axes[k // cols][k % cols]
        sub = [r for r in rows if r["organ"] == organ and r["scan"] in SCAN_ORDER]
        people = sorted({r["participant"] for r in sub})
        for p in people:
            pts = sorted((SCAN_ORDER.index(r["scan"]), r["suv_mean"]) for r in sub if r["participant"] == p)
            ax.plot([x for x, _ in pts], [y for _, y in pts], color="#98a2b3", lw=0.8, marker=".", ms=3)
        med = [
            (i, _median([r["suv_mean"] for r in sub if r["scan"] == s]))
            for i, s in enumerate(SCAN_ORDER)
            if any(r["scan"] == s for r in sub)
        ]
        if med:
            ax.plot(
                [x for x, _ in med], [y for _, y in med], color="#1f5fa8", lw=2.5, marker="o", label="median"
            )
        else:
            _empty(ax)
        ax.set_xticks(range(len(SCAN_ORDER)))
        ax.set_xticklabels(SCAN_ORDER, fontsize=7)
        ax.set_ylabel("SUVmean", fontsize=8)
        ax.set_title(f"{organ} (n = {len(people)} participants)", fontsize=9)
    for k in range(len(organs), nrows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("Organ SUVmean over time: each participant (grey) and pooled median (blue)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return _png(fig)


SUV_COLUMNS = ["suv_max", "suv_peak", "suv_mean"]
PLOTS: dict[str, PlotSpec] = {
    spec.name: spec
    for spec in [
        PlotSpec(
            "suv_cd8",
            "PET uptake against CD8",
            "SUVmax, SUVpeak and SUVmean of the biopsied lesion's VOI at the "
            "matching PET scan against CD8 density, CD8 percentage and the semi-quantitative score (first scorer).",
            "biopsy",
            BIOPSY_COLUMNS + SUV_COLUMNS + ["cd8_density_intratumoural", "cd8_percent", "cd8_semi_quant"],
            lambda rows: _grid_stats(rows, SUVS, CD8_AXES),
            lambda rows: _grid(
                rows, SUVS, CD8_AXES, "CD8-PET uptake of the biopsied lesion against CD8 IHC", (13, 10)
            ),
        ),
        PlotSpec(
            "suv_pdl1",
            "PET uptake against PD-L1",
            "SUVmax, SUVpeak and SUVmean of the biopsied lesion's VOI at the "
            "matching PET scan against PD-L1 TPS and CPS (first scorer).",
            "biopsy",
            BIOPSY_COLUMNS + SUV_COLUMNS + ["pdl1_tps", "pdl1_cps"],
            lambda rows: _grid_stats(rows, SUVS, PDL1_AXES),
            lambda rows: _grid(
                rows, SUVS, PDL1_AXES, "CD8-PET uptake of the biopsied lesion against PD-L1", (9.5, 10)
            ),
        ),
        PlotSpec(
            "mri_cd8",
            "mpMRI against CD8 and immune phenotype",
            "Ktrans, ve, vp (DCE), f, D, D* (IVIM) and K (DKI) "
            "of the biopsied lesion at the biopsy's period against CD8 density and the immune phenotype.",
            "biopsy",
            BIOPSY_COLUMNS + ["cd8_density_intratumoural", "immune_phenotype", *MRI],
            _mri_stats,
            _mri_render,
        ),
        PlotSpec(
            "uptake_response",
            "Uptake change against best overall response",
            "Mean % change of lesion SUVmax from "
            "baseline to on-treatment (same post-injection day, day 6 preferred) against best overall response by "
            "RECIST 1.1 and iRECIST.",
            "response",
            [
                "participant",
                "site",
                "tumour_type",
                "anti_pd1",
                "best_recist",
                "best_irecist",
                "pet_pair",
                "lesions_in_change",
                "baseline_lesion_suvmax_mean",
                "suvmax_change_percent",
            ],
            _uptake_stats,
            _uptake_render,
        ),
        PlotSpec(
            "waterfall",
            "Waterfall of best change in tumour size",
            "Best % change of the sum of target diameters "
            "from the baseline assessment, coloured by baseline uptake (highest baseline lesion SUVmax).",
            "response",
            [
                "participant",
                "site",
                "tumour_type",
                "anti_pd1",
                "best_recist",
                "baseline_sum_mm",
                "best_sum_change_percent",
                "baseline_uptake_suvmax",
            ],
            _waterfall_stats,
            _waterfall_render,
        ),
        PlotSpec(
            "swimmer",
            "Swimmer plot",
            "Time on treatment per participant with response assessments (RECIST 1.1/"
            "iRECIST) and onsets of serious adverse events.",
            "swimmer",
            ["participant", "site", "tumour_type", "anti_pd1", "day1", "event", "day", "date", "value"],
            _swimmer_stats,
            _swimmer_render,
        ),
        PlotSpec(
            "organ_suv",
            "Organ SUVs over time",
            "SUVmean of organ VOIs (spleen, bone marrow, liver, ...) at each "
            "PET scan, per participant and pooled (median). Filter by participant for one participant's course.",
            "organ",
            [
                "participant",
                "site",
                "tumour_type",
                "anti_pd1",
                "organ",
                "scan",
                "scan_date",
                "suv_mean",
                "suv_max",
            ],
            _organ_stats,
            _organ_render,
        ),
    ]
}


def csv_rows(spec: PlotSpec, rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Header and rows of exactly the data the plot is drawn from."""
    return [spec.columns] + [["" if r.get(c) is None else r.get(c) for c in spec.columns] for r in rows]
