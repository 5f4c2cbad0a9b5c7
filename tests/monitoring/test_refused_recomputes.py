"""Worker recomputes refuse locked data: the MRI curve fit (lesions) and the PET series processing (imaging) run
eagerly on a locked casebook change nothing, and the refusal is recorded (audited) and shown on the data
manager's overview, scoped to sites; the recompute runs once the lock is released."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lesions import services as lesion_services
from lesions.models import MriParameterSet
from monitoring import overview
from monitoring.models import RefusedWrite
from tests.factories import ctx_for
from tests.lesions import mri_phantoms as ph
from tests.lesions.helpers import day, lesion
from trial.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_curve_fit_on_a_locked_casebook_writes_nothing_and_records_why(
    radiologist, participant, lock_casebook, data_manager, other_coordinator, client_for
):
    from lesions.tasks import fit_curve
    from monitoring import services as monitoring_services

    t1 = lesion(radiologist, participant, "T1", "liver")
    ps = lesion_services.curve_upload(  # the fit is queued on commit: not run inside this test transaction
        ctx=ctx_for(radiologist),
        lesion=t1,
        acquired_on=day(0),
        kind="dce",
        model="extended_tofts",
        upload=SimpleUploadedFile("curve.csv", ph.dce_curve_csv()),
    )
    before = MriParameterSet.objects.filter(pk=ps.pk).values().get()
    audit_before = AuditEntry.objects.filter(app_label="lesions", model="mriparameterset").count()
    lock = lock_casebook(participant, reason="Casebook cleaned for the interim analysis")

    assert fit_curve.delay(ps.pk).get() == "refused"  # eager, as in tests/conftest.py

    assert (
        MriParameterSet.objects.filter(pk=ps.pk).values().get() == before
    )  # status, values, version unchanged
    assert AuditEntry.objects.filter(app_label="lesions", model="mriparameterset").count() == audit_before
    [refused] = RefusedWrite.objects.all()
    assert (refused.what, refused.participant_id, refused.source) == ("curve fit", participant.pk, "worker")
    assert (refused.app_label, refused.model, refused.object_id) == ("lesions", "mriparameterset", str(ps.pk))
    assert "Casebook cleaned for the interim analysis" in refused.message
    entry = AuditEntry.objects.get(app_label="monitoring", model="refusedwrite", object_id=str(refused.pk))
    assert entry.participant_id == participant.pk and entry.reason == refused.message
    # visible where the data manager works, and not at another site
    assert [r.pk for r in overview.overview(data_manager)["refused_writes"]] == [refused.pk]
    assert overview.overview(other_coordinator)["refused_writes"] == []
    html = client_for(data_manager).get("/monitoring/overview/").content.decode()
    assert "Recomputes refused by a lock" in html and "interim analysis" in html

    monitoring_services.lock_release(ctx=ctx_for(data_manager), lock=lock, reason="Reopened for the fit")
    assert fit_curve.delay(ps.pk).get() == "done"
    ps.refresh_from_db()
    assert ps.status == "done" and ps.ktrans_per_min == pytest.approx(ph.TRUE["ktrans"], rel=0.01)


def test_a_mask_analysis_on_a_frozen_record_is_refused_and_recorded(radiologist, participant, data_manager):
    from lesions.models import MaskAnalysis
    from lesions.tasks import analyse_mask
    from monitoring import services as monitoring_services

    t1 = lesion(radiologist, participant, "T1", "liver")
    ma = MaskAnalysis.objects.create(  # test data only: the row the worker would complete
        participant=participant, lesion=t1, acquired_on=day(0), mask_file="masks/none.nii", status="pending"
    )
    monitoring_services.lock_apply(
        ctx=ctx_for(data_manager),
        scope="participant",
        kind="freeze",
        object_id=participant.pk,
        reason="Frozen for review",
    )
    assert analyse_mask.delay(ma.pk).get() == "refused"  # refused before the (missing) mask file is read
    ma.refresh_from_db()
    assert ma.status == "pending" and ma.voxel_count is None
    assert RefusedWrite.objects.get().what == "volumetry/texture"
