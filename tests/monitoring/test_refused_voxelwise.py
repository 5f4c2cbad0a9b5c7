"""A casebook lock that arrives while the voxel-wise DCE fit runs (after its up-front check) refuses the maps:
the map files the run had already saved are removed again, no DerivedImage is stored, the parameter set is
unchanged, and the refusal is recorded (monitoring.RefusedWrite, audited). Once released, the fit stores its
maps, and every saved file belongs to a stored map.

The lock is real: the fit engine (quant.mri.dce, our own code) is wrapped so that a data manager's lock is
applied through the monitoring service right after the fit, before the maps are written.
"""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from lesions import services as lesion_services
from lesions import tasks as lesion_tasks
from lesions.models import DerivedImage, MriParameterSet
from monitoring import services as monitoring_services
from monitoring.models import RefusedWrite
from tests.factories import ctx_for
from tests.lesions import mri_phantoms as ph
from tests.lesions.helpers import day, lesion
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _derived_files() -> set[str]:
    if not default_storage.exists("lesions/derived"):
        return set()
    return {f"lesions/derived/{name}" for name in default_storage.listdir("lesions/derived")[1]}


def test_a_lock_arriving_during_the_voxelwise_fit_leaves_no_map_files_and_is_recorded(
    radiologist, participant, data_manager, monkeypatch
):
    import quant.mri.dce as dce

    t1 = lesion(radiologist, participant, "T1", "liver")
    dyn, mask, _aif, _ktrans = ph.dynamic_phantom()
    ps = (
        lesion_services.voxelwise_upload(  # the fit is queued on commit: not run inside this test transaction
            ctx=ctx_for(radiologist),
            lesion=t1,
            acquired_on=day(0),
            dynamic=SimpleUploadedFile("d.nii", dyn),
            mask=SimpleUploadedFile("m.nii", mask),
            population_delay_s=ph.DELAY_S,
        )
    )
    before = MriParameterSet.objects.filter(pk=ps.pk).values().get()
    locks: list = []
    fit = dce.fit_extended_tofts_voxelwise

    def fit_then_lock(*args, **kwargs):
        maps = fit(*args, **kwargs)
        locks.append(
            monitoring_services.lock_apply(
                ctx=ctx_for(data_manager),
                scope="participant",
                object_id=participant.pk,
                reason="Locked mid-fit",
            )
        )
        return maps

    saved: list[str] = []  # every map file the run saves (spy on our own storage helper)

    def spy_store_bytes(folder: str, name: str, data: bytes) -> str:
        saved.append(lesion_services.store_bytes(folder, name, data))
        return saved[-1]

    monkeypatch.setattr(dce, "fit_extended_tofts_voxelwise", fit_then_lock)
    monkeypatch.setattr(lesion_tasks, "store_bytes", spy_store_bytes)

    assert lesion_tasks.fit_voxelwise.delay(ps.pk).get() == "refused"  # eager, as in tests/conftest.py

    assert len(locks) == 1 and len(saved) >= 1  # the lock came mid-run, after a map file was saved
    assert not any(default_storage.exists(path) for path in saved)
    assert _derived_files() == set()
    assert not DerivedImage.objects.filter(parameter_set=ps).exists()
    assert MriParameterSet.objects.filter(pk=ps.pk).values().get() == before
    assert not AuditEntry.objects.filter(app_label="lesions", model="derivedimage").exists()
    refused = RefusedWrite.objects.get()
    assert (refused.what, refused.participant_id, refused.source) == (
        "voxel-wise fit",
        participant.pk,
        "worker",
    )
    assert (refused.app_label, refused.model, refused.object_id) == ("lesions", "mriparameterset", str(ps.pk))
    assert "Locked mid-fit" in refused.message
    assert AuditEntry.objects.filter(
        app_label="monitoring", model="refusedwrite", object_id=str(refused.pk)
    ).exists()

    monitoring_services.lock_release(ctx=ctx_for(data_manager), lock=locks[0], reason="Reopened for the fit")
    monkeypatch.setattr(dce, "fit_extended_tofts_voxelwise", fit)
    saved.clear()
    assert lesion_tasks.fit_voxelwise.delay(ps.pk).get() == "done"
    images = DerivedImage.objects.filter(parameter_set=ps)
    assert images.count() == 5
    stored = {path for image in images for path in (image.file, image.preview)}
    assert stored == set(saved) == _derived_files()  # every saved file belongs to a stored map
