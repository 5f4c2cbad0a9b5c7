"""ODM 1.3.2 metadata from the export resources: forms, items (types, Length, units, code lists with decodes,
range checks), study events (one per visit code) and where each record sits (its visit)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.core import validators
from django.db import models

from exports.resources import load_all
from exports.resources.base import Col, Resource, model_field_for
from trial.models import Visit, VisitDefinition

STUDY_OID = "ST.CD8PET"
MDV_OID = "MDV.CD8PET.2"
SUBJECT_EVENT = "SE.SUBJECT"
# Not items: the repeat key (id), the tombstone flag (a voided record is a Remove) and row timestamps
# (the AuditRecord carries who and when).
SKIP = {"id", "voided", "created_at", "updated_at"}
UNBOUNDED_TEXT = 8000
INT_LENGTH = {
    models.PositiveSmallIntegerField: 5,
    models.SmallIntegerField: 6,
    models.PositiveIntegerField: 10,
    models.IntegerField: 11,
    models.BigIntegerField: 19,
    models.AutoField: 10,
    models.BigAutoField: 19,
}
PARTIAL_DATES = {("adverse-events", "onset_date"), ("adverse-events", "end_date")}
UNITS = [  # (column-name pattern, unit OID suffix, symbol)
    (r"pct_id_per_kg", "PCTIDKG", "%ID/kg"),
    (r"(^|_)mbq($|_)", "MBQ", "MBq"),
    (r"_mg$", "MG", "mg"),
    (r"_kg$", "KG", "kg"),
    (r"_cm$", "CM", "cm"),
    (r"_mm$|_mm_", "MM", "mm"),
    (r"_ml$", "ML", "mL"),
    (r"hours", "H", "h"),
    (r"(^|_)(pct|percent)($|_)", "PCT", "%"),
]


def oid_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", text).upper()


@dataclass(frozen=True)
class Item:
    oid: str
    name: str
    key: str  # key of the column in `.values()` rows
    path: str  # ORM path ('' for an expression column)
    data_type: str
    length: int | None = None
    digits: int | None = None
    question: str = ""
    unit: tuple[str, str] | None = None  # (OID, symbol)
    codes: tuple[tuple[str, str], ...] = ()  # (coded value, decode)
    ranges: tuple[tuple[str, str], ...] = ()  # (comparator, value)

    @property
    def codelist_oid(self) -> str:
        return "CL." + self.oid[3:]


@dataclass(frozen=True)
class Form:
    resource: Resource
    items: tuple[Item, ...]
    visit_path: str  # ORM path of the record's visit id ('' when the record is subject-level)

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def form_oid(self) -> str:
        return f"F.{oid_part(self.name)}"

    @property
    def group_oid(self) -> str:
        return f"IG.{oid_part(self.name)}"

    @property
    def participant_fk(self) -> str:
        """ORM path of the participant's primary key."""
        if self.resource.model is _participant_model():
            return "id"
        return self.resource.participant_field.rsplit("__", 1)[0] + "_id"


def _participant_model() -> type[models.Model]:
    from trial.models import Participant

    return Participant


def _visit_path(model: type[models.Model], depth: int = 3) -> str:
    """Path to the visit id through forward relations (breadth first), '' when there is none."""
    if model is Visit:
        return "id"
    frontier: list[tuple[type[models.Model], str]] = [(model, "")]
    for _ in range(depth):
        nxt = []
        for current, prefix in frontier:
            for f in current._meta.concrete_fields:
                if not f.is_relation or f.related_model is None:
                    continue
                if f.related_model is Visit:
                    return f"{prefix}{f.name}_id"
                if f.related_model is not _participant_model():
                    nxt.append((f.related_model, f"{prefix}{f.name}__"))
        frontier = nxt
    return ""


def _unit(name: str) -> tuple[str, str] | None:
    for pattern, suffix, symbol in UNITS:
        if re.search(pattern, name):
            return f"MU.{suffix}", symbol
    return None


def _ranges(field: models.Field) -> tuple[tuple[str, str], ...]:
    out = []
    for v in field.validators:
        if isinstance(v, validators.MinValueValidator) and not callable(v.limit_value):
            out.append(("GE", str(v.limit_value)))
        elif isinstance(v, validators.MaxValueValidator) and not callable(v.limit_value):
            out.append(("LE", str(v.limit_value)))
    if isinstance(field, models.PositiveIntegerField | models.PositiveSmallIntegerField) and not out:
        out.append(("GE", "0"))
    return tuple(out)


def _item(resource: Resource, col: Col) -> Item:
    oid = f"IT.{oid_part(resource.name)}.{oid_part(col.name)}"
    path = col.path or col.name
    if col.expr is not None:
        question = col.help or col.name.replace("_", " ").capitalize()
        return Item(oid, col.name, col.key, "", "float", 12, 4, question, _unit(col.name))
    field = model_field_for(resource.model, path)
    question = col.help or str(getattr(field, "verbose_name", col.name)).capitalize()
    base = {"oid": oid, "name": col.name, "key": col.key, "path": path, "question": question}
    unit = _unit(col.name)
    if (resource.name, col.name) in PARTIAL_DATES:
        return Item(**base, data_type="partialDate")
    if field.is_relation:
        return Item(**base, data_type="integer", length=19)
    codes = tuple((str(v), str(label)) for v, label in (field.choices or []))
    if isinstance(field, models.BooleanField):
        return Item(**base, data_type="boolean")
    if isinstance(field, models.DecimalField):
        return Item(
            **base,
            data_type="float",
            length=field.max_digits,
            digits=field.decimal_places,
            unit=unit,
            ranges=_ranges(field),
        )
    if isinstance(field, models.FloatField):
        return Item(**base, data_type="double", unit=unit, ranges=_ranges(field))
    if isinstance(field, models.IntegerField | models.AutoField):
        length = next((n for cls, n in INT_LENGTH.items() if type(field) is cls), 19)
        return Item(**base, data_type="integer", length=length, unit=unit, codes=codes, ranges=_ranges(field))
    if isinstance(field, models.DateTimeField):
        return Item(**base, data_type="datetime")
    if isinstance(field, models.DateField):
        return Item(**base, data_type="date")
    length = getattr(field, "max_length", None) or UNBOUNDED_TEXT
    return Item(**base, data_type="text", length=length, codes=codes)


@cache
def forms() -> tuple[Form, ...]:
    """One form (and item group) per subject-level export resource, participants first."""
    out = []
    for resource in load_all().values():
        if not resource.participant_field:
            continue
        items = tuple(_item(resource, c) for c in resource.columns if c.name not in SKIP)
        out.append(Form(resource, items, _visit_path(resource.model)))
    out.sort(key=lambda f: f.name != "participants")
    return tuple(out)


def study_events() -> list[tuple[str, str]]:
    """(visit code, name) of every visit of the protocol calendar and every visit recorded."""
    names: dict[str, str] = {}
    for code, name in VisitDefinition.objects.order_by("order", "id").values_list("code", "name"):
        names.setdefault(code, name)
    for code, name in Visit.objects.order_by("code").values_list("code", "name").distinct():
        names.setdefault(code, name)
    return list(names.items())


def event_oid(visit_code: str | None) -> str:
    return f"SE.{oid_part(visit_code)}" if visit_code else SUBJECT_EVENT


def units() -> dict[str, str]:
    found: dict[str, str] = {}
    for form in forms():
        for item in form.items:
            if item.unit:
                found[item.unit[0]] = item.unit[1]
    return found
