"""Schemathesis over the whole OpenAPI document, through the WSGI app, with API tokens of three roles.

The schema is generated in-process by drf-spectacular (the same document `/api/v1/schema/` serves), every
operation is called with a data manager's, a site coordinator's (both read-write) and the sponsor's
(read-only) token against a small demo trial, in positive generation mode (and negative mode with the data
manager's token: invalid input is refused the same way whoever sends it), and each response
is checked with `not_a_server_error`, `status_code_conformance` and `response_schema_conformance`.

Bounded and reproducible: `MAX_EXAMPLES` per operation and mode, no shrinking, Hypothesis derandomised
(fixed seed per operation). Each call runs in a savepoint that is rolled back, so every case sees the same
data. Tune with SCHEMATHESIS_MAX_EXAMPLES (e.g. 200 for a long local run). Prints one summary line per role.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from werkzeug.test import Client

from exports import services as export_services
from tests.api.schemathesis_creates import valid_writes
from tests.factories import ctx_for

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
ROLES = {"data_manager": "data_manager", "site_coordinator": "coordinator_nl01", "sponsor": "sponsor"}
DEMO_PARTICIPANTS_PER_SITE = 3

# (METHOD, path) -> why it is not run. Every entry is a known, named gap; keep this empty when you can.
EXCLUDED: dict[tuple[str, str], str] = {}


@dataclass
class RoleRun:
    role: str
    operations: int = 0
    cases: int = 0
    not_negatable: int = 0  # operations whose inputs admit no invalid value (negative mode has nothing to do)
    statuses: Counter = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        codes = " ".join(f"{code}:{n}" for code, n in sorted(self.statuses.items()))
        return (
            f"schemathesis role={self.role} operations={self.operations} cases={self.cases} "
            f"failures={len(self.failures)} statuses[{codes}] not_negatable={self.not_negatable}"
        )


class _Rollback(Exception):
    pass


def _openapi_document() -> dict[str, Any]:
    spec = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(spec, renderer_context={}))


def _load_schema() -> Any:
    schema = schemathesis.openapi.from_dict(_openapi_document())
    schema.app = WSGIHandler()
    return schema


def _call(case: Any) -> Any:
    """One request through the WSGI app inside a savepoint that is rolled back afterwards."""
    holder: list[Any] = []
    try:
        with transaction.atomic():
            holder.append(case.call())
            raise _Rollback
    except _Rollback:
        pass
    return holder[0]


def _existing_ids(app: Any, paths: list[str], key: str) -> dict[str, int]:
    """For each collection with a detail route: the id of its first visible row, so cases also hit real rows."""
    client = Client(app)
    ids: dict[str, int] = {}
    for path in paths:
        collection = path.split("{id}")[0]
        if collection == path or collection in ids:
            continue
        response = client.get(collection, headers={"Authorization": f"Token {key}"})
        if response.status_code != 200:
            continue
        body = response.get_json()
        rows = body.get("results", []) if isinstance(body, dict) else body
        if rows and isinstance(rows[0], dict) and "id" in rows[0]:
            ids[collection] = rows[0]["id"]
    return ids


def _strategy(operation: Any, mode: GenerationMode, existing_id: int | None) -> Any:
    generated = operation.as_strategy(generation_mode=mode)
    if existing_id is None:
        return generated
    return st.one_of(
        generated, operation.as_strategy(generation_mode=mode, path_parameters={"id": existing_id})
    )


def _describe(case: Any, response: Any, exc: BaseException) -> str:
    body = response.text[:400] if response is not None else ""
    return f"{case.method} {case.formatted_path} query={case.query} -> {response.status_code}: {exc}\n{body}"


def _run_mode(
    operation: Any,
    mode: GenerationMode,
    key: str,
    existing_id: int | None,
    run: RoleRun,
    max_examples: int = MAX_EXAMPLES,
) -> None:
    label = f"{operation.method.upper()} {operation.path} [{mode.value}]"

    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(case=_strategy(operation, mode, existing_id))
    def exercise(case: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Token {key}"}
        response = _call(case)
        run.cases += 1
        run.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, FailureGroup) as exc:  # record it, keep generating
            run.failures.setdefault(f"{label} {response.status_code}", _describe(case, response, exc))

    try:
        exercise()
    except Exception as exc:
        if mode is GenerationMode.NEGATIVE and "Unsatisfiable" in f"{type(exc).__name__} {exc}":
            run.not_negatable += 1  # counted and printed, not hidden
        else:
            run.failures.setdefault(f"{label} harness", repr(exc)[:800])


def _run_operation(
    operation: Any, key: str, existing_id: int | None, run: RoleRun, *, negative: bool = True
) -> None:
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if negative else (GenerationMode.POSITIVE,)
    for mode in modes:
        _run_mode(operation, mode, key, existing_id, run)


@pytest.fixture
def demo_trial(monkeypatch):
    """The demo trial (`load_demo`), trimmed to a few participants per site, plus one voided AE (tombstone)."""
    from django.core.management import call_command

    from safety.models import AdverseEvent
    from trial import demo
    from trial.audit import audited_void

    monkeypatch.setattr(demo, "PARTICIPANTS_PER_SITE", DEMO_PARTICIPANTS_PER_SITE)
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    ae = AdverseEvent.objects.filter(voided=False).order_by("id").first()
    if ae is not None:
        from django.contrib.auth import get_user_model

        dm = get_user_model().objects.get(username="data_manager")
        audited_void(ae, ctx=ctx_for(dm), reason="Entered for the wrong participant")


@pytest.fixture
def keep_connection():
    """The WSGI handler closes connections between requests; keep the test transaction's one open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    from exports.permissions import TokenRateThrottle

    monkeypatch.setattr(UserRateThrottle, "rate", "1000000/hour", raising=False)
    monkeypatch.setattr(TokenRateThrottle, "rate", "1000000/hour", raising=False)


