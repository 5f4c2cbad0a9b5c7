"""Voxel-wise DCE maps computed by a real Celery worker process (through Redis), stored as NIfTI."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from lesions import services
from lesions.models import MriParameterSet
from quant.mri import io as mri_io
from tests.factories import ctx_for
from tests.lesions import mri_phantoms as ph
from tests.lesions.helpers import day, lesion
from tests.worker import wait_for
from trial.models import AuditEntry

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_voxelwise_fit_runs_in_the_worker(radiologist, participant, celery_worker_process):
    t1 = lesion(radiologist, participant, "T1", "liver")
    dyn, mask, _aif, ktrans = ph.dynamic_phantom()
    ps = services.voxelwise_upload(
        ctx=ctx_for(radiologist),
        lesion=t1,
        acquired_on=day(0),
        dynamic=SimpleUploadedFile("d.nii", dyn),
        mask=SimpleUploadedFile("m.nii", mask),
        population_delay_s=ph.DELAY_S,
    )
    done = wait_for(
        lambda: MriParameterSet.objects.filter(pk=ps.pk).exclude(status="pending").first(), timeout=90
    )
    assert done.status == "done", done.error
    assert done.provenance["aif"] == "Parker 2006 population AIF"
    img = done.derived_images.get(parameter="Ktrans_per_min")
    with default_storage.open(img.file, "rb") as fh:
        arr = mri_io.load_nifti(fh.read())[0]
    m = mri_io.load_nifti(mask)[0] > 0
    # the phantom was generated with the same Parker AIF and delay: exact recovery expected (0.1 %)
    np.testing.assert_allclose(arr[m], ktrans[m], rtol=1e-3)
    entry = AuditEntry.objects.filter(model="mriparameterset", object_id=str(ps.pk), action="update").last()
    assert entry.source == "worker" and entry.reason == "voxel-wise fit computed by worker"
