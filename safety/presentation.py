"""Context builders for pages, hooks (participant section, timeline, dashboard), CSV and the plot."""

from __future__ import annotations

import io
from typing import Any

from django.urls import reverse
from django.utils.safestring import mark_safe

from safety import incidence, selectors, services
from safety import partial_dates as pdates
from trial import access, csv_safety, plot_cache

CSV_TABLES = ("incidence", "grade3", "sae", "irae", "max_grade_by_soc")


def signature_status(participant: Any) -> dict[str, Any]:
    active = services.active_signature(participant)
    last_voided = participant.ae_signatures.filter(voided=True).order_by("-voided_at").first()
    intact = services.signature_is_intact(active) if active else False
    return {"active": active, "intact": intact, "last_voided": last_voided}


def participant_context(request: Any, participant: Any) -> dict[str, Any]:
    aes = list(selectors.participant_aes(participant))
    return {
        "participant": participant,
        "aes": aes,
        "signature": signature_status(participant),
        "signatures": selectors.signatures_of(participant),
        "can_capture": access.can(request.user, "adverse_events", participant.site_id),
        "can_sign": access.can(request.user, "sign_adverse_events", participant.site_id),
        "can_void": access.can(request.user, "void", participant.site_id),
        "max_grades": max_grade_per_term(aes),
    }


def max_grade_per_term(aes: list[Any]) -> list[dict[str, Any]]:
    best: dict[str, int] = {}
    for ae in aes:
        if not ae.voided:
            best[ae.display_term] = max(best.get(ae.display_term, 0), ae.grade)
    return [{"term": t, "grade": g} for t, g in sorted(best.items())]


def participant_section(request: Any, participant: Any) -> list[dict[str, Any]]:
    """PARTICIPANT_SECTIONS entry: the participant's AEs with signature status."""
    return [
        {
            "title": "Adverse events",
            "template": "safety/_participant_section.html",
            "context": participant_context(request, participant),
        }
    ]


def timeline_items(participant: Any) -> list[dict[str, Any]]:
    """TIMELINE_PROVIDERS entry: one item per AE at its (earliest possible) onset date."""
    items = []
    for ae in selectors.participant_aes(participant):
        status = ", ".join(
            s
            for s in (
                "voided" if ae.voided else "",
                "serious" if ae.serious else "",
                "ongoing" if ae.ongoing else "",
            )
            if s
        )
        items.append(
            {
                "date": pdates.parse(ae.onset_date).earliest,
                "kind": "adverse_event",
                "object": ae,
                "label": f"AE: {ae.display_term}, grade {ae.grade} (onset {ae.onset_date})",
                "url": reverse("safety:ae_detail", args=[ae.pk]),
                "status": status,
            }
        )
    return items


DASHBOARD_SAES = 20  # the nearest deadlines; the AE list (SAE only) pages through the rest


def dashboard_panel(request: Any) -> list[dict[str, Any]]:
    """DASHBOARD_PANELS entry: SAEs not yet notified or not yet signed, with the 24-hour clock."""
    if not request.user.is_authenticated:
        return []
    return [
        {
            "title": "Serious adverse events pending",
            "template": "safety/_dashboard_panel.html",
            "context": {
                "items": selectors.sae_pending(user=request.user, limit=DASHBOARD_SAES),
                "count": selectors.sae_pending_count(user=request.user),
            },
        }
    ]


# --- tables -----------------------------------------------------------------------------------------


def tables_context(*, user: Any, filters: dict[str, str]) -> dict[str, Any]:
    """Incidence figures aggregated in SQL; the listings are querysets (the page shows them a page at a time)."""
    counts = selectors.incidence_counts(user=user, filters=filters)
    n = counts.n
    return {
        "n": n,
        "any_ae": counts.any_ae,
        "any_grade3": counts.any_grade3,
        "incidence": _with_percent(incidence.lines_from_counts(counts.soc_counts, counts.term_counts), n),
        "grade3": _with_percent(incidence.lines_from_counts(counts.soc_counts, counts.term_counts, 3), n),
        "saes": counts.aes.filter(serious=True),
        "iraes": counts.aes.filter(immune_related=True),
        "n_saes": counts.n_saes,
        "n_iraes": counts.n_iraes,
        "grades": incidence.GRADES,
    }


def _with_percent(lines: list[incidence.IncidenceLine], n: int) -> list[dict[str, Any]]:
    rows = []
    for line in lines:
        row = {
            "line": line,
            "any": line.any_grade,
            "pct": incidence.percent(line.any_grade, n),
            "by_grade": [line.by_grade[g] for g in incidence.GRADES],
            "g3": line.grade3_plus,
            "g3_pct": incidence.percent(line.grade3_plus, n),
        }
        row["cells"] = _number_cells(row)
        rows.append(row)
    return rows


