"""The app around verification: success path, headers, body limits, idempotency,
rate limit, forms, streams, errors, transports."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sandbox_mint import mint, public_pem
from sandbox_support import ALL_PERMISSIONS, Caller, Clock, make_sandbox

from nuvera_client.sandbox import Sandbox
from nuvera_client.sandbox._handlers import Endpoint, Reply, RequestContext


def test_verified_request_succeeds_with_date_and_request_id(caller: Caller) -> None:
    response = caller.send("GET", "/v1/customers?email=a%40b.com&limit=10")
    assert response.status_code == 200, response.text
    assert response.json()["query"] == [["email", "a@b.com"], ["limit", "10"]]
    assert response.json()["app"] == caller.app.id
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["date"] == "Fri, 15 Jan 2027 08:00:00 GMT"


def test_bearer_scheme_is_case_insensitive(caller: Caller) -> None:
    token = caller.token("GET", "/v1/customers")
    response = caller.raw(
        "GET",
        "/v1/customers",
        [("x-api-key", caller.app.api_key), ("authorization", "bEaReR " + token)],
    )
    assert response.status_code == 200


def test_boundaries_of_the_clock_are_accepted(caller: Caller) -> None:
    now = caller.now()
    early = caller.token("GET", "/v1/customers", iat=now + 10, exp=now + 70)
    late = caller.token("GET", "/v1/customers", iat=now - 50, exp=now - 10)
    assert caller.send("GET", "/v1/customers", token=early).status_code == 200
    assert caller.send("GET", "/v1/customers", token=late).status_code == 200


def test_extra_claims_and_noncanonical_json_are_accepted(caller: Caller) -> None:
    now = caller.now()
    empty = hashlib.sha256(b"").hexdigest()
    payload = (
        '{ "uri": "/v1/customers", "method": "GET", "iss": "nuvera-api",'
        f' "aud": "nuvera-rest-api", "iat": {now}, "exp": {now + 60},'
        f' "jti": "{"x" * 16}", "body_hash": "{empty}", "extra": [1.5, null] }}'
    )
    token = mint(caller.key, kid=caller.kid, raw_payload=payload.encode())
    assert caller.send("GET", "/v1/customers", token=token).status_code == 200


def test_clock_offset_shifts_server_time(caller: Caller) -> None:
    caller.sandbox.clock_offset = 300
    assert caller.sandbox.clock_offset == 300
    stale = mint(
        caller.key,
        kid=caller.kid,
        payload={
            "iss": "nuvera-api",
            "aud": "nuvera-rest-api",
            "iat": int(caller.clock.t),
            "exp": int(caller.clock.t) + 30,
            "jti": "s" * 32,
            "method": "GET",
            "uri": "/v1/customers",
            "body_hash": hashlib.sha256(b"").hexdigest(),
        },
    )
    response = caller.send("GET", "/v1/customers", token=stale)
    assert response.json()["error"]["details"] == {
        "server_time": int(caller.clock.t) + 300
    }


def test_usage_is_counted_on_the_api_key(caller: Caller) -> None:
    caller.send("GET", "/v1/customers")
    caller.clock.t += 5
    caller.send("GET", "/v1/customers")
    caller.send("GET", "/v1/customers", api_key="")  # refused: not counted
    (key,) = caller.sandbox.get_application(caller.app.id).api_keys
    assert key.request_count == 2
    assert key.last_used_at == int(caller.clock.t)


def test_body_over_the_limit_is_413_after_verification(
    clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    sb = make_sandbox(clock, max_body_bytes=1000)
    app = sb.create_application(
        name="s", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    with httpx.Client(transport=sb.transport(), base_url="http://t") as client:
        c = Caller(sb, clock, client, app, rsa_key)
        body = b"x" * 5000
        too_big = c.send("POST", "/v1/customers", body)
        assert too_big.status_code == 413
        assert too_big.json()["error"]["details"] == {"max_bytes": 1000}
        # The whole body is still hashed: a wrong hash wins over the size.
        token = c.token("POST", "/v1/customers", b"y" * 5000)
        wrong = c.send("POST", "/v1/customers", body, token=token)
        assert wrong.json()["error"]["code"] == "body_hash_mismatch"
        assert wrong.json()["error"]["details"]["body_length"] == 5000
        # Unknown path: 404 comes before 413.
        assert c.send("POST", "/v1/nothing", body).status_code == 404
        assert c.send("POST", "/v1/customers", b"x" * 1000).status_code == 201
    sb.close()


def test_idempotent_replay_returns_the_stored_response(caller: Caller) -> None:
    key = [("idempotency-key", "order-1")]
    first = caller.send("POST", "/v1/payments", b'{"a":1}', extra=key)
    again = caller.send("POST", "/v1/payments", b'{"a":1}', extra=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    other = caller.send(
        "POST", "/v1/payments", b'{"a":1}', extra=[("idempotency-key", "o2")]
    )
    assert other.json()["count"] == 2  # the replay did not run the handler


def test_idempotency_keys_are_scoped_to_the_application(
    caller: Caller, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    key = [("idempotency-key", "shared")]
    caller.send("POST", "/v1/payments", b"{}", extra=key)
    app2 = caller.sandbox.create_application(
        name="b", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key_2)
    )
    other = Caller(caller.sandbox, caller.clock, caller.client, app2, rsa_key_2)
    response = other.send("POST", "/v1/payments", b'{"different":1}', extra=key)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


def test_idempotency_stores_4xx_but_not_5xx(caller: Caller) -> None:
    with caller.sandbox.store.transaction() as db:
        db.execute("CREATE TABLE IF NOT EXISTS t_writes (id TEXT)")
    key = [("idempotency-key", "k-422")]
    first = caller.send("POST", "/v1/support/tickets/t1/messages", b"{}", extra=key)
    assert first.status_code == 422
    assert first.json()["error"]["details"] == {"fields": {"subject": "required"}}
    again = caller.send("POST", "/v1/support/tickets/t1/messages", b"{}", extra=key)
    assert again.headers["idempotent-replayed"] == "true"
    # The refused handler's writes were rolled back.
    with caller.sandbox.store.transaction() as db:
        assert db.execute("SELECT count(*) FROM t_writes").fetchone()[0] == 0
    key = [("idempotency-key", "k-500")]
    boom = caller.send("POST", "/v1/support/tickets", b"{}", extra=key)
    assert boom.status_code == 500
    assert boom.json()["error"]["type"] == "api_error"
    assert "handler bug" not in boom.text
    boom2 = caller.send("POST", "/v1/support/tickets", b"{}", extra=key)
    assert boom2.status_code == 500
    assert "idempotent-replayed" not in boom2.headers


def test_idempotency_expires_after_24_hours(caller: Caller) -> None:
    key = [("idempotency-key", "day")]
    caller.send("POST", "/v1/payments", b"{}", extra=key)
    caller.clock.t += 24 * 3600
    response = caller.send("POST", "/v1/payments", b'{"new":1}', extra=key)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


def test_get_ignores_idempotency_key(caller: Caller) -> None:
    response = caller.send("GET", "/v1/customers", extra=[("idempotency-key", "")])
    assert response.status_code == 200


def test_rate_limit_answers_429_with_retry_after(
    clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    sb = make_sandbox(clock, rate_limit="2/s")
    app = sb.create_application(
        name="s", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    with httpx.Client(transport=sb.transport(), base_url="http://t") as client:
        c = Caller(sb, clock, client, app, rsa_key)
        assert c.send("GET", "/v1/customers").status_code == 200
        assert c.send("GET", "/v1/customers").status_code == 200
        limited = c.send("GET", "/v1/customers")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["error"] == {
            "type": "rate_limit_error",
            "code": "rate_limited",
            "message": limited.json()["error"]["message"],
            "request_id": limited.headers["x-request-id"],
            "details": {"retry_after": 1},
        }
        # A 429 is not stored: the same key runs again once there is room.
        key = [("idempotency-key", "rl")]
        assert c.send("POST", "/v1/payments", b"{}", extra=key).status_code == 429
        clock.t += 1
        retried = c.send("POST", "/v1/payments", b"{}", extra=key)
        assert retried.status_code == 201
        assert "idempotent-replayed" not in retried.headers
    sb.close()


def test_multipart_form_reaches_the_handler(caller: Caller) -> None:
    request = httpx.Request(
        "POST",
        "http://t/v1/documents",
        data={"customer_id": "cus_1"},
        files={"file": ("a.pdf", b"%PDF-1.4" * 100, "application/pdf")},
    )
    body = request.read()
    response = caller.send(
        "POST", "/v1/documents", body, content_type=request.headers["content-type"]
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"customer_id": "cus_1", "size": 800}


def test_broken_multipart_is_400(caller: Caller) -> None:
    response = caller.send(
        "POST",
        "/v1/documents",
        b"--x\r\nnot a part",
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("keep", [0.25, 0.6, 0.99])
def test_multipart_cut_inside_a_file_part_is_400(caller: Caller, keep: float) -> None:
    # Starlette drops a part the body's end cuts off without a word: the body has no
    # close delimiter, so it is malformed, not a form lacking its file (422).
    request = httpx.Request(
        "POST",
        "http://t/v1/documents",
        data={"customer_id": "cus_1"},
        files={"file": ("a.pdf", b"%PDF-1.4" * 100, "application/pdf")},
    )
    body = request.read()
    cut = body[: int(len(body) * keep)]
    assert body.index(b"%PDF") < len(cut) < body.rindex(b"--")
    response = caller.send(
        "POST", "/v1/documents", cut, content_type=request.headers["content-type"]
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert "closing boundary" in response.json()["error"]["message"]


def test_multipart_with_an_epilogue_is_served(caller: Caller) -> None:
    request = httpx.Request(
        "POST",
        "http://t/v1/documents",
        data={"customer_id": "cus_1"},
        files={"file": ("a.pdf", b"x" * 70_000, "application/pdf")},
    )
    body = request.read() + b"\r\nan epilogue, ignored"
    response = caller.send(
        "POST", "/v1/documents", body, content_type=request.headers["content-type"]
    )
    assert response.status_code == 201, response.text
    assert response.json() == {"customer_id": "cus_1", "size": 70_000}


def test_streamed_reply(caller: Caller) -> None:
    response = caller.send("GET", "/v1/documents/doc_1/content")
    assert response.content == b"abcdef"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers.get_list("content-length") == ["6"]


def test_handler_problem_is_rendered(caller: Caller) -> None:
    response = caller.send("POST", "/v1/support/tickets/t/close", b"")
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["details"] == {}


def test_head_on_a_get_endpoint_is_405(caller: Caller) -> None:
    response = caller.send("HEAD", "/v1/customers")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.anyio
async def test_async_transport(caller: Caller) -> None:
    token = caller.token("GET", "/v1/customers?x=%41")
    async with httpx.AsyncClient(
        transport=caller.sandbox.async_transport(), base_url="http://t"
    ) as client:
        response = await client.get(
            "/v1/customers?x=%41",
            headers={
                "x-api-key": caller.app.api_key,
                "authorization": f"Bearer {token}",
            },
        )
    assert response.status_code == 200, response.text


@pytest.mark.anyio
async def test_sync_transport_inside_a_running_loop(caller: Caller) -> None:
    assert caller.send("GET", "/v1/customers").status_code == 200


def test_loopback_raw_target_is_compared_byte_for_byte(
    sandbox: Sandbox, clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    app = sandbox.create_application(
        name="s", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    with sandbox.serve() as server, httpx.Client(base_url=server.base_url) as client:
        assert server.base_url.startswith("http://127.0.0.1:")
        c = Caller(sandbox, clock, client, app, rsa_key)
        target = "/v1/customers?email=a%40b.com&name=J%C3%BCrgen&sp=a+b&e="
        assert c.send("GET", target).status_code == 200
        response = c.send(
            "GET", target, token=c.token("GET", target.replace("%40", "@"))
        )
        assert response.json()["error"]["details"]["expected"] == target
        # uvicorn sends our Date only once.
        assert len(response.headers.get_list("date")) == 1


def test_state_never_echoes_secrets_in_errors(caller: Caller) -> None:
    token = caller.token("GET", "/v1/customers", iss="x")
    response = caller.send("GET", "/v1/customers", token=token)
    assert token not in response.text
    assert caller.app.api_key not in json.dumps(response.json())


def test_handlers_never_see_the_credentials(caller: Caller) -> None:
    seen: list[dict[str, str]] = []

    async def spy(ctx: RequestContext) -> Reply:
        seen.append(dict(ctx.headers))
        return Reply(200, {})

    sb = Sandbox(
        clock=caller.clock, endpoints=[Endpoint("GET", "/v1/spy", "CRYPTO_READ", spy)]
    )
    app = sb.create_application(
        name="s", permissions=["CRYPTO_READ"], public_key_pem=public_pem(caller.key)
    )
    with httpx.Client(transport=sb.transport(), base_url="http://t") as client:
        c = Caller(sb, caller.clock, client, app, caller.key)
        assert c.send("GET", "/v1/spy", extra=[("x-custom", "1")]).status_code == 200
    sb.close()
    assert seen[0]["x-custom"] == "1"
    assert "x-api-key" not in seen[0]
    assert "authorization" not in seen[0]


def test_method_is_compared_as_received_over_loopback(
    sandbox: Sandbox, clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    import socket

    app = sandbox.create_application(
        name="s", permissions=ALL_PERMISSIONS, public_key_pem=public_pem(rsa_key)
    )
    with sandbox.serve() as server, httpx.Client() as client:
        c = Caller(sandbox, clock, client, app, rsa_key)
        token = c.token("GET", "/v1/customers")
        request = (
            f"get /v1/customers HTTP/1.1\r\nHost: x\r\nx-api-key: {app.api_key}\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401")
    error = json.loads(body)["error"]
    assert error["code"] == "method_mismatch"
    assert "'get'" in error["message"]
