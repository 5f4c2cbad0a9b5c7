"""Every hostile or invalid upload is refused with a clear message and leaves nothing behind.

Each case posts through the real upload view (streaming handler, zip checks, validation) and then checks:
HTTP 400 with the expected words, no upload/instance/finding/VOI rows, no stored file under MEDIA_ROOT,
an empty UPLOAD_TMP_DIR and the scan still scheduled.
"""

from __future__ import annotations

import io
import os
import random
import stat
import zipfile
from pathlib import Path

import pydicom
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pydicom.uid import JPEG2000Lossless

from imaging.models import Finding, ScanStatus, SeriesUpload, StoredInstance, Voi

pytestmark = pytest.mark.django_db


def _files(directory: Path) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(directory.iterdir())]


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return SimpleUploadedFile("series.zip", buffer.getvalue(), content_type="application/zip")


def _post(client, trial, files, **extra):
    client.force_login(trial.radiologist)
    url = reverse("imaging:scan_upload", kwargs={"scan_pk": trial.scan.pk})
    return client.post(url, {"files": files, **extra}, HTTP_ACCEPT="application/json")


def _assert_nothing_kept(trial, settings):
    assert SeriesUpload.objects.count() == 0
    assert StoredInstance.objects.count() == 0
    assert Finding.objects.count() == 0
    assert Voi.objects.count() == 0
    stored = [f for _root, _dirs, files in os.walk(settings.MEDIA_ROOT) for f in files]
    assert stored == []
    assert list(Path(settings.UPLOAD_TMP_DIR).iterdir()) == []
    trial.scan.refresh_from_db()
    assert trial.scan.status == ScanStatus.SCHEDULED


def _refused(client, trial, settings, files, *words, **extra):
    response = _post(client, trial, files, **extra)
    assert response.status_code == 400, response.content[:300]
    message = " ".join(m for messages in response.json()["errors"].values() for m in messages)
    for word in words:
        assert word.lower() in message.lower(), message
    _assert_nothing_kept(trial, settings)
    return message


def _modified(directory: Path, change, only: int | None = None) -> list[SimpleUploadedFile]:
    out = []
    for k, path in enumerate(sorted(directory.iterdir())):
        ds = pydicom.dcmread(str(path))
        if only is None or k == only:
            change(ds)
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        out.append(SimpleUploadedFile(path.name, buffer.getvalue()))
    return out


@pytest.fixture
def series(pet_web_series):
    _info, directory = pet_web_series()
    return directory


def test_a_file_that_is_not_dicom_is_ignored_and_listed_but_alone_is_refused(
    client, pet_web_trial, settings, series
):
    notes = SimpleUploadedFile("notes.txt", b"patient notes, not an image" * 20)
    _refused(client, pet_web_trial, settings, [notes], "notes.txt", "not a dicom file")
    files = _files(series) + [SimpleUploadedFile("notes.txt", b"patient notes, not an image" * 20)]
    response = _post(client, pet_web_trial, files)
    assert response.status_code == 201, response.content[:300]
    upload = SeriesUpload.objects.get(scan=pet_web_trial.scan)
    assert upload.intake_report["ignored_files"] == [
        {"file": "notes.txt", "reason": "not a DICOM file (no preamble/DICM prefix)"}
    ]


def test_a_truncated_file(client, pet_web_trial, settings, series):
    files = _files(series)
    files[3] = SimpleUploadedFile(files[3].name, (series / files[3].name).read_bytes()[:2000])
    _refused(client, pet_web_trial, settings, files, files[3].name)


def test_a_file_cut_inside_its_header(client, pet_web_trial, settings, series):
    files = _files(series)
    files[3] = SimpleUploadedFile(files[3].name, (series / files[3].name).read_bytes()[:700])
    _refused(client, pet_web_trial, settings, files, files[3].name)


def test_pixel_data_shorter_than_declared(client, pet_web_trial, settings, series):
    def cut(ds):
        ds.PixelData = ds.PixelData[:-200]

    _refused(client, pet_web_trial, settings, _modified(series, cut, only=5), "truncated pixel data")


@pytest.mark.parametrize(
    "name, words",
    [
        ("../../etc/evil.dcm", ["'..'"]),
        ("/tmp/absolute.dcm", ["absolute path"]),
        ("C:/windows/evil.dcm", ["absolute path"]),
    ],
)
def test_zip_entries_with_traversal_or_absolute_paths(client, pet_web_trial, settings, series, name, words):
    entries = [(p.name, p.read_bytes()) for p in sorted(series.iterdir())] + [(name, b"x" * 200)]
    _refused(client, pet_web_trial, settings, [_zip(entries)], *words)


def test_a_symlink_inside_the_zip(client, pet_web_trial, settings, series):
    link = zipfile.ZipInfo("link.dcm")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    entries = [(p.name, p.read_bytes()) for p in sorted(series.iterdir())] + [(link, b"/etc/passwd")]
    _refused(client, pet_web_trial, settings, [_zip(entries)], "symbolic link")


