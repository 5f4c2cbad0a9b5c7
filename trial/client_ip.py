"""The client address recorded for a request: X-Forwarded-For is believed only from trusted proxies.

``TRUSTED_PROXIES`` (env, comma-separated IPs or CIDRs, default empty) lists the reverse proxies in front of
the app. The address is REMOTE_ADDR unless that is a trusted proxy; then it is the right-most address of
X-Forwarded-For that is not a trusted proxy (entries left of it could be forged by the client).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def parse_networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Any, networks: tuple[Network, ...]) -> bool:
    return any(address in net for net in networks)


def client_ip(request: Any) -> str | None:
    """The recorded client address of `request` (None when there is no usable one)."""
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    networks = parse_networks(tuple(settings.TRUSTED_PROXIES))
    if remote is None or not _trusted(remote, networks):
        return remote.compressed if remote else None
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return remote.compressed  # garbage in the header: fall back to the proxy itself
        if not _trusted(address, networks):
            return address.compressed
    return remote.compressed