def _tokens() -> dict[str, str]:
    from django.contrib.auth import get_user_model

    ctx = ctx_for(get_user_model().objects.get(username="data_manager"))
    keys = {}
    for role, username in ROLES.items():  # read-write asked; the sponsor's comes out read-only
        _, keys[role] = export_services.token_issue(
            ctx=ctx, username=username, label="schemathesis", read_only=False
        )
    return keys


def _token_for(username: str, issuer: str = "data_manager") -> str:
    from django.contrib.auth import get_user_model

    ctx = ctx_for(get_user_model().objects.get(username=issuer))
    return export_services.token_issue(
        ctx=ctx, username=username, label="schemathesis writes", read_only=False
    )[1]


def _valid_writes_run(schema: Any) -> RoleRun:
    """Each write operation once with a valid body: the success status, checked against the schema."""
    run = RoleRun("valid_writes")
    keys: dict[str, str] = {}
    for write in valid_writes():
        operation = schema[write.path][write.method.lower()]
        key = keys.setdefault(write.username, _token_for(write.username))
        case = operation.Case(
            body=write.body,
            path_parameters=write.path_parameters or {},
            headers={"Authorization": f"Token {key}"},
            media_type="application/json",
        )
        response = _call(case)
        run.operations += 1
        run.cases += 1
        run.statuses[response.status_code] += 1
        label = f"{write.method} {write.path} as {write.username}"
        if response.status_code != write.expected:
            run.failures[label] = (
                f"expected {write.expected}, got {response.status_code}: {response.text[:400]}"
            )
            continue
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, FailureGroup) as exc:
            run.failures[label] = _describe(case, response, exc)
    return run


def _unknown_token_run(operations: list[Any]) -> RoleRun:
    """Every operation with a token that does not exist: the documented 401, nothing else."""
    run = RoleRun("unknown_token")
    for operation in operations:
        run.operations += 1
        _run_mode(operation, GenerationMode.POSITIVE, "not-a-token", None, run, max_examples=1)
    unexpected = {code: n for code, n in run.statuses.items() if code != 401}
    if unexpected:
        run.failures["unknown token"] = f"expected only 401, got {unexpected}"
    return run


@pytest.mark.django_db
def test_every_operation_with_three_roles_has_no_server_error_and_matches_its_schema(
    demo_trial, keep_connection, unthrottled, capsys
):
    schema = _load_schema()
    operations = [r.ok() for r in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.path, op.method))
    assert len(operations) > 100, "the schema lost operations"
    paths = [op.path for op in operations]
    runs: list[RoleRun] = []
    for role, key in _tokens().items():
        run = RoleRun(role)
        ids = _existing_ids(schema.app, paths, key)
        for operation in operations:
            if (operation.method.upper(), operation.path) in EXCLUDED:
                continue
            run.operations += 1
            existing = ids.get(operation.path.split("{id}")[0])
            # Invalid input is refused the same way whoever sends it: negative mode once, as the data manager.
            _run_operation(operation, key, existing, run, negative=role == "data_manager")
        runs.append(run)
    runs.append(_unknown_token_run(operations))
    runs.append(_valid_writes_run(schema))
    with capsys.disabled():
        print()
        for run in runs:
            print(run.summary())
        for (method, path), reason in EXCLUDED.items():
            print(f"schemathesis excluded {method} {path}: {reason}")
    writes = runs[-1]
    assert (
        writes.operations >= 5 and sum(n for code, n in writes.statuses.items() if code < 300) == writes.cases
    )
    for run in runs[:-2]:  # the run reached real data and every operation, for every role
        assert run.operations == len(operations) - len(EXCLUDED) and run.statuses[200] > 0, run.summary()
    report = "\n\n".join(
        f"[{run.role}] {sig}\n{detail}" for run in runs for sig, detail in run.failures.items()
    )
    assert not report, report


@pytest.mark.django_db
def test_the_throttle_answers_429_as_documented(coordinator, data_manager, keep_connection, monkeypatch):
    """Past its rate a token gets 429 with Retry-After, in the documented problem-details shape."""
    from django.core.cache import cache

    from exports.permissions import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "get_rate", lambda self: "3/hour")
    cache.clear()
    schema = _load_schema()
    operation = schema["/api/v1/export/participants/"]["get"]
    key = _token_for(coordinator.username, issuer=data_manager.username)
    responses = []
    for _ in range(4):
        case = operation.Case(headers={"Authorization": f"Token {key}"}, query={})
        responses.append((case, _call(case)))
    assert [r.status_code for _, r in responses] == [200, 200, 200, 429]
    case, throttled = responses[-1]
    case.validate_response(throttled, checks=CHECKS)
    headers = {name.lower(): value for name, value in throttled.headers.items()}
    retry_after = headers["retry-after"]
    assert int(retry_after[0] if isinstance(retry_after, list) else retry_after) > 0
    assert throttled.json()["status"] == 429
