"""PK figures (matplotlib Agg; no Django imports): a participant's curves with fits, the cohort panels."""

from __future__ import annotations

import io
from typing import Any

from quant.pk.constants import ZR89_HALF_LIFE_H
from quant.pk.fit import curve_points

PHASE_COLOURS = {"baseline": "C0", "on_treatment": "C3"}
PHASE_LABELS = {"baseline": "baseline", "on_treatment": "on-treatment"}


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def view_text(corrected: bool) -> str:
    return (
        "decay-corrected to injection"
        if corrected
        else f"as measured at the scan (not decay-corrected; 89Zr T1/2 {ZR89_HALF_LIFE_H} h)"
    )


def participant_png(fits: list[Any], title: str, metric_label: str, corrected: bool) -> bytes:
    """One panel per injection: every series (organs solid, lesions dashed, serum triangles) with its fit."""
    injections = sorted({f.tracer_visit_code for f in fits}) or ["-"]
    fig = _figure(5.6 * len(injections) + 2.2, 4.6)
    axes = fig.subplots(1, len(injections), squeeze=False)[0]
    labels = sorted({f.label for f in fits})
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    for ax, code in zip(axes, injections, strict=True):
        shown = [f for f in fits if f.tracer_visit_code == code]
        for f in shown:
            style = "--" if f.kind == "lesion" else "-"
            ax.plot(
                f.times,
                f.values,
                marker={"organ": "o", "lesion": "s"}.get(f.kind, "^"),
                linestyle="none",
                color=colours[f.label],
                label=f.label,
            )
            if f.result is not None and f.result.fit is not None:
                grid, curve = curve_points(f.result.fit, max(f.times) * 1.05)
                ax.plot(grid, curve, linestyle=style, color=colours[f.label], linewidth=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("Hours after 89Zr injection")
        ax.set_ylabel(metric_label)
        ax.set_title(shown[0].injection_label if shown else "No analysed PET scans yet", fontsize=10)
        ax.grid(alpha=0.3, which="both")
    if fits:
        axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(
        f"{title}: {metric_label}, {view_text(corrected)}; points measured, lines fitted", fontsize=10
    )
    fig.subplots_adjust(left=0.07, right=0.84, wspace=0.25, bottom=0.12, top=0.86)
    return _png(fig)


def cohort_png(rows: list[dict[str, Any]], groups: list[tuple[str, str]], metric_label: str) -> bytes:
    """A panel per organ/tumour: each participant's curve (thin) and the median per nominal time (thick)."""
    columns = 4
    n_rows = max(1, (len(groups) + columns - 1) // columns)
    fig = _figure(13, 3.2 * n_rows + 0.8)
    axes = fig.subplots(n_rows, columns, squeeze=False).ravel()
    for ax, (group, label) in zip(axes, groups, strict=False):
        mine = [r for r in rows if r["group"] == group]
        for phase, colour in PHASE_COLOURS.items():
            by_participant: dict[str, list[tuple[float, float]]] = {}
            for r in mine:
                if r["phase"] == phase:
                    by_participant.setdefault(r["study_id"], []).append((r["hours"], r["value"]))
            for pts in by_participant.values():
                pts.sort()
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, alpha=0.25, linewidth=0.8)
            medians = _medians([r for r in mine if r["phase"] == phase])
            if medians:
                ax.plot(
                    [m[0] for m in medians],
                    [m[1] for m in medians],
                    color=colour,
                    linewidth=2.2,
                    marker="o",
                    label=f"{PHASE_LABELS[phase]} median",
                )
                for x, y, n in medians:
                    offset = (3, 4) if phase == "baseline" else (3, -10)
                    ax.annotate(
                        f"n={n}", (x, y), textcoords="offset points", xytext=offset, fontsize=7, color=colour
                    )
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("Hours after injection", fontsize=8)
        ax.set_ylabel(metric_label, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    if groups:
        axes[0].legend(fontsize=7)
    else:
        axes[0].set_visible(True)
        axes[0].text(0.5, 0.5, "No analysed PET scans yet", ha="center", transform=axes[0].transAxes)
    fig.suptitle(
        f"Cohort {metric_label} after each 89Zr injection (decay-corrected): baseline blue, on-treatment red; "
        "thin lines participants, thick lines medians per planned time point (n participants)",
        fontsize=10,
    )
    fig.subplots_adjust(left=0.06, right=0.98, hspace=0.55, wspace=0.3, top=0.9, bottom=0.08)
    return _png(fig)


def _medians(rows: list[dict[str, Any]]) -> list[tuple[float, float, int]]:
    """(median hours, median value, n participants) per planned time point."""
    import statistics

    by_nominal: dict[float, list[dict[str, Any]]] = {}
    for r in rows:
        by_nominal.setdefault(r["nominal_hours"], []).append(r)
    return sorted(
        (
            statistics.median(x["hours"] for x in group),
            statistics.median(x["value"] for x in group),
            len({x["study_id"] for x in group}),
        )
        for group in by_nominal.values()
    )
