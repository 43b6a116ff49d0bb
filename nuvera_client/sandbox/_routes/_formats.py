"""Owns the JSON Schema ``format`` checks the sandbox shares with docs/openapi.yaml.

The published schema says ``format: email``; the sandbox checks exactly that, with
the same validator schema tools use (``jsonschema-rs``: RFC 5321 mailboxes, ASCII,
quoted local parts and domain literals allowed), instead of a regular expression
of its own that disagreed with the schema both ways.
"""

from __future__ import annotations

from functools import lru_cache

import jsonschema_rs


@lru_cache(maxsize=1)
def _email_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(
        {"type": "string", "format": "email"}, validate_formats=True
    )


def is_email(value: str) -> bool:
    """Return whether ``value`` is valid for ``{"format": "email"}``."""
    return bool(_email_validator().is_valid(value))
