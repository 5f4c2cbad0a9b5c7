"""Sponsor files over the token API on a small demo trial: ODM 1.3.2 (official XSD, strict replay of the
Transactional file onto the Snapshot), SDTM XPT/CSV/Dataset-JSON 1.1 (official schema), Define-XML 2.1
(official schema), bulk jobs downloadable by the token that started them, and every resource's change feed
against its list."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from django.contrib.auth import get_user_model
from jsonschema import Draft201909Validator
from lxml import etree
from rest_framework.test import APIClient

from exports import sdtm, sdtm_files, services
from tests import factories
from tests.exports import odm_replay
from tests.exports.demo_data import demo_trial
from tests.exports.helpers import offline_schema

pytestmark = pytest.mark.django_db

CDISC = Path(__file__).resolve().parents[1] / "data" / "cdisc"
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The trimmed demo in one open transaction for the module. The feeds and the Transactional file read only
    entries below the horizon, and this transaction's own entries are seen or not depending on other databases'
    commits (another xdist worker): the horizon is put past them, so every test reads them all.
    test_odm_increment.py and test_changes.py cover the horizon with committed transactions."""
    from exports import changes

    with pytest.MonkeyPatch.context() as patch, demo_trial(django_db_blocker) as info:
        patch.setattr(changes, "horizon", lambda: 2**62)
        yield info


@pytest.fixture(scope="module")
def odm_xsd():
    return offline_schema(CDISC / "odm-1.3.2" / "ODM1-3-2.xsd")


