"""Declarative export resources: one column list drives JSON, CSV, the change feed and the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Model field class -> (DRF field class, extra kwargs) for read-only output fields.
_FIELD_MAP: list[tuple[type[models.Field], Callable[[models.Field], tuple[type, dict]]]] = [
    (models.BooleanField, lambda f: (serializers.BooleanField, {})),
    (models.DateTimeField, lambda f: (serializers.DateTimeField, {})),
    (models.DateField, lambda f: (serializers.DateField, {})),
    (
        models.DecimalField,
        lambda f: (
            serializers.DecimalField,
            {"max_digits": f.max_digits, "decimal_places": f.decimal_places},
        ),
    ),
    (models.FloatField, lambda f: (serializers.FloatField, {})),
    (models.AutoField, lambda f: (serializers.IntegerField, {})),
    (models.BigAutoField, lambda f: (serializers.IntegerField, {})),
    (models.IntegerField, lambda f: (serializers.IntegerField, {})),
    (models.JSONField, lambda f: (serializers.JSONField, {})),
    (models.FileField, lambda f: (serializers.CharField, {})),
    (models.CharField, lambda f: (serializers.CharField, {})),
    (models.TextField, lambda f: (serializers.CharField, {})),
    (models.GenericIPAddressField, lambda f: (serializers.CharField, {})),
]


@dataclass(frozen=True)
class Col:
    """One exported column: public `name`, ORM `path` (or an `expr` annotation), optional DRF field."""

    name: str
    path: str = ""
    expr: Any = None
    field: serializers.Field | None = None
    help: str = ""

    @property
    def key(self) -> str:
        """Key of the column in `.values()` rows."""
        return self.name if self.expr is not None else (self.path or self.name)


@dataclass(frozen=True)
class Nested:
    """A child list fetched with one query per page (e.g. a participant's status history)."""

    name: str
    model: type[models.Model]
    parent_field: str
    columns: tuple[Col, ...]
    order_by: tuple[str, ...] = ("id",)


@dataclass(frozen=True)
class Resource:
    name: str
    model: type[models.Model]
    columns: tuple[Col, ...]
    site_field: str = "participant__site"
    participant_field: str | None = "participant__study_id"
    date_fields: tuple[str, ...] = ()
    nested: tuple[Nested, ...] = ()
    description: str = ""
    base_filter: dict[str, Any] = field(default_factory=dict)

    @property
    def audit_key(self) -> tuple[str, str]:
        return self.model._meta.app_label, self.model._meta.model_name

    @property
    def has_updated_at(self) -> bool:
        return any(f.name == "updated_at" for f in self.model._meta.get_fields())

    @property
    def has_voided(self) -> bool:
        return any(f.name == "voided" for f in self.model._meta.get_fields())

    def value_args(self) -> tuple[list[str], dict[str, Any]]:
        paths = [c.key for c in self.columns if c.expr is None]
        exprs = {c.name: c.expr for c in self.columns if c.expr is not None}
        return paths, exprs

    def csv_header(self) -> list[str]:
        return [c.name for c in self.columns]


def model_field_for(model: type[models.Model], path: str) -> models.Field:
    """Resolve `a__b__c` to the final model field."""
    current: Any = model
    parts = path.split("__")
    for i, part in enumerate(parts):
        f = current._meta.get_field(part)
        if i < len(parts) - 1:
            current = f.related_model
        else:
            return f
    raise ValueError(path)


def path_nullable(model: type[models.Model], path: str) -> bool:
    """True when `a__b__c` can be NULL: the final field is nullable or a relation on the way is optional."""
    current: Any = model
    for part in path.split("__"):
        f = current._meta.get_field(part)
        if f.null or (f.is_relation and not f.concrete):
            return True
        current = f.related_model if f.is_relation else None
    return False


def _inline_enum(schema: dict[str, Any], nullable: bool) -> dict[str, Any]:
    """Wrap the enum in allOf so drf-spectacular keeps it inline (no shared, name-colliding enum components)."""
    wrapped: dict[str, Any] = {"allOf": [schema]}
    if nullable:
        wrapped["nullable"] = True
    return wrapped


def enum_class(values: list[str], nullable: bool = False) -> type:
    """A string field class whose schema is the enum of stored codes."""
    schema = _inline_enum({"type": "string", "enum": values}, nullable)
    return extend_schema_field(schema)(type("EnumCharField", (serializers.CharField,), {}))


def int_enum_class(values: list[int], nullable: bool = False) -> type:
    schema = _inline_enum({"type": "integer", "enum": values}, nullable)
    return extend_schema_field(schema)(type("EnumIntegerField", (serializers.IntegerField,), {}))


def field_spec(model: type[models.Model], col: Col) -> tuple[type, dict[str, Any]]:
    """DRF field class and constructor kwargs of a column (kwargs survive the serializer's deepcopy)."""
    if col.field is not None:
        return type(col.field), dict(col.field._kwargs)
    f = model_field_for(model, col.path or col.name)
    null = path_nullable(model, col.path or col.name)
    if f.is_relation:
        return serializers.IntegerField, {"allow_null": null}
    if getattr(f, "choices", None) and isinstance(f, models.IntegerField):
        return int_enum_class([c[0] for c in f.choices], nullable=null), {"allow_null": null}
    if getattr(f, "choices", None):
        values = [c[0] for c in f.choices] + ([""] if f.blank else [])
        return enum_class(values, nullable=null), {"allow_blank": f.blank, "allow_null": null}
    cls, kwargs = next(factory(f) for klass, factory in _FIELD_MAP if isinstance(f, klass))
    if null:
        kwargs["allow_null"] = True
    return cls, kwargs


def _build(name: str, model: type[models.Model], columns: tuple[Col, ...], extra: dict[str, Any]) -> type:
    attrs: dict[str, Any] = {}
    for col in columns:
        cls, kwargs = field_spec(model, col)
        kwargs["read_only"] = True
        if col.key != col.name:
            kwargs["source"] = col.key
        if col.help:
            kwargs["help_text"] = col.help
        attrs[col.name] = cls(**kwargs)
    attrs.update({k: make() for k, make in extra.items()})
    return type(name, (serializers.Serializer,), attrs)


_SERIALIZERS: dict[str, type] = {}


def serializer_for(resource: Resource) -> type:
    """A read-only Serializer over `.values()` rows (named `Export<Resource>` in the schema)."""
    if resource.name in _SERIALIZERS:
        return _SERIALIZERS[resource.name]
    stem = "".join(part.capitalize() for part in resource.name.replace("-", "_").split("_"))
    extra = {}
    for nested in resource.nested:
        child = _build(
            f"Export{stem}{nested.name.title().replace('_', '')}", nested.model, nested.columns, {}
        )
        extra[nested.name] = lambda child=child: child(many=True, read_only=True)
    cls = _build(f"Export{stem}", resource.model, resource.columns, extra)
    _SERIALIZERS[resource.name] = cls
    return cls


REGISTRY: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    REGISTRY[resource.name] = resource
    return resource
