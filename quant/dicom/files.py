"""Finding DICOM files and telling which series they hold (for a chooser and for mixed-folder refusals).

Files are read as DICOM Part 10 (128-byte preamble + "DICM"). A file without the preamble is read only when
its first elements parse as a well-formed little-endian data set starting with group 0002 or 0008
(:func:`sniff_raw_dataset`) and it then carries SOPClassUID and SOPInstanceUID: pydicom's ``force`` is never
used on bytes that did not pass that check. :func:`inventory` sorts a CD or PACS export (DICOMDIR,
README.TXT, AUTORUN.INF, viewer files, sub-folders) into image files and ignored files with a reason each.
"""

from __future__ import annotations

import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.errors import InvalidDicomError

from quant.dicom.values import text_value
from quant.errors import MixedSeriesError, SeriesError

Identity = tuple[str, str, str]  # series instance uid, modality, description


def list_dicom_files(directory: str) -> list[str]:
    """All regular files under a directory (sorted); DICOM-ness is checked by the reader."""
    if not os.path.isdir(directory):
        raise SeriesError(f"{directory}: not a directory")
    out = []
    for root, _dirs, files in os.walk(directory):
        out.extend(os.path.join(root, f) for f in files if not f.startswith("."))
    if not out:
        raise SeriesError(f"{directory}: no files")
    return sorted(out)


MEDIA_DIRECTORY_SOP = "1.2.840.10008.1.3.10"  # DICOMDIR
IMPLICIT_LE, EXPLICIT_LE = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"
_VRS = {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB", b"OD",
    b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC", b"UI",
    b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
}  # fmt: skip
_LONG = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
SNIFF_ELEMENTS = 6


def sniff_raw_dataset(head: bytes) -> str | None:
    """Transfer syntax of a preamble-less data set whose first elements are well formed, else None.

    Checks the first :data:`SNIFF_ELEMENTS` elements: group 0002 or 0008 first, tags ascending,
    explicit VRs valid (or implicit lengths even and bounded), values inside the bytes read.
    """
    if len(head) < 16:
        return None
    group = struct.unpack_from("<H", head, 0)[0]
    if group not in (0x0002, 0x0008):
        return None
    explicit = head[4:6] in _VRS
    pos, last, count = 0, -1, 0
    while count < SNIFF_ELEMENTS and pos + 8 <= len(head):
        g, e = struct.unpack_from("<HH", head, pos)
        tag = (g << 16) | e
        if tag <= last or g == 0xFFFE:
            return None
        if g != 0x0002 and group == 0x0002 and not explicit:
            return None
        if explicit or g == 0x0002:
            vr = head[pos + 4 : pos + 6]
            if vr not in _VRS:
                return None
            if vr in _LONG:
                if pos + 12 > len(head):
                    break
                length, start = struct.unpack_from("<I", head, pos + 8)[0], pos + 12
            else:
                length, start = struct.unpack_from("<H", head, pos + 6)[0], pos + 8
        else:
            length, start = struct.unpack_from("<I", head, pos + 4)[0], pos + 8
        if length == 0xFFFFFFFF:
            break  # a sequence of undefined length: enough seen
        if length % 2 or length > 1 << 20:
            return None
        last, pos, count = tag, start + length, count + 1
    if count < 2 and pos < len(head):
        return None
    return EXPLICIT_LE if explicit else IMPLICIT_LE


def _read_raw(path: str, head: bytes, stop_before_pixels: bool) -> Any:
    """A preamble-less file that passed :func:`sniff_raw_dataset`, with a file meta group made up."""
    syntax = sniff_raw_dataset(head)
    if syntax is None:
        raise SeriesError(f"{os.path.basename(path)}: not a DICOM file (no preamble/DICM prefix)")
    ds = pydicom.dcmread(path, force=True, stop_before_pixels=stop_before_pixels)
    sop_class, sop_uid = str(ds.get("SOPClassUID", "")).strip(), str(ds.get("SOPInstanceUID", "")).strip()
    if not (_UID.match(sop_class) and _UID.match(sop_uid)):
        raise SeriesError(
            f"{os.path.basename(path)}: not a DICOM file (no preamble and no valid SOPClassUID/SOPInstanceUID)"
        )
    meta = ds.file_meta if isinstance(getattr(ds, "file_meta", None), FileMetaDataset) else FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = syntax
    meta.setdefault("MediaStorageSOPClassUID", sop_class)
    meta.setdefault("MediaStorageSOPInstanceUID", sop_uid)
    ds.file_meta = meta
    return ds


