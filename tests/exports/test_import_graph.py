"""The exports modules form no import cycle (every import counts, including lazy ones inside functions)."""

from __future__ import annotations

import grimp

PACKAGES = ("exports", "trial", "imaging", "lesions", "safety", "pathology", "config", "quant")


def test_no_import_cycle_goes_through_an_exports_module():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    cycles = []
    for importer in sorted(m for m in graph.modules if m.split(".")[0] == "exports"):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append(" -> ".join((importer, *back)))
    assert cycles == []


def test_the_bulk_worker_never_imports_the_api_views():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    for low in ("exports.bulk", "exports.tasks", "exports.services", "exports.csv_body"):
        assert graph.find_shortest_chain(importer=low, imported="exports.api") is None, low
