"""The safety tables' figures (grade counts, population, SAE/irAE listing counts) are computed once per version
of the AEs and participants (issue 17) and follow every audited change."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command

from safety import presentation, selectors
from safety.models import AdverseEvent
from tests import factories
from trial.audit import audited_update
from trial.models import Role, Site

pytestmark = pytest.mark.django_db


def _figures(user) -> tuple:
    counts = selectors.incidence_counts(user=user, filters={})
    return (
        counts.n,
        counts.any_ae,
        counts.any_grade3,
        counts.n_saes,
        counts.n_iraes,
        sorted(counts.soc_counts),
        sorted(counts.term_counts),
    )


def test_table_figures_are_cached_per_data_version_and_follow_changes(client, monkeypatch):
    cache.clear()  # this cache's keys only: no figures of an earlier run are reused
    call_command(
        "load_scale", sites=1, participants=3, aes=30, audit=0, scans=0, force=True, stdout=io.StringIO()
    )
    user = factories.make_user("dana", (Site.objects.get(code="SC001"), Role.DATA_MANAGER))
    computed = []
    real = selectors._grade_counts
    monkeypatch.setattr(selectors, "_grade_counts", lambda qs: computed.append(1) or real(qs))
    first = _figures(user)
    assert _figures(user) == first and len(computed) == 1  # the second view reads the cache
    live = AdverseEvent.objects.filter(voided=False)
    assert (
        first[3] == live.filter(serious=True).count() and first[4] == live.filter(immune_related=True).count()
    )
    # Per participant and SOC, the maximum grade: the same figures as counting in Python over the AEs.
    max_by_soc: dict[tuple[int, str], int] = {}
    for ae in live.select_related("term"):
        key = (ae.participant_id, ae.term.soc)
        max_by_soc[key] = max(max_by_soc.get(key, 0), ae.grade)
    expected: dict[tuple[str, int], int] = {}
    for (_pid, soc), grade in max_by_soc.items():
        expected[(soc, grade)] = expected.get((soc, grade), 0) + 1
    assert sorted(first[5]) == sorted((s, g, n) for (s, g), n in expected.items())

    ae = AdverseEvent.objects.filter(voided=False, serious=False).first()
    audited_update(
        ae,
        ctx=factories.ctx_for(user),
        data={"serious": True, "sae_hospitalisation": True},
        reason="upgraded to serious",
    )
    changed = _figures(user)
    assert len(computed) == 2 and changed[3] == first[3] + 1  # the AE's version changed: computed again

    client.force_login(user)
    page = client.get("/safety/tables/")
    assert page.status_code == 200 and len(computed) == 2  # the page uses the cached figures
    assert f"({changed[3]} SAEs)".encode() in page.content  # the SAE listing's pager, from the cached count
    assert presentation.tables_context(user=user, filters={})["n_saes"] == changed[3]
