"""A fast scan of plain explicit-VR-little-endian files, for the second and later files of a series.

Files after the first are usually explicit VR little endian and uncompressed. They are scanned here
without building pydicom elements: only value bytes are kept, then compared byte for byte with the
first file (which pydicom decoded and checked). Anything unusual (another transfer syntax, a parse
problem, a value that differs) makes :func:`fast_read` return None and the caller falls back to pydicom
for that file, so this path never accepts what the pydicom path would refuse.
"""

from __future__ import annotations

import struct
from typing import Any

from pydicom.tag import Tag

EXPLICIT_LE = "1.2.840.10008.1.2.1"
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV"}
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD


class _FastParseError(Exception):
    pass


class _FastElement:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class FastDataset:
    """Top-level value bytes of one explicit-VR-little-endian file (duck-types what the loop needs)."""

    def __init__(self, elements: dict[int, object]) -> None:
        self.elements = elements
        self.file_meta = {"TransferSyntaxUID": EXPLICIT_LE}

    def get_item(self, tag: Any) -> _FastElement | None:
        value = self.elements.get(int(tag))
        return None if value is None else _FastElement(value)

    def __contains__(self, tag: Any) -> bool:
        return int(tag) in self.elements

    def get(self, keyword: str, default: Any = None) -> Any:
        value = self.elements.get(int(Tag(keyword)))
        if value is None:
            return default
        return bytes(value).decode("latin-1").strip(" \x00") or default


def _element_header(buf: memoryview, pos: int) -> tuple[int, int, int, int]:
    """(tag, value length, value start, VR-less flag) of the explicit VR LE element at ``pos``."""
    group, elem = struct.unpack_from("<HH", buf, pos)
    tag = (group << 16) | elem
    if group == 0xFFFE:  # item / delimiters carry no VR
        (length,) = struct.unpack_from("<I", buf, pos + 4)
        return tag, length, pos + 8, 1
    vr = bytes(buf[pos + 4 : pos + 6])
    if vr in _LONG_VRS:
        (length,) = struct.unpack_from("<I", buf, pos + 8)
        return tag, length, pos + 12, 0
    (length,) = struct.unpack_from("<H", buf, pos + 6)
    return tag, length, pos + 8, 0


def _skip_undefined(buf: memoryview, pos: int, end_tag: int) -> int:
    """Position after the delimiter ``end_tag`` of an undefined-length sequence or item starting at ``pos``."""
    size = len(buf)
    while pos < size:
        tag, length, start, _ = _element_header(buf, pos)
        if tag == end_tag:
            return start
        if length == _UNDEFINED:
            pos = _skip_undefined(buf, start, _ITEM_END if tag == _ITEM else _SEQ_END)
        else:
            pos = start + length
    raise _FastParseError("missing delimiter")


def fast_read(path: str) -> FastDataset | None:
    """Scan a file; None when it is not plain explicit VR little endian (the caller uses pydicom)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if len(data) < 144 or data[128:132] != b"DICM":
            return None
        buf = memoryview(data)
        pos = 132
        ts = None
        while pos < len(data):
            tag, length, start, _ = _element_header(buf, pos)
            if tag >> 16 != 0x0002:
                break
            if tag == 0x00020010:
                ts = bytes(buf[start : start + length]).decode("ascii").strip(" \x00")
            pos = start + length
        if ts != EXPLICIT_LE:
            return None
        elements: dict[int, object] = {}
        size = len(data)
        while pos < size:
            tag, length, start, _ = _element_header(buf, pos)
            if length == _UNDEFINED:
                if tag == 0x7FE00010:
                    return None  # encapsulated pixel data
                end = _skip_undefined(buf, start, _SEQ_END)
                elements[tag] = bytes(buf[start : end - 8])
                pos = end
                continue
            end = start + length
            if end > size:
                raise _FastParseError("element runs past the end of the file")
            elements[tag] = buf[start:end] if tag == 0x7FE00010 else bytes(buf[start:end])
            pos = end
        return FastDataset(elements)
    except (OSError, struct.error, UnicodeDecodeError, _FastParseError):
        return None
