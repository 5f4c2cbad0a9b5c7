"""MRI parameter storage: entered values, curve fits, voxel-wise DCE maps, volumetry and texture (eager)."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from lesions import services
from lesions.models import MaskAnalysis, MriParameterSet
from quant.mri import io as mri_io
from tests.factories import ctx_for
from tests.lesions import mri_phantoms as ph
from tests.lesions.helpers import day, lesion

pytestmark = pytest.mark.django_db


@pytest.fixture
def t1(radiologist, participant):
    return lesion(radiologist, participant, "T1", "liver")


def test_entered_parameters_are_stored_and_validated(radiologist, t1, client_for):
    ps = services.parameters_enter(
        ctx=ctx_for(radiologist),
        lesion=t1,
        acquired_on=day(0),
        kind="dce",
        model="extended_tofts",
        values={"ktrans_per_min": 0.2, "ve": 0.4, "vp": 0.03},
    )
    assert ps.kep_per_min == pytest.approx(0.5)
    with pytest.raises(ValidationError) as exc:
        services.parameters_enter(
            ctx=ctx_for(radiologist), lesion=t1, acquired_on=day(0), kind="dce", values={"ve": 1.4}
        )
    assert "fraction between 0 and 1" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        services.parameters_enter(
            ctx=ctx_for(radiologist),
            lesion=t1,
            acquired_on=day(0),
            kind="ivim",
            values={"ktrans_per_min": 0.2},
        )
    assert "do not belong to a ivim set" in str(exc.value)
    c = client_for(radiologist)
    r = c.get(f"/lesions/participants/{t1.participant_id}/mri/")
    assert r.status_code == 200 and "Ktrans (/min)" in r.content.decode()
    r = c.get(f"/lesions/participants/{t1.participant_id}/plots/ktrans_per_min.png")
    assert r.content[:4] == b"\x89PNG"


def test_uploaded_dce_curve_is_fitted_by_the_engine(radiologist, t1):
    upload = SimpleUploadedFile("curve.csv", ph.dce_curve_csv())
    ps = services.curve_upload(
        ctx=ctx_for(radiologist),
        lesion=t1,
        acquired_on=day(0),
        kind="dce",
        model="extended_tofts",
        upload=upload,
    )
    ps.refresh_from_db()  # eager task ran on commit (django_db test: run on_commit callbacks below)
    if ps.status == "pending":
        from lesions.tasks import fit_curve

        fit_curve(ps.pk)
        ps.refresh_from_db()
    assert ps.status == "done", ps.error
    # noise-free synthetic curve: recovered to within 1 % (relative)
    assert ps.ktrans_per_min == pytest.approx(ph.TRUE["ktrans"], rel=0.01)
    assert ps.ve == pytest.approx(ph.TRUE["ve"], rel=0.01)
    assert ps.vp == pytest.approx(ph.TRUE["vp"], rel=0.01)
    assert ps.iauc60_mm_s is not None and ps.provenance["engine"] == "quant.mri.dce.fit_dce_curve"


def test_uploaded_ivim_curve_is_fitted(radiologist, t1, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("ivim.csv", ph.ivim_curve_csv())
    with django_capture_on_commit_callbacks(execute=True):
        ps = services.curve_upload(
            ctx=ctx_for(radiologist),
            lesion=t1,
            acquired_on=day(0),
            kind="ivim",
            model="ivim_full",
            upload=upload,
        )
    ps.refresh_from_db()
    assert ps.status == "done", ps.error
    assert ps.ivim_d_mm2_s == pytest.approx(ph.IVIM["d"], rel=0.02)
    assert ps.ivim_f == pytest.approx(ph.IVIM["f"], rel=0.05)


def test_bad_curve_is_refused_with_one_line(radiologist, t1):
    upload = SimpleUploadedFile("curve.csv", b"time,conc\n1,2\n")
    with pytest.raises(ValidationError) as exc:
        services.curve_upload(
            ctx=ctx_for(radiologist), lesion=t1, acquired_on=day(0), kind="dce", model="tofts", upload=upload
        )
    assert "missing t_s, ct_mM, cp_mM" in str(exc.value)
    assert not MriParameterSet.objects.exists()


def test_voxelwise_maps_are_stored_as_nifti_with_provenance(
    radiologist, t1, django_capture_on_commit_callbacks, client_for
):
    dyn, mask, aif, ktrans = ph.dynamic_phantom()
    with django_capture_on_commit_callbacks(execute=True):
        ps = services.voxelwise_upload(
            ctx=ctx_for(radiologist),
            lesion=t1,
            acquired_on=day(0),
            dynamic=SimpleUploadedFile("d.nii.gz", ph.gz(dyn)),
            mask=SimpleUploadedFile("m.nii", mask),
            aif=SimpleUploadedFile("aif.csv", aif),
        )
    ps.refresh_from_db()
    assert ps.status == "done", ps.error
    images = {img.parameter: img for img in ps.derived_images.all()}
    assert set(images) == {"Ktrans_per_min", "ve", "vp", "kep_per_min", "residual_rms_mM"}
    with default_storage.open(images["Ktrans_per_min"].file, "rb") as fh:
        arr, zooms, _ = mri_io.load_nifti(fh.read())
    m = mri_io.load_nifti(mask)[0] > 0
    np.testing.assert_allclose(arr[m], ktrans[m], rtol=1e-3)
    assert np.isnan(arr[~m]).all()
    assert zooms[:3] == (2.0, 2.0, 5.0)
    stats = images["Ktrans_per_min"].stats
    assert stats["n_voxels"] == 32 and stats["median"] == pytest.approx(0.2, rel=1e-2)
    assert ps.ktrans_per_min == pytest.approx(stats["median"])
    assert images["ve"].provenance["engine"] == "quant.mri.dce.fit_extended_tofts_voxelwise"
    assert images["ve"].provenance["aif"] == "measured (uploaded CSV)"
    r = client_for(radiologist).get(f"/lesions/derived/{images['ve'].pk}/preview/")
    assert b"".join(r.streaming_content)[:4] == b"\x89PNG"
    r = client_for(radiologist).get(f"/lesions/mri/{ps.pk}/")
    assert "Voxel-wise maps" in r.content.decode()


def test_voxelwise_refuses_a_mismatched_mask(radiologist, t1):
    dyn, _, aif, _ = ph.dynamic_phantom()
    wrong, _ = ph.sphere_mask(3.0, (1.0, 1.0, 1.0), n=8)
    with pytest.raises(ValidationError) as exc:
        services.voxelwise_upload(
            ctx=ctx_for(radiologist),
            lesion=t1,
            acquired_on=day(0),
            dynamic=SimpleUploadedFile("d.nii", dyn),
            mask=SimpleUploadedFile("m.nii", wrong),
            aif=SimpleUploadedFile("aif.csv", aif),
        )
    assert "does not match the dynamic series" in str(exc.value)


def test_mask_volume_voxel_and_mesh_and_texture(
    radiologist, t1, django_capture_on_commit_callbacks, client_for
):
    spacing = (0.8, 0.8, 1.5)
    mask, analytic = ph.sphere_mask(12.0, spacing)
    rng = np.random.default_rng(1)
    image = (
        __import__("nibabel")
        .Nifti1Image(rng.normal(100, 10, (40, 40, 40)).astype(np.float32), np.diag([*spacing, 1.0]))
        .to_bytes()
    )
    with django_capture_on_commit_callbacks(execute=True):
        ma = services.mask_analysis_upload(
            ctx=ctx_for(radiologist),
            lesion=t1,
            acquired_on=day(0),
            mask=SimpleUploadedFile("m.nii", mask),
            image=SimpleUploadedFile("i.nii", image),
            bin_width=5.0,
        )
    ma.refresh_from_db()
    assert ma.status == "done", ma.error
    # discretised sphere: voxel count and mesh both within 3 % of 4/3 pi r^3
    assert ma.voxel_volume_mm3 == pytest.approx(analytic, rel=0.03)
    assert ma.mesh_volume_mm3 == pytest.approx(analytic, rel=0.03)
    assert ma.spacing_mm == [1.5, 0.8, 0.8]
    feats = ma.texture_features
    assert feats["stat_mean"] == pytest.approx(100.0, abs=1.5) and len(feats) > 100
    assert ma.provenance["texture"]["discretisation"].startswith("fixed bin size: w=5")
    # follow-up with a smaller sphere: % change from baseline on the lesion page
    small, analytic_small = ph.sphere_mask(9.0, spacing)
    with django_capture_on_commit_callbacks(execute=True):
        services.mask_analysis_upload(
            ctx=ctx_for(radiologist), lesion=t1, acquired_on=day(56), mask=SimpleUploadedFile("m2.nii", small)
        )
    from lesions.selectors import lesion_timeline

    vols = lesion_timeline(t1)["volumes"]
    expected = 100.0 * (analytic_small - analytic) / analytic
    assert vols[1]["change"]["voxel"] == pytest.approx(expected, abs=3.0)
    assert vols[1]["change"]["mesh"] == pytest.approx(expected, abs=3.0)
    assert MaskAnalysis.objects.count() == 2
    assert client_for(radiologist).get(f"/lesions/lesion/{t1.pk}/").status_code == 200
