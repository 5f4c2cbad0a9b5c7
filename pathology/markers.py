"""The seeded IHC marker list (loaded by a data migration and reloaded after test flushes)."""

from __future__ import annotations

from typing import Any

CD8_FIELDS = [
    "density_intratumoural",
    "density_stromal",
    "percent_positive",
    "semi_quant",
    "immune_phenotype",
    "h_score",
]
PDL1_FIELDS = ["tps", "cps", "h_score"]

SEED_MARKERS: list[dict[str, Any]] = [
    {
        "code": "CD8",
        "name": "CD8 (cytotoxic T cells)",
        "value_type": "density",
        "min_value": 0,
        "max_value": None,
        "allowed_categories": ["inflamed", "excluded", "desert"],
        "fields": CD8_FIELDS,
        "default_clone": "C8/144B",
        "order": 1,
    },
    {
        "code": "PD-L1",
        "name": "PD-L1",
        "value_type": "percent",
        "min_value": 0,
        "max_value": 100,
        "allowed_categories": [],
        "fields": PDL1_FIELDS,
        "default_clone": "22C3",
        "order": 2,
    },
    {
        "code": "CD3",
        "name": "CD3 (T cells)",
        "value_type": "density",
        "min_value": 0,
        "max_value": None,
        "allowed_categories": [],
        "fields": ["value"],
        "default_clone": "2GV6",
        "order": 3,
    },
    {
        "code": "CD4",
        "name": "CD4 (helper T cells)",
        "value_type": "density",
        "min_value": 0,
        "max_value": None,
        "allowed_categories": [],
        "fields": ["value"],
        "default_clone": "SP35",
        "order": 4,
    },
    {
        "code": "FOXP3",
        "name": "FOXP3 (regulatory T cells)",
        "value_type": "density",
        "min_value": 0,
        "max_value": None,
        "allowed_categories": [],
        "fields": ["value"],
        "default_clone": "236A/E7",
        "order": 5,
    },
    {
        "code": "CD68",
        "name": "CD68 (macrophages)",
        "value_type": "density",
        "min_value": 0,
        "max_value": None,
        "allowed_categories": [],
        "fields": ["value"],
        "default_clone": "KP1",
        "order": 6,
    },
]


def load_markers(model: Any = None) -> None:
    """Create the seeded markers that are missing (never overwrites an edited definition)."""
    if model is None:
        from pathology.models import MarkerDefinition as model
    for row in SEED_MARKERS:
        model.objects.get_or_create(code=row["code"], defaults={k: v for k, v in row.items() if k != "code"})


def markers_loaded() -> bool:
    from pathology.models import MarkerDefinition

    return MarkerDefinition.objects.filter(code__in=[r["code"] for r in SEED_MARKERS]).count() == len(
        SEED_MARKERS
    )
