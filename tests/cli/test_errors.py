"""Expected errors: one line on stderr, the right exit code, never a traceback."""

from __future__ import annotations

import pytest

from .conftest import run_subprocess


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["sign", "POST", "/v1/customers", "--data", "@/nonexistent/body"], 2, "body"),
        (["sign", "POST", "/v1/documents", "--file", "file=@/nonexistent/f"], 2, "/f"),
        (["sign", "POST", "/v1/documents", "--file", "file=nopath"], 2, "FIELD=@PATH"),
        (["sign", "POST", "/v1/documents", "--form", "novalue"], 2, "FIELD=VALUE"),
        (["sign", "GET", "/v1/customers", "--ttl", "61"], 2, "ttl"),
        (["sign", "GET", "ftp://example.com/x"], 2, "http(s)"),
        (["request", "GET", "/customers", "--query", "novalue"], 2, "K=V"),
        (
            ["request", "GET", "/customers", "--private-key", "/nonexistent.pem"],
            2,
            "cannot read",
        ),
        (
            ["rotate", "plan", "--check", "--new-private-key", "/nonexistent.pem"],
            2,
            "nonexistent",
        ),
        (["keys", "inspect", "/nonexistent.pem"], 2, "nonexistent"),
        (["config", "show", "--profile", "missing"], 2, "no profile 'missing'"),
        (
            [
                "config",
                "set",
                "--profile",
                "bad name!",
                "--base-url",
                "http://127.0.0.1:1",
            ],
            2,
            "profile name",
        ),
        (["config", "set", "--base-url", "http://example.com"], 2, "plain http"),
    ],
)
def test_expected_errors(cli, app_env, argv, code, needle):
    result = cli(*argv)
    assert result.code == code, result.err
    assert needle in result.err
    assert "Traceback" not in result.err
    assert result.err.startswith("nuvera: ")


def test_subprocess_error_has_no_traceback(app_env):
    result = run_subprocess(
        ["request", "GET", "/customers", "--private-key", "/nope.pem"]
    )
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err


def test_config_set_with_nothing_to_set(cli):
    result = cli("config", "set")
    assert result.code == 2
    assert "nothing to set" in result.err
