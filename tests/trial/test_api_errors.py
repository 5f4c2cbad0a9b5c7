"""One error shape (RFC 9457 problem details) on every API error; revoked or unknown tokens get 401 everywhere."""

from __future__ import annotations

import functools
import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import exceptions
from rest_framework.test import APIClient

from tests import factories
from tests.exports.helpers import issue, token_client
from trial.api_errors import PROBLEM_CONTENT_TYPE, problem_exception_handler

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith(PROBLEM_CONTENT_TYPE)
    body = response.json()
    assert set(body) >= PROBLEM_KEYS and body["status"] == status
    return body


@functools.cache
def operations() -> list[tuple[str, str]]:
    """(method, path with ids filled in) of every API operation in the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = []
    for path, item in schema["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return sorted(ops)


@pytest.mark.parametrize(
    "url,field",
    [
        ("/api/v1/export/visits/?planned_date_from=2024-02-30", "planned_date_from"),
        ("/api/v1/export/adverse-events/?changed_since=2024-13-45T00:00:00", "changed_since"),
        ("/api/v1/export/scans/?acquired_at_to=9999-12-31T23:59:59-23:59", "acquired_at_to"),
        ("/api/v1/export/participants/?include_voided=maybe", "include_voided"),
        ("/api/v1/export/participants/?page_size=abc", "page_size"),
        ("/api/v1/export/participants/?site=NL%0001", "site"),
        ("/api/v1/adverse-events/?drug=aspirin", "drug"),
        ("/api/v1/adverse-events/?serious=perhaps", "serious"),
        ("/api/v1/lesions/?participant=abc", "participant"),
        ("/api/v1/lesion-assessments/?participant=abc", "participant"),
        ("/api/v1/export/participants/?cursor=garbage", "cursor"),
    ],
)
def test_bad_query_parameters_are_400_problems_naming_the_field(url, field, data_manager):
    client = APIClient()
    client.force_authenticate(data_manager)
    body = assert_problem(client.get(url), 400)
    assert body["errors"][field] and all(isinstance(m, str) for m in body["errors"][field])


@pytest.mark.parametrize(
    "query", ["site=NL%0001", "planned_date_from=2024-02-30", "changed_since=9999-12-31T23:59:59-23:59"]
)
def test_csv_with_a_bad_filter_is_a_400_problem_before_any_streaming(query, data_manager):
    client = APIClient()
    client.force_authenticate(data_manager)
    response = client.get(f"/api/v1/export/visits/?format=csv&{query}")
    assert not getattr(response, "streaming", False)
    assert_problem(response, 400)


def test_not_found_forbidden_and_method_errors_share_the_shape(participant, sponsor, data_manager):
    client = APIClient()
    client.force_authenticate(data_manager)
    assert assert_problem(client.get("/api/v1/export/participants/999999/"), 404)["errors"] == {}
    client.force_authenticate(sponsor)
    assert_problem(client.post("/api/v1/adverse-events/", {}, format="json"), 403)  # the sponsor reads only
    assert_problem(client.delete(f"/api/v1/export/participants/{participant.pk}/"), 403)
    assert_problem(APIClient().get("/api/v1/export/participants/"), 401)


def test_service_validation_errors_keep_their_field_names_inside_errors(data_manager):
    client = APIClient()
    client.force_authenticate(data_manager)
    body = assert_problem(client.post("/api/v1/export/tokens/", {"username": "nobody"}, format="json"), 400)
    assert "No active user" in body["errors"]["username"][0]


def test_any_api_exception_is_rendered_as_a_problem():
    class Stale(exceptions.APIException):
        status_code = 409
        default_detail = "The record changed since you read it."

    response = problem_exception_handler(Stale(), {})
    assert response.status_code == 409
    assert response.data == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "The record changed since you read it.",
        "errors": {},
    }
    conflict = Stale()
    conflict.detail = {"detail": "Changed by bert.", "current_version": 2}
    body = problem_exception_handler(conflict, {}).data
    assert body["detail"] == "Changed by bert." and body["current_version"] == 2 and body["errors"] == {}
    throttled = problem_exception_handler(exceptions.Throttled(wait=30), {})
    assert throttled.status_code == 429 and throttled["Retry-After"] == "30"


def test_the_schema_documents_error_responses_with_the_problem_shape():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) >= PROBLEM_KEYS
    responses = schema["paths"]["/api/v1/export/participants/"]["get"]["responses"]
    for code in ("400", "401", "403", "429"):
        media = responses[code]["content"][PROBLEM_CONTENT_TYPE]["schema"]
        assert media == {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
def bad_keys(data_manager, sponsor) -> dict[str, str]:
    token, key = issue(data_manager, sponsor)
    from exports import services

    services.token_revoke(ctx=factories.ctx_for(data_manager), token=token, reason="left the study")
    return {"revoked": key, "unknown": "not-a-token-at-all"}


def test_revoked_and_unknown_tokens_get_401_with_www_authenticate_on_every_route(bad_keys):
    wrong = []
    assert len(operations()) > 40
    for kind, key in bad_keys.items():
        client = token_client(key)
        for method, path in operations():
            response = getattr(client, method)(path, {}, format="json")
            ok = response.status_code == 401 and response.get("WWW-Authenticate") == "Token"
            if not ok or response.json().get("status") != 401:
                wrong.append((kind, method, path, response.status_code))
    assert not wrong