def read_dicom(path: str, stop_before_pixels: bool = False) -> Any:
    """A DICOM file read by pydicom, or SeriesError naming the file.

    Part 10 files are read normally; a file without the preamble only after :func:`sniff_raw_dataset`
    validated its first elements (``force`` is never applied to arbitrary bytes).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
        if len(head) >= 132 and head[128:132] == b"DICM":
            return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
        return _read_raw(path, head, stop_before_pixels)
    except SeriesError:
        raise
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise SeriesError(f"{os.path.basename(path)}: unreadable DICOM ({type(exc).__name__})") from exc


@dataclass
class Inventory:
    """What a folder or an upload holds: DICOM files (with headers) and ignored files with reasons."""

    dicom: list[tuple[str, Any]] = field(default_factory=list)  # (path, header without pixels)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    dicomdir: list[str] = field(default_factory=list)  # DICOMDIR files found (media directories)

    def series(self) -> dict[str, list[tuple[str, Any]]]:
        """Image files grouped by SeriesInstanceUID (in path order)."""
        out: dict[str, list[tuple[str, Any]]] = {}
        for path, ds in self.dicom:
            out.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append((path, ds))
        return out

    def report(self, names: dict[str, str] | None = None) -> list[dict]:
        """Ignored files as [{"file", "reason"}] (``names`` maps paths to the names the user gave)."""
        names = names or {}
        return [{"file": names.get(p, os.path.basename(p)), "reason": r} for p, r in self.ignored]


def inventory(paths: list[str]) -> Inventory:
    """Sort files into DICOM image files and ignored ones (non-DICOM, DICOMDIR, objects without a series)."""
    out = Inventory()
    for path in paths:
        try:
            ds = read_dicom(path, stop_before_pixels=True)
        except SeriesError as exc:
            reason = str(exc).split(": ", 1)[-1]
            if not reason.startswith("not a DICOM file"):
                raise  # a damaged DICOM file is refused, not ignored
            out.ignored.append((path, reason))
            continue
        sop_class = str(ds.get("SOPClassUID", "") or ds.file_meta.get("MediaStorageSOPClassUID", ""))
        if sop_class == MEDIA_DIRECTORY_SOP or "DirectoryRecordSequence" in ds:
            out.dicomdir.append(path)
            out.ignored.append((path, "DICOMDIR (media directory index), not an image"))
            continue
        missing = [k for k in ("SOPInstanceUID", "SeriesInstanceUID", "Modality") if not ds.get(k)]
        if missing:  # every composite object has them (Type 1): a damaged file, refused, not ignored
            raise SeriesError(
                f"{os.path.basename(path)}: incomplete DICOM header (no {', '.join(missing)}): "
                "truncated or not an image"
            )
        out.dicom.append((path, ds))
    return out


def pick_series(found: Inventory, modality: str, series_uid: str | None = None) -> list[str]:
    """Paths of the one series of ``modality`` (or ``series_uid``); SeriesError listing what is there."""
    groups = found.series()
    if series_uid:
        if series_uid not in groups:
            raise SeriesError(f"series {series_uid} is not among the files")
        return [p for p, _ds in groups[series_uid]]
    if not groups:
        listed = "; ".join(f"{os.path.basename(p)}: {r}" for p, r in found.ignored[:5])
        raise SeriesError(f"no DICOM image among the files ({listed})")
    wanted = {u: items for u, items in groups.items() if str(items[0][1].get("Modality", "")) == modality}
    if len(wanted) == 1:
        return [p for p, _ds in next(iter(wanted.values()))]
    if len(groups) == 1:
        return [p for p, _ds in next(iter(groups.values()))]  # the reader names the wrong modality
    raise MixedSeriesError([header_identity(ds) for items in groups.values() for _p, ds in items])


def header_identity(ds: Any) -> Identity:
    """(series uid, modality, description) of a header read by pydicom."""
    return (
        str(ds.get("SeriesInstanceUID", "")),
        text_value(ds, "Modality") or "",
        text_value(ds, "SeriesDescription") or "",
    )


def scan_series(paths: list[str]) -> list[dict]:
    """Headers only: the series found among files (uid, modality, description, count) for a chooser UI."""
    found: Counter = Counter()
    for path in paths:
        try:
            ds = read_dicom(path, stop_before_pixels=True)
        except SeriesError:
            continue
        key = (
            str(ds.get("SeriesInstanceUID", "")),
            text_value(ds, "Modality"),
            text_value(ds, "SeriesDescription"),
        )
        found[key] += 1
    return [
        {"series_instance_uid": uid, "modality": mod, "description": desc, "instances": count}
        for (uid, mod, desc), count in found.items()
    ]


def raise_if_mixed(paths: list[str], seen: list[Identity]) -> None:
    """Report a mixed folder (with what it holds) in preference to any per-file error.

    ``seen`` holds the identities of the files read so far (``paths[:len(seen)]``); the rest are read here.
    """
    for path in paths[len(seen) :]:
        try:
            ds = read_dicom(path, stop_before_pixels=True)
        except SeriesError:
            continue
        seen.append(header_identity(ds))
    if len({s[0] for s in seen}) > 1:
        raise MixedSeriesError(seen)
