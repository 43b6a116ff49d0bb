"""Any one-character change to a valid token or request is refused, never served."""

from __future__ import annotations

from sandbox_support import Caller

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _flip(text: str, index: int) -> str:
    ch = text[index]
    if ch == ".":
        return text[:index] + "A" + text[index + 1 :]
    return text[:index] + ALPHABET[(ALPHABET.index(ch) + 1) % 64] + text[index + 1 :]


def test_every_position_of_the_token_is_protected(caller: Caller) -> None:
    target = "/v1/customers?limit=10"
    for index in range(0, 700, 3):
        token = caller.token("GET", target)
        if index >= len(token):
            break
        response = caller.send("GET", target, token=_flip(token, index))
        assert response.status_code == 401, (index, response.text)
        assert response.json()["error"]["code"] in {
            "malformed_token",
            "unsupported_algorithm",
            "unknown_signing_key",
            "invalid_signature",
        }


def test_changing_the_request_after_signing_is_refused(caller: Caller) -> None:
    body = b'{"name":"Ada"}'
    token = caller.token("POST", "/v1/customers?x=1", body)
    for method, target, sent in (
        ("PUT", "/v1/customers?x=1", body),
        ("POST", "/v1/customers?x=2", body),
        ("POST", "/v1/customers?x=1", body + b" "),
    ):
        response = caller.send(method, target, sent, token=token)
        assert response.status_code == 401
    # The jti was recorded on the first (signature-valid) attempt: gone for good.
    replay = caller.send("POST", "/v1/customers?x=1", body, token=token)
    assert replay.json()["error"]["code"] == "replayed_jti"
    assert caller.send("POST", "/v1/customers?x=1", body).status_code == 201
