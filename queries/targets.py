"""What a query can point at: (export resource, object id, field) resolved to a model row, its participant and site.

The export REGISTRY names every clinical record the sponsor sees (MR series uploads, map jobs and ROIs
included: exports/resources/mri.py); queries accept the same names, plus a few records that are not
exported on their own (PET series uploads). Field names are the resource's
column names or the model's own field names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from exports.resources import load_all
from exports.resources.base import Col, Resource
from trial.models import Participant

# Resources that are not clinical records of a participant (or are the queries themselves).
NOT_QUERYABLE = frozenset({"sites", "queries"})
CLINICAL_APPS = frozenset(
    {"trial", "safety", "imaging", "lesions", "pathology", "casebook", "kinetics", "mri"}
)

# Fields a query answer never rewrites: identity, bookkeeping, links.
NOT_CORRECTABLE = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "voided",
        "voided_at",
        "void_reason",
        "version",
        "participant",
        "site",
        "study_id",
        "sequence_number",
        "ctcae_version",
        "onset_precision",
        "end_precision",
        "out_of_window",
        "previous",
        "sae_aware_at",
        "anti_pd1_drug",
    }
)

# Derived or pipeline-written records: queried, but corrected on their own pages (where engines re-run).
NOT_CORRECTABLE_RESOURCES = frozenset(
    {
        "suv-metrics",
        "pk-parameters",
        "best-responses",
        "status-changes",
        "scan-findings",
        "scans",
        "pet-uploads",
        "assessments",
        "measurements",
        "mri-parameters",
        # MRI app: an upload's every field was read from (or written for) the received files, which were
        # validated against its kind; a map job's state, summary and provenance are the worker's results and its
        # model and options the inputs those results came from; an ROI's voxel count and statistics are computed
        # from its mask and the maps, and its name is the registry lesion label its MRI parameters were filed
        # under. Corrected on the MRI page: void, upload again, run a new job, add the ROI again.
        "mr-series-uploads",
        "mr-map-jobs",
        "mr-rois",
    }
)

# The write capability (trial.access) a correction of a record of this model needs.
CAPABILITY_BY_MODEL = {
    "trial.participant": "enrolment",
    "trial.eligibilityanswer": "enrolment",
    "trial.consent": "enrolment",
    "trial.visit": "schedule",
    "trial.tracerdose": "dosing",
    "trial.antipd1dose": "dosing",
}
CAPABILITY_BY_APP = {
    "safety": "adverse_events",
    "imaging": "imaging",
    "lesions": "lesions",
    "pathology": "pathology",
    "casebook": "enrolment",
}


@functools.cache
def _extra_resources() -> dict[str, Resource]:
    """Records queries may name that have no export resource of their own."""
    from imaging.models import SeriesUpload

    found = {
        "pet-uploads": Resource(
            name="pet-uploads",
            model=SeriesUpload,
            columns=(
                Col("id"),
                Col("participant", "participant__study_id"),
                Col("scan", "scan_id"),
                Col("state"),
                Col("instance_count"),
                Col("series_instance_uid"),
                Col("override_reason"),
            ),
            description="PET series uploads (queries only).",
        )
    }
    try:
        from casebook.models import LabResult
    except ImportError:  # pragma: no cover - the casebook's lab forms are not there
        return found
    found["lab-results"] = Resource(
        name="lab-results",
        model=LabResult,
        columns=(
            Col("id"),
            Col("participant", "participant__study_id"),
            *(
                Col(n)
                for n in ("panel", "collected_on", "test_code", "value", "unit", "lln", "uln", "ctcae_grade")
            ),
        ),
        description="Laboratory results (queries only).",
    )
    return found


def queryable_resources() -> dict[str, Resource]:
    """Resource name -> Resource for every kind of clinical record a query may name."""
    found = {
        name: r
        for name, r in load_all().items()
        if name not in NOT_QUERYABLE and r.model._meta.app_label in CLINICAL_APPS
    }
    for name, r in _extra_resources().items():
        found.setdefault(name, r)
    return dict(sorted(found.items()))


def resource_for_model(model: type[models.Model]) -> str | None:
    """The resource name of a model (the first registered one), or None."""
    for name, r in queryable_resources().items():
        if r.model is model:
            return name
    return None


@dataclass(frozen=True)
class Target:
    """A resolved query target."""

    resource: Resource
    record: models.Model
    field: str
    participant: Participant

    @property
    def site_id(self) -> int:
        return self.participant.site_id

    @property
    def model_label(self) -> str:
        return f"{self.record._meta.app_label}.{self.record._meta.model_name}"

    def column(self) -> Col | None:
        return next((c for c in self.resource.columns if c.name == self.field), None)

    def model_field(self) -> models.Field | None:
        """The record's own concrete field this query field names, if any."""
        col = self.column()
        path = (col.path or col.name) if col is not None and col.expr is None else self.field
        if "__" in path:
            return None
        for f in self.record._meta.concrete_fields:
            if path in (f.name, f.attname):
                return f
        return None

    def value(self) -> Any:
        """The current value of the field, JSON-safe (the column's value where it is a path)."""
        from trial.audit import serialise_value

        col = self.column()
        if col is not None and col.expr is None:
            path = col.path or col.name
            row = type(self.record).objects.filter(pk=self.record.pk).values_list(path, flat=True).first()
            return serialise_value(row)
        f = self.model_field()
        return serialise_value(getattr(self.record, f.attname)) if f is not None else None

    def correctable_field(self) -> models.Field | None:
        if self.resource.name in NOT_CORRECTABLE_RESOURCES:
            return None
        f = self.model_field()
        if f is None or f.name in NOT_CORRECTABLE or not f.editable or f.is_relation or f.primary_key:
            return None
        if isinstance(f, (models.JSONField, models.FileField)):
            return None
        return f


