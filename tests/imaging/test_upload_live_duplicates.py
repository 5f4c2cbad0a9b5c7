"""At most one live upload per scan and series: a database constraint, tested with real concurrent uploads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from imaging import services
from imaging.models import Finding, SeriesUpload, StoredInstance, UploadState
from imaging.services import ingest as ingest_module
from tests import factories
from trial.models import AuditEntry


def _ingest(user, scan, directory: Path, work: Path) -> SeriesUpload:
    work.mkdir()
    files = [(p, p.name) for p in sorted(directory.iterdir())]
    return services.series_upload_ingest(ctx=factories.ctx_for(user), scan=scan, files=files, work_dir=work)


def _race(trial, directory: Path, tmp_path: Path) -> list:
    """Two uploads of one series at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def upload(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = _ingest(trial.radiologist, trial.scan, directory, tmp_path / f"work{index}")
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _assert_one_live_and_one_clean_refusal(outcomes: list, media: Path) -> None:
    winners = [o for o in outcomes if isinstance(o, SeriesUpload)]
    losers = [o for o in outcomes if not isinstance(o, SeriesUpload)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    winner, refusal = winners[0], losers[0]
    assert isinstance(refusal, ValidationError), repr(refusal)
    assert f"upload #{winner.pk}" in " ".join(refusal.messages), refusal.messages
    assert SeriesUpload.objects.count() == 1  # no half-stored second row
    assert StoredInstance.objects.count() == winner.instance_count == 12
    assert Finding.objects.exclude(upload=winner).count() == 0
    assert AuditEntry.objects.filter(model="seriesupload", action="create").count() == 1
    stored = [p for p in (media / "pet").rglob("*.dcm") if p.is_file()]
    assert len(stored) == 12 and all(winner.storage_dir in str(p) for p in stored)  # no leftover files


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uploads_of_one_series_leave_exactly_one_live_upload(
    pet_web_trial, pet_web_series, tmp_path, settings
):
    _info, directory = pet_web_series()
    outcomes = _race(pet_web_trial, directory, tmp_path)
    _assert_one_live_and_one_clean_refusal(outcomes, Path(settings.MEDIA_ROOT))


@pytest.mark.django_db(transaction=True)
def test_the_database_constraint_alone_refuses_the_second_live_upload(
    pet_web_trial, pet_web_series, tmp_path, settings, monkeypatch
):
    """With the application's pre-checks switched off, only the constraint stands between the two."""
    monkeypatch.setattr(ingest_module, "_duplicate_check", lambda scan, hashes: None)
    monkeypatch.setattr(ingest_module.blocks, "refuse_if_live", lambda scan, fingerprint: None)
    _info, directory = pet_web_series()
    outcomes = _race(pet_web_trial, directory, tmp_path)
    _assert_one_live_and_one_clean_refusal(outcomes, Path(settings.MEDIA_ROOT))


@pytest.mark.django_db
def test_a_second_live_row_for_the_same_scan_and_series_violates_the_constraint(
    pet_web_trial, pet_web_series, tmp_path
):
    _info, directory = pet_web_series()
    first = _ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path / "w")
    assert first.series_fingerprint and len(first.series_fingerprint) == 64
    copy = SeriesUpload.objects.get(pk=first.pk)
    copy.pk = None
    copy.state = UploadState.BLOCKED  # not live: allowed
    copy.save()
    with pytest.raises(IntegrityError, match="unique_live_series_upload"), transaction.atomic():
        SeriesUpload.objects.filter(pk=copy.pk).update(state=UploadState.STORED)
    SeriesUpload.objects.filter(pk=first.pk).update(state=UploadState.FAILED)  # failed: no longer live
    SeriesUpload.objects.filter(pk=copy.pk).update(state=UploadState.STORED)


@pytest.mark.django_db
def test_a_live_series_is_refused_naming_the_first_upload_even_as_new_files(
    pet_web_trial, pet_web_series, tmp_path
):
    """Same series, re-exported (different bytes): the source-file check misses it, the series rule does not."""
    import pydicom

    info, directory = pet_web_series()
    first = _ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path / "w1")
    for path in info.files:
        ds = pydicom.dcmread(path)
        ds.InstitutionName = "Re-exported from PACS"
        ds.save_as(path)
    with pytest.raises(ValidationError) as exc:
        _ingest(pet_web_trial.radiologist, pet_web_trial.scan, directory, tmp_path / "w2")
    assert f"live upload for this scan (upload #{first.pk}" in str(exc.value)
    assert SeriesUpload.objects.count() == 1