def test_a_nested_archive(client, pet_web_trial, settings, series):
    inner = _zip([(p.name, p.read_bytes()) for p in sorted(series.iterdir())]).read()
    _refused(client, pet_web_trial, settings, [_zip([("inner.bin", inner)])], "nested archive")


def test_a_zip_bomb_is_stopped_by_the_ratio_cap(client, pet_web_trial, settings):
    bomb = _zip([("bomb.dcm", b"\0" * (30 * 1024 * 1024))])
    assert bomb.size < 100_000
    _refused(client, pet_web_trial, settings, [bomb], "zip bomb")


def test_a_zip_over_the_absolute_byte_cap(client, pet_web_trial, settings, series):
    settings.UPLOAD_MAX_BYTES = 200_000
    rng = random.Random(4)
    entries = [(p.name, bytes(rng.choice(b"ACGT") for _ in range(40_000))) for p in sorted(series.iterdir())]
    _refused(client, pet_web_trial, settings, [_zip(entries)], "would unpack to")


def test_a_zip_over_the_entry_cap(client, pet_web_trial, settings):
    settings.UPLOAD_MAX_FILES = 50
    _refused(client, pet_web_trial, settings, [_zip([(f"f{i}.dcm", b"x") for i in range(51)])], "51 entries")


def test_a_plain_upload_over_the_byte_cap_is_stopped_while_streaming(client, pet_web_trial, settings, series):
    settings.UPLOAD_MAX_BYTES = 50_000
    _refused(client, pet_web_trial, settings, _files(series), "larger than the limit")


def test_a_tar_gz_archive(client, pet_web_trial, settings):
    import gzip

    _refused(
        client, pet_web_trial, settings, [SimpleUploadedFile("s.tgz", gzip.compress(b"x" * 1000))], "gzip"
    )


def test_absurd_dimensions(client, pet_web_trial, settings, series):
    def huge(ds):
        ds.Rows = 60000

    _refused(client, pet_web_trial, settings, _modified(series, huge), "absurd image size")


def test_a_compressed_transfer_syntax_without_a_decoder_is_refused_clearly(
    client, pet_web_trial, settings, series
):
    def jpeg2000(ds):
        ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
        ds.PixelData = pydicom.encaps.encapsulate([b"\xff\x4f\xff\x51" + b"\0" * 64])

    _refused(client, pet_web_trial, settings, _modified(series, jpeg2000), "compressed")


def test_the_wrong_modality(client, pet_web_trial, settings, series):
    def ct(ds):
        ds.Modality = "CT"

    _refused(client, pet_web_trial, settings, _modified(series, ct), "modality is CT")


def test_unsupported_units(client, pet_web_trial, settings, series):
    def units(ds):
        ds.Units = "PROPCNTS"

    _refused(client, pet_web_trial, settings, _modified(series, units), "unsupported units")


def test_no_attenuation_correction(client, pet_web_trial, settings, series):
    def no_attn(ds):
        ds.CorrectedImage = ["DECY", "NORM"]

    _refused(client, pet_web_trial, settings, _modified(series, no_attn), "ATTN")


def test_a_series_level_attribute_that_differs(client, pet_web_trial, settings, series):
    def weight(ds):
        ds.PatientWeight = 80

    _refused(client, pet_web_trial, settings, _modified(series, weight, only=4), "PatientWeight differs")


def test_a_missing_slice(client, pet_web_trial, settings, series):
    files = _files(series)
    del files[6]
    _refused(client, pet_web_trial, settings, files, "gap between slices")


def test_a_duplicated_slice(client, pet_web_trial, settings, series):
    def same_position(ds):
        ds.ImagePositionPatient = [-78, -78, -300 + 4 * 4]

    _refused(client, pet_web_trial, settings, _modified(series, same_position, only=5), "duplicate slice")


def test_inconsistent_orientation(client, pet_web_trial, settings, series):
    def tilt(ds):
        ds.ImageOrientationPatient = [1, 0, 0, 0, 0.9, 0.43589]

    _refused(client, pet_web_trial, settings, _modified(series, tilt, only=2), "ImageOrientationPatient")


def test_two_series_need_a_choice_and_the_choice_is_named(client, pet_web_trial, settings, pet_web_series):
    info_a, dir_a = pet_web_series("a")
    _info_b, dir_b = pet_web_series("b", series_description="PET second series")
    message = _refused(
        client, pet_web_trial, settings, _files(dir_a) + _files(dir_b), "2 series", "choose one"
    )
    assert info_a.uids["series"] in message
    response = _post(
        client, pet_web_trial, _files(dir_a) + _files(dir_b), series_instance_uid=info_a.uids["series"]
    )
    assert response.status_code == 201, response.content[:300]
    assert SeriesUpload.objects.get().instance_count == 12
