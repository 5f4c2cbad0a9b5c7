"""Which participant (casebook) and export resource a clinical record belongs to.

Used by the write-gate guard and listeners: the path from a model to `Participant` is found once per model
(a direct `participant` foreign key, or one or two hops such as voi -> scan -> participant) and cached.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Subquery

from trial.models import ClinicalRecord, Participant

# Apps whose rows are not clinical data: query threads and monitoring's own marks pass the gate freely.
NON_CLINICAL_APPS = frozenset({"queries", "monitoring", "exports", "accounts"})


def is_clinical(instance: models.Model) -> bool:
    return isinstance(instance, ClinicalRecord) and instance._meta.app_label not in NON_CLINICAL_APPS


@cache
def participant_path(model: type[models.Model]) -> tuple[str, ...] | None:
    """FK names from `model` to Participant (() for Participant itself; None if there is no path)."""
    if model is Participant:
        return ()
    frontier: list[tuple[type[models.Model], tuple[str, ...]]] = [(model, ())]
    for _depth in range(3):
        nxt = []
        for current, path in frontier:
            fks = [f for f in current._meta.concrete_fields if f.is_relation and f.many_to_one]
            fks.sort(key=lambda f: f.name != "participant")  # a direct participant link wins
            for f in fks:
                if f.related_model is Participant:
                    return (*path, f.name)
            nxt += [(f.related_model, (*path, f.name)) for f in fks if f.related_model is not current]
        frontier = nxt
    return None


def participant_ref(instance: models.Model) -> int | Subquery | None:
    """The participant id, or a one-row subquery yielding it (no query run here)."""
    path = participant_path(type(instance))
    if path is None:
        return None
    if path == ():
        return instance.pk
    first = instance._meta.get_field(path[0])
    value = getattr(instance, first.attname)
    if len(path) == 1 or value is None:
        return value
    rest = "__".join(path[1:])
    return Subquery(first.related_model._base_manager.filter(pk=value).values(rest)[:1])


def participant_id_of(instance: models.Model) -> int | None:
    """The participant id (one query at most for an indirect link)."""
    ref = participant_ref(instance)
    if isinstance(ref, Subquery):
        path = participant_path(type(instance))
        first = instance._meta.get_field(path[0])
        return (
            first.related_model._base_manager.filter(pk=getattr(instance, first.attname))
            .values_list("__".join(path[1:]), flat=True)
            .first()
        )
    return ref


@cache
def resource_for_model(app_label: str, model_name: str) -> str:
    """The export resource name of a model ("" if none)."""
    from exports.resources import load_all

    for name, resource in load_all().items():
        if resource.audit_key == (app_label, model_name):
            return name
    return ""


def resolve(resource_name: str) -> Any:
    """The export Resource of this name, or None."""
    from exports.resources import load_all

    return load_all().get(resource_name)


def model_of(app_label: str, model_name: str) -> type[models.Model]:
    return apps.get_model(app_label, model_name)


SPECIAL_LABELS = {
    "anti-pd1-doses": "Anti-PD-1 doses",
    "suv-metrics": "SUV metrics",
    "ihc-scores": "IHC scores",
    "vois": "VOIs",
    "mri-parameters": "MRI parameters",
    "scan-findings": "Scan findings",
    "mr-series-uploads": "MR series uploads",
    "mr-map-jobs": "MR map jobs",
    "mr-rois": "MR map ROIs",
}


def form_label(resource: str) -> str:
    """A resource name as people read it ("adverse-events" -> "Adverse events")."""
    return SPECIAL_LABELS.get(resource) or resource.replace("-", " ").capitalize()
