"""Export resources; other apps' resources register only when their models exist."""

from __future__ import annotations

import importlib

from exports.resources.base import REGISTRY, Col, Nested, Resource, serializer_for

OPTIONAL_MODULES = ("safety", "imaging", "lesions", "pathology", "casebook", "kinetics", "mri")


def load_all() -> dict[str, Resource]:
    importlib.import_module("exports.resources.trial")
    for name in OPTIONAL_MODULES:
        try:
            importlib.import_module(f"exports.resources.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"exports.resources.{name}":
                raise
    return REGISTRY


__all__ = ["REGISTRY", "Col", "Nested", "Resource", "load_all", "serializer_for"]
