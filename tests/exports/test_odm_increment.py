"""The ODM Transactional increment: committed changes after X-Next-Cursor replay onto the earlier state.

Its own module and committed (transaction=True): the feed shows only finished transactions (below the horizon),
never the reader's own open one, so the module-scoped demo of test_files.py (one open transaction) cannot show it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tests import factories
from tests.exports import odm_replay
from tests.exports.builders import make_ae
from tests.exports.helpers import issue, offline_schema, token_client
from trial import services
from trial.audit import audited_update

pytestmark = pytest.mark.django_db(transaction=True)

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
XSD = Path(__file__).resolve().parents[1] / "data" / "cdisc" / "odm-1.3.2" / "ODM1-3-2.xsd"


def _odm(client, **params: str) -> tuple[bytes, str]:
    response = client.get("/api/v1/export/odm/", params)
    assert response.status_code == 200
    return b"".join(response.streaming_content), response.get("X-Next-Cursor", "")


def test_a_cleared_value_and_a_void_come_as_update_and_remove_and_replay_to_the_later_snapshot(
    coordinator, data_manager, sponsor, site_nl
):
    schema = offline_schema(XSD)
    participant = factories.enrol(coordinator, site_nl)
    factories.record_tracer_dose(coordinator, participant)
    ae = make_ae(coordinator, participant, "Fatigue")
    ctx = factories.ctx_for(coordinator)
    visit = participant.visits.order_by("id")[1]
    audited_update(visit, ctx=ctx, data={"out_of_window_reason": "patient travelled"}, reason="note added")
    client = token_client(issue(data_manager, sponsor)[1])

    transactional, cursor = _odm(client, type="transactional")
    assert schema.validate(etree.fromstring(transactional))
    state = odm_replay.replay(transactional)
    first, _ = _odm(client, type="snapshot")
    assert odm_replay.flatten(state) == odm_replay.snapshot_values(first)

    audited_update(visit, ctx=ctx, data={"out_of_window_reason": ""}, reason="entered in error")
    services.record_void(ctx=ctx, instance=ae, reason="entered in error")
    increment, _ = _odm(client, type="transactional", since=cursor)
    assert schema.validate(etree.fromstring(increment)), list(schema.error_log)[:3]
    inc = etree.fromstring(increment)
    groups = list(inc.iter(f"{ODM}ItemGroupData"))
    assert {g.get("TransactionType") for g in groups} >= {"Update", "Remove"}
    removed = [g for g in groups if g.get("TransactionType") == "Remove"]
    assert [(g.get("ItemGroupOID"), g.get("ItemGroupRepeatKey")) for g in removed] == [
        ("IG.ADVERSE_EVENTS", str(ae.pk))
    ]
    assert any(
        i.get("IsNull") == "Yes" and i.get("ItemOID") == "IT.VISITS.OUT_OF_WINDOW_REASON"
        for i in inc.iter(f"{ODM}ItemData")
    )
    assert len(groups) < len(list(etree.fromstring(transactional).iter(f"{ODM}ItemGroupData")))
    odm_replay.replay(increment, into=state)
    later, _ = _odm(client, type="snapshot")
    assert odm_replay.flatten(state) == odm_replay.snapshot_values(later)