def _client(username: str, scheme: str = "Bearer") -> APIClient:
    dm = get_user_model().objects.get(username="data_manager")
    _token, key = services.token_issue(ctx=factories.ctx_for(dm), username=username, label="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


def _body(response) -> bytes:
    assert response.status_code == 200, response.content[:400]
    return b"".join(response.streaming_content) if response.streaming else response.content


def _odm(client: APIClient, **params: str) -> tuple[bytes, object]:
    response = client.get("/api/v1/export/odm/", params)
    assert response.streaming and response["Content-Type"] == "application/xml"
    return _body(response), response


def _valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    assert schema.validate(root), [str(e) for e in list(schema.error_log)[:5]]
    return root


def test_odm_files_follow_odm_1_3_2_and_the_transactional_file_replays_to_the_snapshot(demo, odm_xsd):
    from imaging.models import VoiResult
    from safety import services as safety_services
    from safety.models import AdverseEvent, SignatureMeaning

    ae = AdverseEvent.objects.filter(voided=False).order_by("id").first()
    investigator = get_user_model().objects.get(username=f"investigator_{ae.participant.site.code.lower()}")
    signature = safety_services.active_signature(ae.participant) or safety_services.record_signature(
        ctx=factories.ctx_for(investigator), participant=ae.participant, meaning=SignatureMeaning.COMPLETE
    )
    from trial.audit import audited_update
    from trial.models import Visit

    dm = get_user_model().objects.get(username="data_manager")
    ctx = factories.ctx_for(dm)
    visit = Visit.objects.filter(voided=False, participant=ae.participant).order_by("id").first()
    audited_update(visit, ctx=ctx, data={"out_of_window_reason": "patient travelled"}, reason="note added")
    sponsor = _client("sponsor")
    snapshot, response = _odm(sponsor, type="snapshot")
    assert response["X-Export-Cursor"]
    root = _valid(odm_xsd, snapshot)
    item_defs = list(root.iter(f"{ODM}ItemDef"))
    sized = [i for i in item_defs if i.get("DataType") in ("text", "integer", "float")]
    assert sized and all(i.get("Length") for i in sized)  # Length on every text, integer and float item
    assert all(i.get("Length") for i in item_defs if i.get("SignificantDigits"))
    assert all(i.find(f"{ODM}Question") is not None for i in item_defs)
    by_oid = {i.get("OID"): i for i in item_defs}
    assert (
        by_oid["IT.SUV_METRICS.VOLUME_ML"].find(f"{ODM}MeasurementUnitRef").get("MeasurementUnitOID")
        == "MU.ML"
    )
    assert any(i.find(f"{ODM}RangeCheck") is not None for i in item_defs)
    sex = next(c for c in root.iter(f"{ODM}CodeList") if c.get("OID") == "CL.PARTICIPANTS.SEX")
    decodes = {i.get("CodedValue"): i.findtext(f"{ODM}Decode/{ODM}TranslatedText") for i in sex}
    assert decodes == {"M": "Male", "F": "Female"}
    # visits are study events with repeat keys; the visits form sits in its own visit's event
    visit_groups = [g for g in root.iter(f"{ODM}ItemGroupData") if g.get("ItemGroupOID") == "IG.VISITS"]
    assert visit_groups
    for group in visit_groups:
        event = group.getparent().getparent()
        assert event.get("StudyEventOID").startswith("SE.") and event.get("StudyEventOID") != "SE.SUBJECT"
        assert event.get("StudyEventRepeatKey") == group.get("ItemGroupRepeatKey")
    # derived results and values reached through related tables are in the file
    suv = [g for g in root.iter(f"{ODM}ItemGroupData") if g.get("ItemGroupOID") == "IG.SUV_METRICS"]
    assert len(suv) == VoiResult.objects.count() > 0
    signed = next(
        g
        for g in root.iter(f"{ODM}ItemGroupData")
        if g.get("ItemGroupOID") == "IG.ADVERSE_EVENTS" and g.get("ItemGroupRepeatKey") == str(ae.pk)
    )
    values = {i.get("ItemOID"): i.get("Value") for i in signed.iter(f"{ODM}ItemData")}
    assert values["IT.ADVERSE_EVENTS.TERM"] == ae.term.term and values["IT.ADVERSE_EVENTS.SOC"] == ae.term.soc
    sig = signed.find(f"{ODM}Signature")
    assert sig.find(f"{ODM}SignatureRef").get("SignatureOID") == f"SD.{signature.meaning.upper()}"
    assert any(d.get("OID") == "SD.COMPLETE_ACCURATE" for d in root.iter(f"{ODM}SignatureDef"))

    transactional, _response = _odm(sponsor, type="transactional")
    _valid(odm_xsd, transactional)
    state = odm_replay.replay(transactional)
    assert odm_replay.flatten(state) == odm_replay.snapshot_values(snapshot)

    # The strict replayer refuses what the ODM rules refuse (on the first 40 transactions: quick).
    transactional = _head(transactional, 40)
    assert odm_replay.replay(transactional)
    first = etree.fromstring(transactional)
    next(first.iter(f"{ODM}SubjectData")).set("TransactionType", "Update")
    with pytest.raises(odm_replay.ReplayError, match="Update of a missing"):
        odm_replay.replay(etree.tostring(first))
    twice = etree.fromstring(transactional)
    clinical = next(twice.iter(f"{ODM}ClinicalData"))
    clinical.append(json_copy(next(twice.iter(f"{ODM}SubjectData"))))
    with pytest.raises(odm_replay.ReplayError, match="Insert of an existing"):
        odm_replay.replay(etree.tostring(twice))
    long_value = etree.fromstring(transactional)
    item = next(
        i for i in long_value.iter(f"{ODM}ItemData") if i.get("ItemOID") == "IT.PARTICIPANTS.STUDY_ID"
    )
    item.set("Value", "X" * 100)
    with pytest.raises(odm_replay.ReplayError, match="Length"):
        odm_replay.replay(etree.tostring(long_value))
    no_audit = etree.fromstring(transactional)
    audit = next(no_audit.iter(f"{ODM}AuditRecord"))
    audit.getparent().remove(audit)
    with pytest.raises(odm_replay.ReplayError, match="AuditRecord"):
        odm_replay.replay(etree.tostring(no_audit))


def _head(xml: bytes, count: int) -> bytes:
    """The file with only its first `count` SubjectData transactions."""
    root = etree.fromstring(xml)
    clinical = next(root.iter(f"{ODM}ClinicalData"))
    for subject in list(clinical)[count:]:
        clinical.remove(subject)
    return etree.tostring(root)


def json_copy(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


def test_site_filter_and_errors_of_the_odm_endpoint(demo):
    sponsor = _client("sponsor", scheme="Token")
    snapshot, _ = _odm(sponsor, type="snapshot", site="BE01")
    subjects = {s.get("SubjectKey") for s in etree.fromstring(snapshot).iter(f"{ODM}SubjectData")}
    assert subjects and all(s.startswith("BE01-") for s in subjects)
    assert sponsor.get("/api/v1/export/odm/", {"type": "delta"}).status_code == 400
    assert sponsor.get("/api/v1/export/odm/", {"site": "XX99"}).status_code == 400
    assert (
        sponsor.get("/api/v1/export/odm/", {"type": "transactional", "since": "garbage"}).status_code == 400
    )
    assert APIClient().get("/api/v1/export/odm/").status_code == 401
    coordinator = _client("coordinator_nl01")
    own, _ = _odm(coordinator, type="snapshot")
    assert {s.get("SubjectKey")[:4] for s in etree.fromstring(own).iter(f"{ODM}SubjectData")} == {"NL01"}


def test_sponsor_token_fetches_every_sdtm_file_and_define_xml(demo, tmp_path):
    sponsor = _client("sponsor")
    listing = sponsor.get("/api/v1/export/sdtm/").json()
    assert listing["standard"] == "SDTMIG 3.4"
    dataset_schema = json.loads((CDISC / "dataset-json-1.1" / "dataset.schema.json").read_text())
    validator = Draft201909Validator(dataset_schema, format_checker=Draft201909Validator.FORMAT_CHECKER)
    counts = {}
    for entry in listing["datasets"]:
        domain = entry["domain"]
        csv_rows = pd.read_csv(io.BytesIO(_body(sponsor.get(entry["csv"]))), dtype=str)
        path = tmp_path / f"{domain}.xpt"
        path.write_bytes(_body(sponsor.get(entry["xpt"])))
        xpt, meta = pyreadstat.read_xport(str(path))
        data = json.loads(_body(sponsor.get(entry["json"])))
        assert list(validator.iter_errors(data)) == [], domain
        assert data["records"] == len(data["rows"]) == len(xpt) == len(csv_rows), domain
        assert [c["name"] for c in data["columns"]] == list(xpt.columns) == list(csv_rows.columns)
        counts[domain] = data["records"]
    # DM: the four participants, and the screening log's screen failures that failed eligibility criteria
    from casebook.models import ScreeningLogEntry

    failures = sum(1 for e in ScreeningLogEntry.objects.filter(voided=False) if e.failed_criteria)
    assert counts["DM"] == 4 + failures and counts["IE"] >= failures
    assert counts["AE"] > 0 and counts["TR"] > 0 and counts["MI"] > 0 and counts["TS"] > 0
    user = get_user_model().objects.get(username="sponsor")
    for entry in listing["datasets"]:  # terms, lengths, ISO 8601, unique keys on the demo trial's rows
        dataset = sdtm.DATASETS[entry["domain"]]
        assert sdtm.check_rows(dataset, sdtm_files.domain_rows(user, dataset.name)) == [], dataset.name
    define = _body(sponsor.get(listing["define"]))
    root = _valid(offline_schema(CDISC / "define-2.1" / "define" / "2.1" / "define2-1-0.xsd"), define)
    xlink = "{http://www.w3.org/1999/xlink}href"
    def_ns = "{http://www.cdisc.org/ns/def/v2.1}"
    hrefs = {leaf.get(xlink) for leaf in root.iter(f"{def_ns}leaf")}
    assert hrefs == {f"{e['domain'].lower()}.xpt" for e in listing["datasets"]}
    value_lists = {v.get("OID") for v in root.iter(f"{def_ns}ValueListDef")}
    assert {"VL.TR.TRORRES", "VL.MI.MIORRES"} <= value_lists
    origins = {i.get("OID"): i.find(f"{def_ns}Origin").get("Type") for i in root.iter(f"{ODM}ItemDef")}
    assert origins["IT.AE.AESEQ"] == "Derived" and origins["IT.AE.AETERM"] == "Collected"
    assert origins["IT.TR.TRORRES.SUVMAX"] == "Derived" and origins["IT.TR.TRORRES.LDIAM"] == "Collected"
    methods = {m.get("OID") for m in root.iter(f"{ODM}MethodDef")}
    refs = {r.get("MethodOID") for r in root.iter(f"{ODM}ItemRef") if r.get("MethodOID")}
    assert refs and refs <= methods
    assert sponsor.get("/api/v1/export/sdtm/XX.xpt").status_code == 404
    assert sponsor.get("/api/v1/export/sdtm/AE.pdf").status_code == 404


def test_a_bulk_job_started_by_a_sponsor_token_is_downloadable_by_that_token(demo):
    from exports import bulk

    sponsor = _client("sponsor")
    started = sponsor.post("/api/v1/export/bulk/")
    assert started.status_code == 202, started.content
    bulk.run(started.json()["id"])  # the worker (queued on commit, which never comes inside the test)
    job = sponsor.get(f"/api/v1/export/bulk/{started.json()['id']}/").json()
    assert job["download_url"] == f"/api/v1/export/bulk/{job['id']}/download/"
    response = sponsor.get(job["download_url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(_body(response))) as zf:
        assert {"odm/snapshot.xml", "odm/transactional.xml", "sdtm/define.xml", "sdtm/ae.json"} <= set(
            zf.namelist()
        )
    assert _client("monitor").get(job["download_url"]).status_code == 404  # not the monitor's job
    assert _client("coordinator_nl01").post("/api/v1/export/bulk/").status_code == 403


def _all_pages(client: APIClient, url: str) -> list[dict]:
    rows, params = [], {"page_size": 1000}
    while url:
        body = client.get(url, params).json()
        rows.extend(body["results"])
        url, params = body.get("next"), {}
    return rows


def _pull(client: APIClient, prefix: str) -> list[dict]:
    items, cursor = [], "0"
    while True:
        body = client.get(f"{prefix}/changes/", {"since": cursor, "page_size": 1000}).json()
        items.extend(body["results"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return items


def test_every_resource_feed_carries_the_same_live_records_as_its_list(demo, capsys):
    from exports.api_routes import UNROUTED
    from exports.resources import load_all

    sponsor = _client("sponsor")
    report = []
    for name in load_all():
        prefix = "/api/v1/sites" if name in UNROUTED else f"/api/v1/export/{name}"
        listed = _all_pages(sponsor, f"{prefix}/")
        live = {r["id"] for r in listed if not r.get("voided", False)}
        items = _pull(sponsor, prefix)
        feed = {i["id"] for i in items if not i["voided"]}
        tombstones = {i["id"] for i in items if i["voided"]}
        report.append(f"{name}: list {len(live)} feed {len(feed)} tombstones {len(tombstones)}")
        assert feed == live, (name, sorted(live - feed)[:5], sorted(feed - live)[:5])
        assert not tombstones & live
    with capsys.disabled():
        print("\nfeed-vs-list " + "; ".join(report))
    counts = dict(line.split(": list ") for line in report)
    assert int(counts["suv-metrics"].split()[0]) > 0
    metadata = sponsor.get("/api/v1/export/metadata/").json()["resources"]
    assert {r["name"] for r in metadata} == set(load_all())
    suv_fields = {f["name"]: f for f in next(r for r in metadata if r["name"] == "suv-metrics")["fields"]}
    assert suv_fields["volume_ml"]["unit"] == "mL" and suv_fields["suv_max"]["type"] == "double"
    sex = next(f for r in metadata if r["name"] == "participants" for f in r["fields"] if f["name"] == "sex")
    assert {"code": "F", "label": "Female"} in sex["codes"]
    from pathology.models import IhcScore
    from trial.audit import audited_void

    score = IhcScore.objects.filter(voided=False).order_by("id").first()
    dm = get_user_model().objects.get(username="data_manager")
    audited_void(score, ctx=factories.ctx_for(dm), reason="scored on the wrong slide")
    history = sponsor.get(f"/api/v1/export/ihc-scores/{score.pk}/history/").json()["entries"]
    assert [e["action"] for e in history][0] == "create" and history[-1]["action"] == "void"
    assert history[-1]["reason"] == "scored on the wrong slide" and history[-1]["changes"]["voided"] == [
        False,
        True,
    ]
    assert sponsor.get("/api/v1/export/ihc-scores/999999/history/").status_code == 404
    changed = sponsor.get("/api/v1/export/suv-metrics/", {"changed_since": "2100-01-01T00:00:00Z"}).json()
    assert changed["results"] == []
    recent = sponsor.get("/api/v1/export/suv-metrics/", {"changed_since": "2000-01-01T00:00:00Z"}).json()
    assert len(recent["results"]) == min(100, int(counts["suv-metrics"].split()[0]))
