"""No command prints the API key, the private key or a token unless asked."""

from __future__ import annotations

import re
import sys

import pytest

from .conftest import private_key_lines, run_subprocess

JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


@pytest.fixture
def scenario(app_env, tmp_path, other_key):
    from .conftest import write_pair

    new_private, _ = write_pair(tmp_path / "new", other_key, "new")
    body = tmp_path / "body.json"
    body.write_text('{"type": "individual", "name": "S", "email": "s@example.com"}')
    return [
        ["keys", "generate", "--bits", "2048", "--out", str(tmp_path / "gen")],
        ["keys", "inspect", str(app_env.private_key_file)],
        ["keys", "inspect", str(app_env.private_key_file), "--json"],
        ["sign", "POST", "/v1/customers", "--data", f"@{body}"],
        ["sign", "POST", "/v1/customers", "--data", f"@{body}", "--curl"],
        ["sign", "GET", "/v1/customers", "--format", "json", "--curl"],
        ["request", "POST", "/customers", "--data", f"@{body}"],
        ["request", "GET", "/customers", "--format", "json"],
        ["request", "POST", "/payments", "--json", "{}"],
        ["doctor"],
        ["doctor", "--json"],
        ["permissions", "for", "GET", "/v1/customers"],
        ["rotate", "plan", "--check", "--new-private-key", str(new_private)],
        ["config", "set", "--store-api-key"],
        ["config", "show"],
        ["config", "show", "--json"],
        ["permissions", "record", "--", sys.executable, "-c", "print('child')"],
    ]


def assert_clean(text: str, app) -> None:
    assert app.api_key not in text
    for line in private_key_lines(app.private_pem):
        assert line not in text
    assert not JWT.search(text), JWT.search(text)


def test_no_command_prints_a_secret(cli, app_env, scenario):
    for argv in scenario:
        result = cli(*argv)
        assert result.code in (0, 1), (argv, result.err)
        assert_clean(result.out + result.err, app_env)
        if argv[:2] == ["keys", "generate"]:
            generated = (app_env.private_key_file.parent.parent / "gen").glob(
                "*private*"
            )
            for path in generated:
                for line in private_key_lines(path.read_text()):
                    assert line not in result.out


def test_show_token_is_the_explicit_exception(cli, app_env):
    shown = cli("sign", "GET", "/v1/customers", "--show-token")
    assert JWT.search(shown.out)
    assert app_env.api_key not in shown.out


def test_subprocess_output_is_clean(app_env):
    for argv in (
        ["doctor"],
        ["sign", "GET", "/v1/customers", "--curl"],
        ["request", "GET", "/customers"],
    ):
        result = run_subprocess(argv)
        assert result.code == 0, (argv, result.err)
        assert_clean(result.out + result.err, app_env)
