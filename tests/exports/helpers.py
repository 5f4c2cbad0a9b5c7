"""Helpers for export tests: token clients, feed pulls, offline XML schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree
from rest_framework.test import APIClient

from exports import services
from tests import factories


def issue(data_manager: Any, user: Any, *, read_only: bool = True, label: str = "test") -> tuple[Any, str]:
    return services.token_issue(
        ctx=factories.ctx_for(data_manager), username=user.username, label=label, read_only=read_only
    )


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def pull_all(
    client: APIClient, resource: str, since: str = "0", page_size: int = 50
) -> tuple[list[dict], str]:
    """Follow next_cursor until has_more is false; returns (items, final cursor)."""
    items: list[dict] = []
    cursor = since
    while True:
        body = client.get(
            f"/api/v1/export/{resource}/changes/", {"since": cursor, "page_size": page_size}
        ).json()
        items.extend(body["results"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return items, cursor


class _NoNetwork(etree.Resolver):
    def resolve(self, url, pubid, context):
        if url.startswith(("http:", "https:", "ftp:")):
            raise ValueError(f"schema tried to fetch {url}")
        return None


def offline_schema(path: Path) -> etree.XMLSchema:
    """An XSD loaded with its includes from disk only: any attempt to fetch over the network fails."""
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_NoNetwork())
    return etree.XMLSchema(etree.parse(str(path), parser))
