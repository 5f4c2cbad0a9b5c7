"""How values are shown on every page: labels instead of codes, one date format (a template builtin, no load).

The one mechanism for labels and dates in templates (config/settings.py TEMPLATES "builtins"):
- `{{ value|label }}`: a stored code as its human label: a model choice ("on_treatment" -> "On treatment"), a
  role, an automatic query rule ("LAB_GRADE2_WITHOUT_AE"), a visit of the protocol calendar ("BL_PET1" -> its
  name), a response category ("NON_CR_NON_PD" -> "Non-CR/Non-PD"), an MRI model or parameter; any other code
  of words joined by underscores is spelled out ("bor_pd" -> "Bor pd") rather than shown raw.
- `{{ text|labelled }}`: free text (a rule's reason) with the codes in it replaced by their labels.
- `{{ entry|audit_changes }}`: an audit entry's changes as (field label, old, new) with labels and dates.
- `{{ entry|audit_record }}`: "Medication #12", the record an audit entry is about.
- `{{ day|day }}` -> "2026-12-06"; `{{ instant|when }}` -> "2026-12-06 14:03 UTC" (the DATE_FORMAT and
  DATETIME_FORMAT of config/formats, which unfiltered dates use too). Site-local times keep `site_time`.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from django import template
from django.apps import apps
from django.utils import timezone

register = template.Library()

CODE = re.compile(r"\b(?:[A-Z][A-Z0-9]*_[A-Z0-9_]+|[a-z][a-z0-9]*_[a-z0-9_]+)\b")
ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

# Codes that are not model choices: response categories (quant.response), MRI models and parameters (quant.mri).
EXTRA: dict[str, str] = {
    "NON_CR_NON_PD": "Non-CR/Non-PD",
    "NON_ICR_NON_IUPD": "Non-iCR/Non-iUPD",
    "tofts": "Tofts",
    "extended_tofts": "Extended Tofts",
    "2cxm": "Two-compartment exchange",
    "ivim_segmented": "IVIM (segmented fit)",
    "ivim_full": "IVIM (full fit)",
    "ivim": "IVIM",
    "dki": "DKI",
    "ktrans_per_min": "Ktrans (/min)",
    "kep_per_min": "kep (/min)",
    "ve": "ve",
    "vp": "vp",
    "iauc60_mm_s": "IAUC60 (mM·s)",
    "ivim_d_mm2_s": "IVIM D (mm²/s)",
    "ivim_dstar_mm2_s": "IVIM D* (mm²/s)",
    "ivim_f": "IVIM f",
    "dki_d_mm2_s": "DKI D (mm²/s)",
    "dki_k": "DKI K",
    "adc_mm2_s": "ADC (mm²/s)",
    "b_s_mm2": "b (s/mm²)",
    "t_s": "time (s)",
    "t_inj": "injection time",
    "t_ref": "reference time",
    "site_coordinator": "Site coordinator",
    "data_manager": "Data manager",
}


def _sentence(code: str) -> str:
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:].lower() if code.isupper() else words[:1].upper() + words[1:]


@lru_cache(maxsize=1)
def _choice_labels() -> dict[str, str]:
    """Every string choice of every model field (first label wins for a value shared by several models)."""
    labels: dict[str, str] = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, text in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and value and value not in labels:
                    labels[value] = str(text)
    return labels


@lru_cache(maxsize=1)
def _rule_labels() -> dict[str, str]:
    try:
        from queries.rules import RULES
    except ImportError:  # pragma: no cover - the queries app is always installed
        return {}
    return {r.code: r.label for r in RULES}


_visit_names: dict[str, str] = {}


def _visit_name(code: str) -> str | None:
    """The calendar's name of a visit code (read once per process, again when a new code is asked for)."""
    if code not in _visit_names:
        model = apps.get_model("trial", "VisitDefinition")
        _visit_names.update(dict(model.objects.values_list("code", "name")))
        _visit_names.setdefault(code, "")
    return _visit_names[code] or None


def label_of(value: Any) -> Any:
    """The human label of a stored code; other values unchanged."""
    if not isinstance(value, str) or not value:
        return value
    for table in (EXTRA, _rule_labels()):
        if value in table:
            return table[value]
    if value.isupper() and "_" not in value:
        return value  # an abbreviation read as such (PD, NE, iUPD, CT), not a code
    if value in _choice_labels():
        return _choice_labels()[value]
    if CODE.fullmatch(value):
        if value.isupper():
            name = _visit_name(value)
            if name:
                return name
        return _sentence(value)
    return value


