"""Receiving series files safely: streamed to a private temp dir, zip archives unpacked under hard caps.

Nothing here touches the database. Every refusal is an `UploadRefused` with a one-line message; the
caller removes the temp dir in all cases (`temp_upload_dir()` does it as a context manager).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

ARCHIVE_MAGIC = {
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ": "xz",
    b"7z\xbc\xaf": "7z",
    b"Rar!": "rar",
}
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".rar")
MAX_ZIP_RATIO = 200  # uncompressed / compressed per entry; DICOM rarely exceeds ~10
CHUNK = 1024 * 1024


class UploadRefused(ValueError):
    """Input refused before anything was kept (one-line message)."""


@dataclass
class Limits:
    max_bytes: int
    max_files: int
    max_ratio: int = MAX_ZIP_RATIO

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(max_bytes=int(settings.UPLOAD_MAX_BYTES), max_files=int(settings.UPLOAD_MAX_FILES))


@dataclass
class Received:
    """Files received into `directory`, named by position (client names kept for messages only)."""

    directory: Path
    paths: list[Path] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    total_bytes: int = 0


@contextmanager
def temp_upload_dir() -> Iterator[Path]:
    """A private directory under settings.UPLOAD_TMP_DIR, always removed afterwards."""
    root = Path(settings.UPLOAD_TMP_DIR)
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="up-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class StreamToDirHandler(FileUploadHandler):
    """Django upload handler writing every file straight to `received.directory`, enforcing the caps.

    Install before request.POST/FILES is touched: `request.upload_handlers = [StreamToDirHandler(...)]`.
    On a cap breach the upload stops and `error` holds the message.
    """

    chunk_size = 256 * 1024

    def __init__(self, request, received: Received, limits: Limits):
        super().__init__(request)
        self.received = received
        self.limits = limits
        self.error: str | None = None
        self._handle = None

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        if len(self.received.paths) >= self.limits.max_files:
            self._stop(f"too many files: more than {self.limits.max_files}")
        index = len(self.received.paths)
        path = self.received.directory / f"in-{index:06d}"
        self.received.paths.append(path)
        self.received.names.append(os.path.basename(str(file_name or f"file {index + 1}")))
        self._handle = open(path, "wb")  # noqa: SIM115 - closed in file_complete/upload_complete

    def receive_data_chunk(self, raw_data, start):
        self.received.total_bytes += len(raw_data)
        if self.received.total_bytes > self.limits.max_bytes:
            self._stop(f"upload larger than the limit of {self.limits.max_bytes:,} bytes")
        self._handle.write(raw_data)
        return None

    def file_complete(self, file_size):
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        return _Marker(self.received.paths[-1], self.received.names[-1], file_size)

    def upload_complete(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _stop(self, message: str) -> None:
        self.error = message
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        raise StopUpload(connection_reset=False)


class _Marker(UploadedFile):
    """What request.FILES holds for a streamed file: its path on disk, never its bytes."""

    def __init__(self, path: Path, name: str, size: int):
        super().__init__(file=None, name=name, size=size)
        self.path = path

    def close(self):
        return None


def copy_uploaded(files: list, received: Received, limits: Limits) -> None:
    """Copy already-parsed UploadedFile objects (e.g. from the test client) chunk by chunk, with the caps."""
    for f in files:
        if isinstance(f, _Marker):
            continue
        if len(received.paths) >= limits.max_files:
            raise UploadRefused(f"too many files: more than {limits.max_files}")
        path = received.directory / f"in-{len(received.paths):06d}"
        with open(path, "wb") as out:
            for chunk in f.chunks():
                received.total_bytes += len(chunk)
                if received.total_bytes > limits.max_bytes:
                    raise UploadRefused(f"upload larger than the limit of {limits.max_bytes:,} bytes")
                out.write(chunk)
        received.paths.append(path)
        received.names.append(os.path.basename(f.name or "file"))


def _magic(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(8)
    for magic, kind in ARCHIVE_MAGIC.items():
        if head.startswith(magic):
            return kind
    with open(path, "rb") as handle:
        handle.seek(257)
        if handle.read(5) == b"ustar":
            return "tar"
    return None


def expand(received: Received, work_dir: Path, limits: Limits) -> list[tuple[Path, str]]:
    """The DICOM candidates: a single zip is unpacked (with caps); other archives are refused."""
    if not received.paths:
        raise UploadRefused("no files were uploaded")
    kinds = [(_magic(p), p, n) for p, n in zip(received.paths, received.names)]
    archives = [(k, p, n) for k, p, n in kinds if k]
    if not archives:
        return [(p, n) for p, n in zip(received.paths, received.names)]
    if len(received.paths) > 1:
        kind, _p, name = archives[0]
        raise UploadRefused(
            f"{name}: a {kind} archive mixed with other files; upload one zip or the DICOM files"
        )
    kind, path, name = archives[0]
    if kind != "zip":
        raise UploadRefused(f"{name}: {kind} archives are not accepted; upload a zip or the DICOM files")
    return extract_zip(path, work_dir, limits, name)


def _unsafe_name(name: str) -> str | None:
    if "\x00" in name:
        return "contains a NUL byte"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "is an absolute path"
    if ".." in PurePosixPath(normalised).parts:
        return "contains '..'"
    return None


def extract_zip(path: Path, work_dir: Path, limits: Limits, label: str = "archive") -> list[tuple[Path, str]]:
    """Unpack a zip entry by entry, counting real bytes; refuse traversal, links, nesting and bombs."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRefused(f"{label}: not a readable zip archive") from exc
    out: list[tuple[Path, str]] = []
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_files:
            raise UploadRefused(f"{label}: {len(infos)} entries, more than the limit of {limits.max_files}")
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_bytes:
            raise UploadRefused(
                f"{label}: would unpack to {declared:,} bytes, more than {limits.max_bytes:,}"
            )
        for info in infos:
            reason = _unsafe_name(info.filename)
            if reason:
                raise UploadRefused(f"{label}: entry {info.filename!r} {reason}")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UploadRefused(f"{label}: entry {info.filename!r} is a symbolic link")
            if info.is_dir():
                continue
            if info.filename.lower().endswith(ARCHIVE_SUFFIXES):
                raise UploadRefused(f"{label}: entry {info.filename!r} is a nested archive")
            if info.flag_bits & 0x1:
                raise UploadRefused(f"{label}: entry {info.filename!r} is encrypted")
            target = work_dir / f"zip-{len(out):06d}"
            total = _copy_entry(archive, info, target, total, limits, label)
            if _magic(target):
                raise UploadRefused(f"{label}: entry {info.filename!r} is a nested archive")
            out.append((target, PurePosixPath(info.filename).name))
    if not out:
        raise UploadRefused(f"{label}: the archive holds no files")
    return out


