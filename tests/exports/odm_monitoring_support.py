"""Shared by the ODM monitoring tests (Snapshot and Transactional): schema locations, namespaces, errors."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from exports.odm_xml import VENDOR_NS

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL = ROOT / "tests" / "data" / "cdisc" / "odm-1.3.2"
EXTENSION = ROOT / "exports" / "schemas" / "odm-1.3.2-cd8"
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
CD8 = f"{{{VENDOR_NS}}}"


def schema_errors(schema: etree.XMLSchema, root: etree._Element) -> list[str]:
    """The first five validation errors (none when valid)."""
    return [] if schema.validate(root) else [str(e) for e in list(schema.error_log)[:5]]
