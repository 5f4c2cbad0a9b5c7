"""A radiologist records a follow-up measurement in the browser and sees the computed response change."""

from __future__ import annotations

import pytest

from lesions.models import Assessment
from tests.lesions.helpers import assess, day, lesion

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_radiologist_records_a_follow_up_and_sees_pd_and_iupd(
    page, login, screenshot, radiologist, participant
):
    t1 = lesion(radiologist, participant, "T1", "liver")
    t2 = lesion(radiologist, participant, "T2", "lung")
    nt = lesion(radiologist, participant, "NT1", "bone", role="non_target")
    assess(radiologist, participant, day(0), {t1: 42, t2: 28, nt: "present"})
    assess(radiologist, participant, day(56), {t1: 30, t2: 18, nt: "present"})  # 48 mm: PR

    login(radiologist)
    page.click("text=Lesions & response")
    page.click(f"text={participant.study_id}")
    page.wait_for_selector("#registry")
    assert "PR" in page.inner_text("#registry")
    page.click("text=New assessment")
    page.fill("#id_date", day(112).isoformat())
    page.click("button:has-text('Save')")
    page.wait_for_selector("#measure-form")
    assert page.inner_text("#live-recist") == "NE"  # nothing entered yet: targets not assessed

    page.fill(f"#value_{t1.pk}", "31")
    page.fill(f"#value_{t2.pk}", "18")
    page.select_option(f"#nt_{nt.pk}", "present")
    page.wait_for_function("document.querySelector('#live-recist').textContent.trim() === 'PR'")
    page.fill(f"#value_{t1.pk}", "40")  # sum 58 vs nadir 48: +10 mm, +21 %
    page.wait_for_function("document.querySelector('#live-recist').textContent.trim() === 'PD'")
    assert page.inner_text("#live-irecist") == "iUPD"
    assert page.locator("#live-response li[title='rule target_pd']").count() == 1  # named, not shown
    screenshot("recist-followup-live")

    page.click("#save-measurements")
    page.wait_for_selector("text=measurement(s) saved")
    assert page.inner_text("#stored-recist") == "PD"
    assert page.inner_text("#stored-irecist") == "iUPD"
    a = Assessment.objects.get(participant=participant, date=day(112))
    assert (a.sum_mm, a.recist_response, a.irecist_response) == (58.0, "PD", "iUPD")

    page.click(f"text=← {participant.study_id} lesions")
    page.wait_for_selector("#registry")
    assert "iUPD" in page.inner_text("#registry")
    page.wait_for_function(
        "document.querySelector('img.plot').complete && document.querySelector('img.plot').naturalWidth > 0"
    )
    screenshot("recist-followup-participant")


def test_lesion_and_parameter_pages_render_for_a_monitor(
    page, login, screenshot, radiologist, monitor, participant
):
    """Read-only view of the lesion page and the MRI parameter tables and plots."""
    from lesions import services
    from tests.factories import ctx_for

    t1 = lesion(radiologist, participant, "T1", "liver")
    assess(radiologist, participant, day(0), {t1: 42})
    assess(radiologist, participant, day(56), {t1: 27})
    for n, (ktrans, d) in enumerate(((0.24, 0.0010), (0.15, 0.0013))):
        services.parameters_enter(
            ctx=ctx_for(radiologist),
            lesion=t1,
            acquired_on=day(56 * n - 7),
            kind="dce",
            model="extended_tofts",
            values={"ktrans_per_min": ktrans, "ve": 0.35, "vp": 0.04},
        )
        services.parameters_enter(
            ctx=ctx_for(radiologist),
            lesion=t1,
            acquired_on=day(56 * n - 7),
            kind="ivim",
            values={"ivim_d_mm2_s": d, "ivim_f": 0.1},
        )
    login(monitor)
    page.goto(f"/lesions/lesion/{t1.pk}/")
    assert "27.0 mm" in page.inner_text("#diameters")
    assert "Edit" not in page.inner_text("main")
    screenshot("lesion-page")
    page.goto(f"/lesions/participants/{participant.pk}/mri/")
    assert "-37.5 %" in page.inner_text("#comparison")  # Ktrans 0.24 -> 0.15
    page.wait_for_function(
        "[...document.querySelectorAll('img.plot')].every(i => i.complete && i.naturalWidth > 0)"
    )
    screenshot("mri-parameters")
