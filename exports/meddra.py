"""MedDRA ASCII release -> MeddraTerm rows (the primary hierarchy of every LLT), and look-ups for SDTM coding.

The distribution's files are `$`-separated, one record per line with a trailing `$`:
  llt.asc       llt_code$llt_name$pt_code$llt_whoart_code$llt_harts_code$llt_costart_sym$llt_icd9_code$
                llt_icd9cm_code$llt_icd10_code$llt_currency$llt_jart_code$
  pt.asc        pt_code$pt_name$null_field$pt_soc_code$...
  hlt.asc, hlgt.asc, soc.asc    code$name$... (soc.asc: soc_code$soc_name$soc_abbrev$...)
  hlt_pt.asc, hlgt_hlt.asc, soc_hlgt.asc    parent_code$child_code$
  mdhier.asc    pt_code$hlt_code$hlgt_code$soc_code$pt_name$hlt_name$hlgt_name$soc_name$soc_abbrev$null_field$
                pt_soc_code$primary_soc_fg$
  meddra_release.asc (optional)  version$language$...
The primary path of a PT is its mdhier.asc row with primary_soc_fg "Y"; every link of that path must also be in
hlt_pt/hlgt_hlt/soc_hlgt and every name in pt/hlt/hlgt/soc, or the release is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from exports.models_meddra import MeddraRelease, MeddraTerm

FILES = (
    "llt.asc",
    "pt.asc",
    "hlt.asc",
    "hlt_pt.asc",
    "hlgt.asc",
    "hlgt_hlt.asc",
    "soc.asc",
    "soc_hlgt.asc",
    "mdhier.asc",
)


class MeddraFileError(ValueError):
    """The folder is not a complete, consistent MedDRA ASCII release (one-line message)."""


@dataclass(frozen=True)
class Coding:
    """The MedDRA coding of one LLT (names and codes of its primary path)."""

    version: str
    llt: tuple[int, str]
    pt: tuple[int, str]
    hlt: tuple[int, str]
    hlgt: tuple[int, str]
    soc: tuple[int, str]


def _records(path: Path, fields: int) -> list[list[str]]:
    rows = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = line.split("$")
        if len(cells) < fields:
            raise MeddraFileError(f"{path.name} line {n}: {len(cells)} fields, expected at least {fields}")
        rows.append(cells)
    return rows


def _code(value: str, where: str) -> int:
    if not value.strip().isdigit():
        raise MeddraFileError(f"{where}: {value!r} is not a MedDRA code")
    return int(value)


def read_release(folder: Path) -> tuple[str, str, list[dict[str, Any]], dict[str, str]]:
    """(version, language, term rows, file checksums) of a MedDRA ASCII folder."""
    if not folder.is_dir():
        raise MeddraFileError(f"{folder} is not a folder")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise MeddraFileError(f"{folder} lacks {', '.join(missing)}")
    checksums = {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in (*FILES, "meddra_release.asc")
        if (folder / name).is_file()
    }
    names = {}
    for kind, fields in (("pt", 4), ("hlt", 2), ("hlgt", 2), ("soc", 3)):
        names[kind] = {_code(r[0], f"{kind}.asc"): r[1] for r in _records(folder / f"{kind}.asc", fields)}
    abbrev = {_code(r[0], "soc.asc"): r[2] for r in _records(folder / "soc.asc", 3)}
    links = {
        name: {(_code(r[0], name), _code(r[1], name)) for r in _records(folder / name, 2)}
        for name in ("hlt_pt.asc", "hlgt_hlt.asc", "soc_hlgt.asc")
    }
    primary: dict[int, tuple[int, int, int]] = {}
    for r in _records(folder / "mdhier.asc", 12):
        pt, hlt, hlgt, soc = (_code(v, "mdhier.asc") for v in r[:4])
        if r[11].strip().upper() != "Y":
            continue
        if pt in primary:
            raise MeddraFileError(f"mdhier.asc: PT {pt} has two primary paths")
        for file, link in (
            ("hlt_pt.asc", (hlt, pt)),
            ("hlgt_hlt.asc", (hlgt, hlt)),
            ("soc_hlgt.asc", (soc, hlgt)),
        ):
            if link not in links[file]:
                raise MeddraFileError(f"mdhier.asc: link {link[0]}-{link[1]} of PT {pt} is not in {file}")
        for kind, code in (("pt", pt), ("hlt", hlt), ("hlgt", hlgt), ("soc", soc)):
            if code not in names[kind]:
                raise MeddraFileError(f"mdhier.asc: {kind.upper()} {code} is not in {kind}.asc")
        primary[pt] = (hlt, hlgt, soc)
    rows = []
    for r in _records(folder / "llt.asc", 10):
        llt, pt = _code(r[0], "llt.asc"), _code(r[2], "llt.asc")
        if pt not in primary:
            raise MeddraFileError(
                f"llt.asc: LLT {llt} points to PT {pt} without a primary path in mdhier.asc"
            )
        hlt, hlgt, soc = primary[pt]
        rows.append(
            {
                "llt_code": llt,
                "llt_name": r[1],
                "llt_current": r[9].strip().upper() != "N",
                "pt_code": pt,
                "pt_name": names["pt"][pt],
                "hlt_code": hlt,
                "hlt_name": names["hlt"][hlt],
                "hlgt_code": hlgt,
                "hlgt_name": names["hlgt"][hlgt],
                "soc_code": soc,
                "soc_name": names["soc"][soc],
                "soc_abbrev": abbrev[soc][:5],
            }
        )
    if not rows:
        raise MeddraFileError("llt.asc holds no terms")
    version, language = "", ""
    if (folder / "meddra_release.asc").is_file():
        first = _records(folder / "meddra_release.asc", 2)
        if first:
            version, language = first[0][0].strip(), first[0][1].strip()
    return version, language, rows, checksums


def load_release(folder: Path, version: str = "") -> tuple[MeddraRelease, int]:
    """Read the folder and make it the current release (its terms replaced when the version is re-loaded)."""
    found, language, rows, checksums = read_release(folder)
    version = version or found
    if not version:
        raise MeddraFileError("no meddra_release.asc in the folder: name the version with --meddra-version")
    with transaction.atomic():
        release, _ = MeddraRelease.objects.update_or_create(
            version=version,
            defaults={"language": language, "source": str(folder)[:300], "checksums": checksums},
        )
        release.terms.all().delete()
        MeddraTerm.objects.bulk_create((MeddraTerm(release=release, **row) for row in rows), batch_size=2000)
        MeddraRelease.objects.exclude(pk=release.pk).update(is_current=False)
        MeddraRelease.objects.filter(pk=release.pk).update(is_current=True)
    return release, len(rows)


def codings(llt_codes: Any) -> dict[int, Coding]:
    """The current release's coding of the given LLT codes (a queryset or a list): {} without a release."""
    release = MeddraRelease.objects.filter(is_current=True).first()
    if release is None:
        return {}
    return {
        t.llt_code: Coding(
            release.version,
            (t.llt_code, t.llt_name),
            (t.pt_code, t.pt_name),
            (t.hlt_code, t.hlt_name),
            (t.hlgt_code, t.hlgt_name),
            (t.soc_code, t.soc_name),
        )
        for t in release.terms.filter(llt_code__in=llt_codes)
    }


def current_version() -> str:
    return MeddraRelease.objects.filter(is_current=True).values_list("version", flat=True).first() or ""