def field_names(resource: Resource) -> set[str]:
    names = {c.name for c in resource.columns}
    names |= {f.name for f in resource.model._meta.concrete_fields}
    return names


def resolve(resource_name: str, object_id: Any, field: str) -> Target:
    """The target row (voided rows included), or ValidationError naming the bad key."""
    resources = queryable_resources()
    resource = resources.get(str(resource_name or ""))
    if resource is None:
        raise ValidationError(
            {"resource": f"Unknown resource {resource_name!r}; one of: {', '.join(resources)}."}
        )
    try:
        pk = int(object_id)
    except (TypeError, ValueError):
        raise ValidationError({"object_id": "object_id must be an integer id."}) from None
    if field not in field_names(resource):
        raise ValidationError(
            {
                "field": f"{resource.name} has no field {field!r}; one of: {', '.join(sorted(field_names(resource)))}."
            }
        )
    model = resource.model
    record = model.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if record is None:
        raise ValidationError({"object_id": f"No {resource.name} record has id {pk}."})
    return Target(resource, record, field, participant_of(record))


def participant_of(record: models.Model) -> Participant:
    if isinstance(record, Participant):
        return record
    try:
        record._meta.get_field("participant")
    except FieldDoesNotExist:
        raise ValidationError({"resource": "Queries are raised on records of a participant."}) from None
    return Participant.objects.select_related("site").get(pk=record.participant_id)


def capability_for(target: Target) -> str | None:
    """The write capability a correction of this record needs (None: it cannot be corrected in an answer)."""
    label = target.model_label
    return CAPABILITY_BY_MODEL.get(label) or CAPABILITY_BY_APP.get(target.record._meta.app_label)


def field_label(resource_name: str, field: str) -> str:
    """A readable label for a resource field: the model field's verbose name where there is one."""
    resource = queryable_resources().get(resource_name)
    if resource is None:
        return field.replace("_", " ")
    col = next((c for c in resource.columns if c.name == field), None)
    path = (col.path or col.name) if col is not None and col.expr is None else field
    if "__" not in path:
        try:
            f = resource.model._meta.get_field(path)
            return str(getattr(f, "verbose_name", field))
        except FieldDoesNotExist:
            pass
    return field.replace("_", " ")