def _copy_entry(archive, info, target: Path, total: int, limits: Limits, label: str) -> int:
    written = 0
    ratio_cap = max(info.compress_size, 1) * limits.max_ratio + 64 * 1024
    try:
        with archive.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                total += len(chunk)
                if total > limits.max_bytes:
                    raise UploadRefused(f"{label}: unpacks to more than {limits.max_bytes:,} bytes")
                if written > ratio_cap:
                    raise UploadRefused(
                        f"{label}: entry {info.filename!r} expands more than {limits.max_ratio}x (zip bomb?)"
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise UploadRefused(f"{label}: entry {info.filename!r} is damaged or truncated") from exc
    if written != info.file_size:
        raise UploadRefused(f"{label}: entry {info.filename!r} size does not match its header")
    return total


@dataclass
class StreamedUpload:
    """A request's files streaming into a private temp dir (`streamed_upload`), with the limits that apply."""

    tmp: Path
    received: Received
    handler: StreamToDirHandler
    limits: Limits

    def candidates(self, request) -> list[tuple[Path, str]]:
        """The DICOM candidates: the streamed (or test-client) files, a zip unpacked; UploadRefused over a limit."""
        files = request.FILES.getlist("files")  # parses the body: the handler may stop it over a limit
        if self.handler.error:
            raise UploadRefused(self.handler.error)
        copy_uploaded(files, self.received, self.limits)
        return expand(self.received, self.tmp, self.limits)


@contextmanager
def streamed_upload(request) -> Iterator[StreamedUpload]:
    """Install the streaming handler before the body is read (the caller must not have read it; a view using it
    is csrf_exempt and checks CSRF afterwards); the temp dir is removed afterwards."""
    limits = Limits.from_settings()
    with temp_upload_dir() as tmp:
        received = Received(tmp / "in")
        received.directory.mkdir()
        handler = StreamToDirHandler(request, received, limits)
        request.upload_handlers = [handler]
        yield StreamedUpload(tmp, received, handler, limits)