@register.filter(name="label")
def label(value: Any) -> Any:
    return label_of(value)


@register.filter(name="labelled")
def labelled(text: Any) -> Any:
    """Free text (or an object's str) with the known codes in it replaced by their labels."""
    if text is None or isinstance(text, int | float | dt.date):
        return text
    text = str(text)
    return CODE.sub(lambda m: str(label_of(m.group(0))), text)


@register.filter(name="drop_code")
def drop_code(text: Any) -> Any:
    """'BL_PET1 · Baseline PET day 2' -> 'Baseline PET day 2' (a label that repeats its code first)."""
    if isinstance(text, str) and " · " in text:
        head, rest = text.split(" · ", 1)
        if CODE.fullmatch(head) or head.isupper():
            return rest
    return labelled(text)


@register.filter(name="day")
def day(value: Any) -> str:
    """'2026-12-06'; '' for no value (a datetime gives its UTC day)."""
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value, dt.UTC).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


@register.filter(name="when")
def when(value: Any) -> str:
    """'2026-12-06 14:03 UTC'; '' for no value (a date alone gives the day)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str) and ISO_INSTANT.match(value):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        return f"{timezone.localtime(value, dt.UTC):%Y-%m-%d %H:%M} UTC"
    return day(value)


def _model(entry: Any) -> Any:
    try:
        return apps.get_model(entry.app_label, entry.model)
    except LookupError:
        return None


def _field(model: Any, name: str) -> Any:
    if model is None:
        return None
    for candidate in (name, name[:-3] if name.endswith("_id") else None):
        if not candidate:
            continue
        try:
            return model._meta.get_field(candidate)
        except Exception:  # noqa: BLE001 - FieldDoesNotExist and reverse relations alike
            continue
    return None


def _shown(value: Any, field: Any, site: Any = None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    choices = dict(getattr(field, "flatchoices", None) or ()) if field is not None else {}
    if isinstance(value, str | int) and value in choices:
        return str(choices[value])
    if isinstance(value, list):
        text = ", ".join(_shown(v, None) for v in value[:8])
        return text + (f" … ({len(value)} in all)" if len(value) > 8 else "")
    if isinstance(value, dict):
        return "; ".join(f"{_words(k)}: {_shown(v, None)}" for k, v in list(value.items())[:8])
    if isinstance(value, str):
        if ISO_INSTANT.match(value):
            return _instant(value, site)
        return str(label_of(value)) if CODE.fullmatch(value) else str(labelled(value))
    return str(value)


def _words(name: str) -> str:
    return str(EXTRA.get(name) or _sentence(name))


def field_label(model: Any, name: str) -> str:
    field = _field(model, name)
    verbose = getattr(field, "verbose_name", None)
    if verbose and str(verbose) != name.replace("_", " "):
        text = str(verbose)
        return text[:1].upper() + text[1:]
    return _words(name[:-3] if name.endswith("_id") and field is not None else name)


def _instant(value: str, site: Any) -> str:
    """A stored instant on the site's clock when the page names its site (as the record shows it), else UTC."""
    if not site:
        return when(value)
    from trial.site_time import format_site_time

    try:
        return format_site_time(dt.datetime.fromisoformat(value), site)
    except ValueError:
        return value


@register.filter(name="audit_changes")
def audit_changes(entry: Any, site: Any = None) -> list[tuple[str, str, str]]:
    """(field label, old, new) of an audit entry, codes and dates shown as on the pages (instants on `site`'s
    clock when given: `{{ e|audit_changes:participant.site }}`)."""
    model = _model(entry)
    rows = []
    for name, pair in (entry.changes or {}).items():
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        field = _field(model, name)
        rows.append((field_label(model, name), _shown(old, field, site), _shown(new, field, site)))
    return rows


@register.filter(name="audit_record")
def audit_record(entry: Any) -> str:
    model = _model(entry)
    name = str(model._meta.verbose_name) if model is not None else _words(entry.model)
    return f"{name[:1].upper()}{name[1:]} #{entry.object_id}"
