"""``nuvera completion bash|zsh|fish``: generated from the parser, and working."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from nuvera_client._cli import build_parser
from nuvera_client._cli.completion import walk

BASH = shutil.which("bash")


def complete(script: str, *words: str) -> list[str]:
    """Ask the bash function for the completions of ``nuvera WORDS...``."""
    assert BASH is not None
    line = " ".join(["nuvera", *words])
    probe = (
        f"{script}\n"
        f"COMP_WORDS=(nuvera {' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words)}\nCOMP_LINE={line!r}\n"
        "_nuvera\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", probe],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [x for x in done.stdout.splitlines() if x]


@pytest.fixture(scope="module")
def bash_script() -> str:
    import contextlib
    import io

    from nuvera_client._cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["completion", "bash"]) == 0
    return buffer.getvalue()


def test_every_command_is_in_the_tree() -> None:
    paths = {node.path for node in walk(build_parser())}
    for path in ("/keys/generate", "/sandbox/app/create", "/sandbox/serve", "/doctor"):
        assert path in paths
    assert "/completion" in paths


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_bash_completes_commands_options_and_choices(bash_script: str) -> None:
    assert "sandbox" in complete(bash_script, "")
    assert complete(bash_script, "sa") == ["sandbox"]
    assert set(complete(bash_script, "sandbox", "app", "")) >= {
        "create",
        "list",
        "permissions",
    }
    assert "--verbose" in complete(bash_script, "sandbox", "serve", "--")
    assert "--permissions" in complete(bash_script, "sandbox", "app", "create", "--p")
    assert set(complete(bash_script, "completion", "")) == {
        "bash",
        "zsh",
        "fish",
        "-h",
        "--help",
    }
    assert complete(bash_script, "keys", "generate", "--bits", "") == [
        "2048",
        "3072",
        "4096",
    ]
    assert complete(bash_script, "doctor", "--format", "j") == ["json"]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_zsh_script_wraps_the_bash_function(bash_script: str, capsys) -> None:
    from nuvera_client._cli import main

    assert main(["completion", "zsh"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == "autoload -U +X bashcompinit && bashcompinit"
    assert bash_script in out


def test_fish_script_names_every_command(capsys) -> None:
    from nuvera_client._cli import main

    assert main(["completion", "fish"]) == 0
    out = capsys.readouterr().out
    assert "complete -c nuvera -n 'test (__nuvera_path) = nuvera/sandbox/app' -a" in out
    assert "-l verbose" in out
    assert "-l bits -x -a '2048 3072 4096'" in out
    fish = shutil.which("fish")
    if fish:
        subprocess.run([fish, "--no-execute", "-c", out], check=True, timeout=30)


def test_unknown_shell_is_a_usage_error(capsys) -> None:
    from nuvera_client._cli import main

    with pytest.raises(SystemExit) as info:
        main(["completion", "powershell"])
    assert info.value.code == 2