def _number_cells(row: dict[str, Any]) -> str:
    """The figures of one table line as HTML cells, formatted once here: a table of a whole dictionary's terms
    is thousands of numbers, and the template engine's per-number localisation dominated the page's time.
    Only ints and floats go in (nothing to escape)."""
    figures = [row["any"], row["pct"], *row["by_grade"], row["g3"], row["g3_pct"]]
    if not all(isinstance(f, int | float) for f in figures):
        raise TypeError(f"table figures must be numbers: {figures!r}")
    grades = "".join(f'<td class="num">{c}</td>' for c in row["by_grade"])
    return mark_safe(  # noqa: S308 - numbers only, checked above
        f'<td class="num">{row["any"]} ({row["pct"]}%)</td>{grades}'
        f'<td class="num">{row["g3"]} ({row["g3_pct"]}%)</td>'
    )


def _listing_row(ae: Any) -> list[Any]:
    return [
        ae.participant.study_id,
        ae.participant.site.code,
        ae.anti_pd1_drug,
        ae.term.soc,
        ae.term.term,
        ae.verbatim_term,
        ae.term.meddra_code,
        ae.grade,
        ae.onset_date,
        ae.end_date,
        int(ae.ongoing),
        int(ae.serious),
        ";".join(ae.sae_criteria),
        ae.outcome,
        int(ae.immune_related),
        ae.rel_tracer,
        ae.rel_pet,
        ae.rel_biopsy,
        ae.rel_anti_pd1,
        ae.action_anti_pd1,
        ae.ctcae_version,
    ]


LISTING_HEADER = [
    "participant",
    "site",
    "anti_pd1_drug",
    "soc",
    "term",
    "verbatim_term",
    "meddra_code",
    "grade",
    "onset_date",
    "end_date",
    "ongoing",
    "serious",
    "sae_criteria",
    "outcome",
    "immune_related",
    "rel_tracer",
    "rel_pet",
    "rel_biopsy",
    "rel_anti_pd1",
    "action_anti_pd1",
    "ctcae_version",
]


def table_csv(*, user: Any, filters: dict[str, str], table: str) -> str:
    ctx = tables_context(user=user, filters=filters)
    out = io.StringIO()
    w = csv_safety.safe_writer(out, lineterminator="\n")
    if table in ("incidence", "grade3"):
        w.writerow(
            [
                "soc",
                "term",
                "n_participants",
                "percent",
                *[f"max_grade_{g}" for g in incidence.GRADES],
                "grade_3_plus",
                "percent_grade_3_plus",
                "population_n",
            ]
        )
        for r in ctx[table]:
            w.writerow(
                [
                    r["line"].soc,
                    r["line"].term,
                    r["any"],
                    r["pct"],
                    *r["by_grade"],
                    r["g3"],
                    r["g3_pct"],
                    ctx["n"],
                ]
            )
    elif table in ("sae", "irae"):
        w.writerow(LISTING_HEADER)
        for ae in ctx["saes" if table == "sae" else "iraes"]:
            w.writerow(_listing_row(ae))
    else:
        w.writerow(["soc", *[f"grade_{g}" for g in incidence.GRADES], "population_n"])
        for soc, counts in plot_data(ctx).items():
            w.writerow([soc, *[counts[g] for g in incidence.GRADES], ctx["n"]])
    return out.getvalue()


def plot_data(ctx: dict[str, Any]) -> dict[str, dict[int, int]]:
    return {r["line"].soc: dict(r["line"].by_grade) for r in ctx["incidence"] if r["line"].is_soc}


GRADE_COLOURS = {1: "#a6d96a", 2: "#fee08b", 3: "#fdae61", 4: "#f46d43", 5: "#a50026"}


def max_grade_plot_png(*, user: Any, filters: dict[str, str]) -> bytes:
    """The plot below, cached by the version of the AEs and participants (redrawn only after a change)."""
    from safety.models import AdverseEvent
    from trial.models import Participant

    version = plot_cache.data_version(AdverseEvent.objects.all(), Participant.objects.all())
    params = [access.visible_site_ids(user), sorted(filters.items())]
    return plot_cache.cached_bytes(
        "safety-max-grade-by-soc", params, version, lambda: _max_grade_plot(user=user, filters=filters)
    )


def _max_grade_plot(*, user: Any, filters: dict[str, str]) -> bytes:
    """Horizontal stacked bars: participants by maximum CTCAE grade within each SOC."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    ctx = tables_context(user=user, filters=filters)
    data = plot_data(ctx)
    socs = list(reversed(list(data)))
    fig, ax = plt.subplots(figsize=(9, 1.9 + 0.38 * max(len(socs), 1)), dpi=100)
    left = [0] * len(socs)
    for g in incidence.GRADES:
        values = [data[s][g] for s in socs]
        ax.barh(socs, values, left=left, color=GRADE_COLOURS[g], label=f"Grade {g}", edgecolor="white")
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlabel(f"Participants (N = {ctx['n']}), by maximum grade in the SOC")
    ax.set_title("Maximum CTCAE v5.0 grade per participant by SOC")
    ax.xaxis.get_major_locator().set_params(integer=True)
    if not socs:
        ax.text(0.5, 0.5, "No adverse events", transform=ax.transAxes, ha="center")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=5, fontsize=8, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
