"""Stored PK parameters (kinetics.PkParameter) and their exports: SDTM PP (rows, XPT, Dataset-JSON 1.1 and
Define-XML 2.1 valid against the official schemas) and the sponsor resource "pk-parameters".

The designed curves (tests/kinetics/builders.py) give analytic expectations: blood pool SUVmean 10 exp(-ln2 t /
60 h) and a whole-organ liver mask 4 exp(-ln2 t / 200 h), so the terminal (biological) half-lives are 60 h and
200 h, the effective ones 1/(1/T_bio + 1/78.41 h), and for a mono-exponential AUC(0-inf) = C0 T / ln 2 exactly
(log-down trapezoids are exact on an exponential; the segment before the first sample starts at the fitted
intercept C0). The serum curve is bi-exponential (T1/2 1.5 h and 70 h, kBq/mL): exported in Bq/mL.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyreadstat
import pytest
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft201909Validator
from lxml import etree

from exports import define_xml, sdtm, sdtm_data, sdtm_files
from imaging.models import VoiResult
from kinetics import selectors, services
from kinetics.models import PkParameter
from quant.pk.constants import LAMBDA_PHYS_PER_H as LAMBDA
from quant.pk.fit import analyse
from tests import factories
from tests.exports.helpers import issue, offline_schema, token_client
from trial.audit import AuditContext
from trial.models import AuditEntry, Role
from trial.site_time import site_zone

pytestmark = pytest.mark.django_db

CDISC = Path(__file__).resolve().parents[1] / "data" / "cdisc"
LN2 = math.log(2.0)


def _effective(bio_h: float) -> float:
    return 1.0 / (1.0 / bio_h + LAMBDA / LN2)


def _stored(person) -> dict[tuple[str, str, str], PkParameter]:
    return {
        (r.tracer_visit_code, r.series_key, r.test_code): r
        for r in PkParameter.objects.filter(participant=person, voided=False)
    }


def test_refresh_stores_the_designed_parameters_audited_and_only_what_changed(pk_trial):
    person, radiologist = pk_trial["pk"], pk_trial["radiologist"]
    ctx = factories.ctx_for(radiologist)
    first = services.pk_parameters_refresh(ctx=ctx, participant=person)
    assert first["created"] > 0 and first["updated"] == first["voided"] == 0
    rows = _stored(person)
    for tracer in ("BL_TRACER", "OT_TRACER"):
        assert rows[(tracer, "liver", "LAMZHL")].value == pytest.approx(200.0, rel=1e-6)
    for tracer in ("BL_TRACER",):  # (the on-treatment blood pool has a designed shift at 48 h)
        lamzhl, hleff = (rows[(tracer, "blood_pool", c)] for c in ("LAMZHL", "HLEFF"))
        assert (
            lamzhl.value == pytest.approx(60.0, rel=1e-6)
            and lamzhl.unit == "h"
            and lamzhl.fit_model == "mono"
        )
        assert hleff.value == pytest.approx(_effective(60.0), rel=1e-6)
        auc_inf = rows[(tracer, "blood_pool", "AUCIFO")]
        assert auc_inf.value == pytest.approx(10.0 * 60.0 / LN2, rel=1e-6) and auc_inf.unit == "h*g/mL"
        # AUC(0-last) of 0..144 h: 10 T/ln2 (1 - 2^(-144/60)); %extrapolated = 100 * 2^(-144/60)
        assert rows[(tracer, "blood_pool", "AUCLST")].value == pytest.approx(
            10.0 * 60.0 / LN2 * (1 - 2 ** (-144 / 60)), rel=1e-6
        )
        assert rows[(tracer, "blood_pool", "AUCPEO")].value == pytest.approx(100 * 2 ** (-144 / 60), rel=1e-5)
        assert rows[(tracer, "blood_pool", "R2")].value == pytest.approx(1.0, abs=1e-9)
    # serum (baseline only): bi-exponential 1.5 h and 70 h (half-lives recovered within 0.1 % and 1 %); the AUC
    # is the page's fit of the kBq/mL curve (trapezoids between sparse samples of a bi-exponential are not exact)
    # times 1000: Bq/mL as PC
    serum = {code: rows[("BL_TRACER", "serum", code)] for code in ("LAMZHL", "HLFAST", "AUCIFO")}
    assert serum["LAMZHL"].value == pytest.approx(70.0, rel=1e-3) and serum["LAMZHL"].fit_model == "bi"
    assert serum["HLFAST"].value == pytest.approx(1.5, rel=1e-2)
    points = [p for p in selectors.participant_points(person) if p.key == "serum"]
    page = analyse([p.hours for p in points], [p.kbq_ml for p in points], model="auto", decay_corrected=True)
    assert serum["AUCIFO"].unit == "h*Bq/mL" and page.auc_0_inf is not None
    assert serum["AUCIFO"].value == pytest.approx(1000 * page.auc_0_inf, rel=1e-12)
    assert serum["LAMZHL"].specimen == "SERUM" and serum["LAMZHL"].category == "serum"
    # TIAC of the liver mask by hand: linear trapezoids of a(t) = 0.08 exp(-(ln2/200 + lambda) t) from zero at
    # injection over 24, 48, 96, 144 h, plus the physical-decay tail a(144 h) / lambda
    times = [0.0, 24.0, 48.0, 96.0, 144.0]
    a = [0.0] + [4.0 * 1500 / 75000 * math.exp(-(LN2 / 200 + LAMBDA) * t) for t in times[1:]]
    hand = sum((a[i] + a[i + 1]) / 2 * (times[i + 1] - times[i]) for i in range(4)) + a[-1] / LAMBDA
    tiac = rows[("BL_TRACER", "liver", "TIAC")]
    assert tiac.value == pytest.approx(hand, rel=1e-9) and tiac.unit == "h" and tiac.specimen == "LIVER"
    assert ("BL_TRACER", "remainder", "TIAC") in rows
    entries = AuditEntry.objects.filter(model="pkparameter", action="create").count()
    assert entries == first["created"]

    # the same data again: nothing written
    again = services.pk_parameters_refresh(ctx=ctx, participant=person)
    assert again == {"created": 0, "updated": 0, "voided": 0, "unchanged": first["created"]}
    assert AuditEntry.objects.filter(model="pkparameter").count() == entries

    # one blood value changes: that curve's parameters are updated (audited), the rest untouched; a lesion
    # curve losing a point below three is voided (never deleted)
    changed = VoiResult.objects.get(
        participant=person, voi__organ="blood_pool", voi__scan__visit__code="BL_PET_96H"
    )
    VoiResult.objects.filter(pk=changed.pk).update(suv_mean=changed.suv_mean * 1.2)
    VoiResult.objects.filter(
        participant=person, voi__name="T1", voi__scan__visit__code__in=("OT_PET_24H", "OT_PET_96H")
    ).delete()
    third = services.pk_parameters_refresh(ctx=ctx, participant=person)
    assert third["updated"] > 0 and third["voided"] > 0
    assert AuditEntry.objects.filter(model="pkparameter", action="update").count() == third["updated"]
    gone = PkParameter.objects.filter(
        participant=person, series_key="lesion:T1", tracer_visit_code="OT_TRACER"
    )
    assert gone.exists() and not gone.filter(voided=False).exists()
    assert (
        rows[("OT_TRACER", "liver", "LAMZHL")].version
        == _stored(person)[("OT_TRACER", "liver", "LAMZHL")].version
    )


def test_refresh_needs_the_imaging_role_at_the_site(pk_trial):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.pk_parameters_refresh(ctx=factories.ctx_for(pk_trial["monitor"]), participant=pk_trial["pk"])
    with pytest.raises(PermissionDenied):
        services.pk_parameters_refresh(
            ctx=factories.ctx_for(pk_trial["outsider"]), participant=pk_trial["pk"]
        )
    assert not PkParameter.objects.exists()


def test_the_page_stores_and_says_whether_the_stored_values_are_current(client, pk_trial):
    person = pk_trial["pk"]
    client.force_login(pk_trial["radiologist"])
    url = reverse("kinetics:participant", args=[person.pk])
    assert "None stored yet" in client.get(url).content.decode()
    response = client.post(reverse("kinetics:parameters_store", args=[person.pk]))
    assert response.status_code == 302
    body = client.get(url).content.decode()
    assert "Up to date with the curves above" in body and "Half-Life Lambda z" in body
    VoiResult.objects.filter(participant=person, voi__organ="liver").update(suv_mean=3.0)
    assert "Out of date" in client.get(url).content.decode()
    client.force_login(pk_trial["monitor"])
    assert client.post(reverse("kinetics:parameters_store", args=[person.pk])).status_code == 403


def test_pp_rows_files_define_xml_and_the_sponsor_resource(pk_trial, tmp_path):
    person = pk_trial["pk"]
    site = person.site
    sponsor = factories.make_user("sam_pk", (site, Role.SPONSOR))
    manager = factories.make_user("dana_pk", (site, Role.DATA_MANAGER))
    services.pk_parameters_refresh(ctx=AuditContext.system(), participant=person)
    stored = PkParameter.objects.filter(voided=False).count()
    rows = list(sdtm_data.STREAMS["PP"](sponsor))
    assert sdtm.check_rows(sdtm.DATASETS["PP"], rows) == []
    assert len(rows) == stored > 0
    by = {(r["PPGRPID"], r["PPTESTCD"]): r for r in rows}
    blood = by[("BL_TRACER:blood_pool:suv_mean", "LAMZHL")]
    assert (blood["PPTEST"], blood["PPCAT"], blood["PPSCAT"], blood["PPSPEC"]) == (
        "Half-Life Lambda z",
        "PET IMAGE-DERIVED",
        "SUVMEAN",
        "BLOOD",
    )
    assert blood["PPSTRESN"] == pytest.approx(60.0, rel=1e-6) and blood["PPORRES"] == "60"
    assert blood["USUBJID"] == f"CD8PET-{person.study_id}" and blood["PPSPID"].startswith("PKPARAM-")
    serum = by[("BL_TRACER:serum:bq_ml", "AUCIFO")]
    assert (serum["PPCAT"], serum["PPSPEC"], serum["PPSTRESU"]) == ("SERUM", "SERUM", "h*Bq/mL")
    dose = person.tracer_doses.get()
    assert serum["PPRFTDTC"] == dose.administered_at.astimezone(site_zone(site)).isoformat(timespec="seconds")
    assert sorted({r["PPSEQ"] for r in rows}) == list(range(1, len(rows) + 1))
    assert list(sdtm_data.STREAMS["PP"](pk_trial["outsider"])) == []

    # files: XPT, Dataset-JSON 1.1 (official schema), Define-XML 2.1 (official schema) with the PP method
    dataset = sdtm.DATASETS["PP"]
    with open(tmp_path / "pp.csv", "wb") as csv_out, open(tmp_path / "pp.xpt", "wb") as xpt_out:
        assert sdtm_data.write_dataset_files(dataset, iter(rows), csv_out, xpt_out) == len(rows)
    frame, meta = pyreadstat.read_xport(str(tmp_path / "pp.xpt"))
    assert meta.table_name == "PP" and list(frame.columns) == dataset.columns and len(frame) == len(rows)
    assert frame.loc[frame["PPSPID"] == blood["PPSPID"], "PPSTRESN"].tolist() == [blood["PPSTRESN"]]
    schema = json.loads((CDISC / "dataset-json-1.1" / "dataset.schema.json").read_text())
    validator = Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    created = timezone.now()
    data = json.loads(
        b"".join(sdtm_files.dataset_json_chunks(dataset, sdtm_files.domain_rows(sponsor, "PP"), created))
    )
    assert list(validator.iter_errors(data)) == [] and data["records"] == len(rows)
    xsd = offline_schema(CDISC / "define-2.1" / "define" / "2.1" / "define2-1-0.xsd")
    root = etree.fromstring(b"".join(define_xml.chunks(created)))
    assert xsd.validate(root), [str(e) for e in list(xsd.error_log)[:5]]
    odm, def_ns = "{http://www.cdisc.org/ns/odm/v1.3}", "{http://www.cdisc.org/ns/def/v2.1}"
    assert "PP" in {g.get("Name") for g in root.iter(f"{odm}ItemGroupDef")}
    refs = {r.get("ItemOID"): r.get("MethodOID") for r in root.iter(f"{odm}ItemRef")}
    assert refs["IT.PP.PPSTRESN"] == "MT.PKPARAM"
    assert "MT.PKPARAM" in {m.get("OID") for m in root.iter(f"{odm}MethodDef")}
    origins = {i.get("OID"): i.find(f"{def_ns}Origin").get("Type") for i in root.iter(f"{odm}ItemDef")}
    assert origins["IT.PP.PPSTRESN"] == "Derived"

    # the sponsor resource: the same stored rows as JSON and CSV
    _token, key = issue(manager, sponsor)
    client = token_client(key)
    listing = client.get("/api/v1/export/pk-parameters/", {"page_size": 500}).json()["results"]
    assert len(listing) == stored
    row = next(r for r in listing if r["series_key"] == "blood_pool" and r["test_code"] == "LAMZHL")
    assert row["participant"] == person.study_id and row["value"] == pytest.approx(60.0, rel=1e-6)
    streamed = client.get("/api/v1/export/pk-parameters/", {"format": "csv"})
    text = b"".join(streamed.streaming_content).decode()
    assert text.splitlines()[0].startswith("id,participant,site,tracer_visit_code,series_key")
    assert len(text.strip().splitlines()) == stored + 1

    # ODM: the stored parameters are a form of the subject's data, valid against the official ODM 1.3.2 XSD
    from exports import odm_stream
    from exports.odm_xml import VENDOR_NS

    stream, _position = odm_stream.snapshot(odm_stream.Scope(manager, None), created)
    odm_root = etree.fromstring(b"".join(stream))
    group_oids = {
        g.get("OID") for g in odm_root.iter(f"{odm}ItemGroupDef") if "PK" in g.get("OID", "").upper()
    }
    assert group_oids, "no PK parameter item group in the ODM metadata"
    values = [
        i.get("Value")
        for g in odm_root.iter(f"{odm}ItemGroupData")
        if g.get("ItemGroupOID") in group_oids
        for i in g.iter(f"{odm}ItemData")
    ]
    assert "LAMZHL" in values and any(v and v.startswith("60") for v in values)
    odm_xsd = offline_schema(CDISC / "odm-1.3.2" / "ODM1-3-2.xsd")
    for extension in list(odm_root.iter(f"{{{VENDOR_NS}}}*")):  # the cd8 monitoring extension
        extension.getparent().remove(extension)
    assert odm_xsd.validate(odm_root), [str(e) for e in list(odm_xsd.error_log)[:5]]
    assert "PP" in {e["domain"] for e in client.get("/api/v1/export/sdtm/").json()["datasets"]}


def test_a_changed_input_refreshes_the_stored_parameters_once_it_commits_and_a_lock_refuses_it(
    pk_trial, django_capture_on_commit_callbacks
):
    from monitoring import services as monitoring_services
    from monitoring.models import RefusedWrite
    from trial import services as trial_services

    person, radiologist = pk_trial["pk"], pk_trial["radiologist"]
    services.pk_parameters_refresh(ctx=factories.ctx_for(radiologist), participant=person)
    before = _stored(person)[("BL_TRACER", "blood_pool", "LAMZHL")]
    voi = VoiResult.objects.get(
        participant=person, voi__organ="blood_pool", voi__scan__visit__code="BL_PET_96H"
    ).voi
    # Voiding the 96 h blood-pool VOI (an audited write to a PK input) queues one refresh at commit.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        trial_services.record_void(ctx=factories.ctx_for(radiologist), instance=voi, reason="misplaced")
    assert len([c for c in callbacks if getattr(c, "pk_refresh_of", None) == person.pk]) == 1
    after = _stored(person)[("BL_TRACER", "blood_pool", "LAMZHL")]
    assert after.version == before.version + 1  # recomputed without the 96 h point
    assert after.value == pytest.approx(60.0, rel=1e-6)  # the designed mono-exponential, one point fewer
    update = AuditEntry.objects.filter(model="pkparameter", object_id=str(after.pk), action="update").get()
    assert update.user_id is None and update.reason == services.REFRESH_REASON
    # With the casebook locked, the refresh is refused and recorded, nothing written.
    manager = factories.make_user("dana_lock_pk", (person.site, Role.DATA_MANAGER))
    monitoring_services.lock_apply(
        ctx=factories.ctx_for(manager), scope="participant", object_id=person.pk, reason="review"
    )
    entries = AuditEntry.objects.filter(model="pkparameter").count()
    assert services.pk_parameters_refresh_after_change(person.pk).startswith("refused")
    assert AuditEntry.objects.filter(model="pkparameter").count() == entries
    assert RefusedWrite.objects.filter(participant=person).exists()
