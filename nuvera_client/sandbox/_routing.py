"""Owns routing: request path and method to an endpoint (404 / 405), raw targets.

Path templates are PROTOCOL §5.1's (``/v1/customers/{id}``); a parameter matches one
path segment. The most literal template wins (``/a/b`` before ``/a/{id}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from nuvera_client.sandbox._handlers import Endpoint
from nuvera_client.sandbox._problems import problem

_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class _Resource:
    """All endpoints sharing one path template."""

    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    by_method: dict[str, Endpoint]


def _compile(endpoints: Iterable[Endpoint]) -> list[_Resource]:
    """Group endpoints by path template, most literal template first."""
    grouped: dict[str, dict[str, Endpoint]] = {}
    for endpoint in endpoints:
        grouped.setdefault(endpoint.path, {})[endpoint.method.upper()] = endpoint
    resources = []
    for template, by_method in grouped.items():
        regex = ""
        last = 0
        for match in _PARAM_RE.finditer(template):
            regex += re.escape(template[last : match.start()])
            regex += f"(?P<{match.group(1)}>[^/]+)"
            last = match.end()
        regex += re.escape(template[last:])
        literal = sum(1 for seg in template.split("/") if seg and "{" not in seg)
        resources.append(_Resource(template, re.compile(regex), literal, by_method))
    # The most literal template wins (``/a/b`` before ``/a/{id}``).
    resources.sort(key=lambda r: -r.literal_segments)
    return resources


def raw_target(scope: MutableMapping[str, Any]) -> bytes:
    """Return the request target as received: raw path, and ``?query`` if any."""
    raw_path = scope.get("raw_path")
    if raw_path is None:
        raw_path = scope["path"].encode("utf-8")
    # httpx's ASGITransport puts the query inside raw_path; uvicorn does not.
    raw_path = bytes(raw_path).split(b"?", 1)[0]
    query = scope.get("query_string", b"")
    return raw_path + b"?" + query if query else raw_path


class Router:
    """The endpoints of one app, compiled once."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self._resources = _compile(endpoints)

    def match(self, path: str, method: str) -> tuple[Endpoint, dict[str, str]]:
        """Return the endpoint for ``method path`` and its path parameters.

        Raises:
            ApiProblem: 404 ``not_found``, or 405 ``method_not_allowed`` with
                ``details.allowed_methods`` and an ``Allow`` header.
        """
        for resource in self._resources:
            match = resource.pattern.fullmatch(path)
            if match is None:
                continue
            endpoint = resource.by_method.get(method)
            if endpoint is None:
                allowed = sorted(resource.by_method)
                raise problem(
                    "method_not_allowed",
                    {"allowed_methods": allowed},
                    message=f"{path} accepts {', '.join(allowed)}.",
                    headers={"Allow": ", ".join(allowed)},
                )
            return endpoint, match.groupdict()
        raise problem("not_found", message=f"No endpoint at {path}.")
