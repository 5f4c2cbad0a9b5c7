"""Distribution and pharmacokinetics figures and CSV rows (matplotlib Agg; no Django imports)."""

from __future__ import annotations

import io
from typing import Any

CSV_COLUMNS = [
    "study_id",
    "visit",
    "phase",
    "hours_post_injection",
    "voi",
    "kind",
    "organ",
    "lesion",
    "suv_mean",
    "suv_max",
    "suv_peak",
    "pct_id_per_kg_mean",
    "volume_ml",
]
PHASE_STYLE = {"baseline": ("o", "-", "baseline"), "on_treatment": ("s", "--", "on-treatment")}


def csv_row(study_id: str, row: dict[str, Any]) -> list[Any]:
    hours = row["hours"]
    return [
        study_id,
        row["visit_code"],
        row["phase"],
        f"{hours:.3f}" if hours is not None else "",
        row["name"],
        row["kind"],
        row["organ"],
        row["lesion"],
        f"{row['suv_mean']:.6g}",
        f"{row['suv_max']:.6g}",
        f"{row['suv_peak']:.6g}",
        f"{row['pct_id_per_kg_mean']:.6g}",
        f"{row['volume_ml']:.6g}",
    ]


def pivot(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Table: one line per VOI name, one column per scan (SUVmean / SUVmax)."""
    visits = []
    for r in rows:
        if r["visit_code"] not in visits:
            visits.append(r["visit_code"])
    lines: dict[str, dict[str, Any]] = {}
    for r in rows:
        line = lines.setdefault(r["name"], {"name": r["name"], "kind": r["kind"], "cells": {}})
        line["cells"][r["visit_code"]] = r
    ordered = sorted(lines.values(), key=lambda x: (x["kind"] != "organ", x["name"]))
    for line in ordered:
        line["row"] = [line["cells"].get(v) for v in visits]
    return {"visits": visits, "lines": ordered}


def distribution_png(rows: list[dict[str, Any]], title: str) -> bytes:
    """SUVmean and %ID/kg against hours after injection; baseline solid, on-treatment dashed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2), dpi=100)
    axes = fig.subplots(1, 2)
    names = sorted({r["name"] for r in rows})
    colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
    for ax, key, label in (
        (axes[0], "suv_mean", "SUVmean (g/mL)"),
        (axes[1], "pct_id_per_kg_mean", "%ID/kg"),
    ):
        for name in names:
            for phase, (marker, style, phase_label) in PHASE_STYLE.items():
                pts = sorted(
                    (r["hours"], r[key])
                    for r in rows
                    if r["name"] == name and r["phase"] == phase and r["hours"] is not None
                )
                if pts:
                    ax.plot(
                        [p[0] for p in pts],
                        [p[1] for p in pts],
                        marker=marker,
                        linestyle=style,
                        color=colours[name],
                        label=f"{name} ({phase_label})",
                    )
        ax.set_xlabel("Hours after 89Zr injection")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if rows:
        axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        axes[0].text(0.5, 0.5, "No analysed PET scans yet", ha="center", transform=axes[0].transAxes)
    fig.suptitle(
        f"{title}: uptake against time since injection (baseline solid, on-treatment dashed)", fontsize=10
    )
    fig.subplots_adjust(left=0.07, right=0.78, wspace=0.3, bottom=0.13)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
