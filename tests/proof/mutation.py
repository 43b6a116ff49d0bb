"""Mutation testing of the security core with mutmut, each module against its own tests.

The module list is :data:`MODULES` (edit it when a module is renamed). Each module
is mutated in a scratch copy of the repository, so the work tree is never touched.
Survivors are split into *equivalent* mutants (:data:`EQUIVALENT`, each with the
reason no test can tell it from the original; SQL strings and codec names whose case
alone changed) and the others, each a missing test. The score leaves the equivalent
mutants out: killed / (mutants - equivalent).

    python -m proof.mutation                 # all modules
    python -m proof.mutation _retry.py       # the modules whose path ends so
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SURVIVORS = "tests/unit/test_mutation_survivors.py"
# Each module's own deterministic tests, the fastest first (pytest stops at the
# first failure, and proof.mutation_order runs the files in this order). The
# hypothesis suites (tests/properties, tests/sandbox/test_fuzz.py) would multiply
# the run time by ten for each mutant.
MODULES: dict[str, list[str]] = {
    "nuvera_client/sandbox/_verify.py": [
        "tests/sandbox/test_verify_direct.py",
        "tests/sandbox/test_key_cache.py",
        "tests/sandbox/test_replay_memory.py",
        "tests/sandbox/test_verify_bounds.py",
        "tests/sandbox/test_verification_table.py",
        "tests/sandbox/test_tampering.py",
    ],
    "nuvera_client/_signer.py": [
        "tests/unit/test_signer_exact.py",
        "tests/unit/test_signer.py",
        SURVIVORS,
        "tests/unit/test_vectors.py",
    ],
    "nuvera_client/_api_key.py": ["tests/unit/test_api_key.py", SURVIVORS],
    "nuvera_client/_body.py": [
        "tests/unit/test_body_exact.py",
        "tests/unit/test_body.py",
    ],
    "nuvera_client/_retry.py": [
        "tests/unit/test_retry_decisions.py",
        "tests/unit/test_retry.py",
        SURVIVORS,
    ],
    "nuvera_client/_auth.py": [
        "tests/unit/test_auth_exact.py",
        SURVIVORS,
        "tests/unit/test_auth.py",
    ],
}
# Extra pytest arguments per module. The loopback half of the verification table
# sends the same requests to the same verifier over uvicorn: four fifths of the
# run time, for the transport, which _verify.py does not own.
MODULE_ARGS: dict[str, list[str]] = {
    "nuvera_client/sandbox/_verify.py": ["-k", "not loopback"],
}
# Mutants per module in the last run: the biggest starts first.
MUTANTS_HINT = {
    "_verify.py": 595,
    "_signer.py": 267,
    "_retry.py": 205,
    "_api_key.py": 169,
    "_auth.py": 145,
    "_body.py": 134,
}
# Plugins no selected test needs cost time in every mutant's pytest run.
PYTEST_ARGS = [
    *("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest"),
    *("-p", "no:respx", "-p", "no:platformdirs", "-p", "no:nuvera"),
    *("-p", "proof.mutation_order"),
]

# Surviving mutants no test can kill, because the program cannot tell them apart
# from the original: (module suffix, function, pattern, why). A survivor is one of
# them when its one changed line, before and after, fully matches ``pattern`` and
# the two differ only inside the pattern's group. docs/proof.md lists them.
EQUIVALENT: list[tuple[str, str, str, str]] = [
    *(
        (
            "sandbox/_verify.py",
            function,
            r"raise _Malformed\((.*)\)( from exc)?",
            "the text of a parse error is never shown: every _Malformed becomes "
            "malformed_token",
        )
        for function in ("_no_duplicates", "_reject_constant", "_json_object")
    ),
    (
        "sandbox/_verify.py",
        "_header_object",
        r"if len\(segment\) (<=|<) _CACHED_HEADER_CHARS:",
        "the cache only saves time: a 512-character header segment is parsed "
        "alike in or out of it",
    ),
    (
        "sandbox/_verify.py",
        "_kid_named",
        r'header = _header_object\(token\.split\("\.",( 1| 2| )\)\[0\]\)',
        "the first part of a split does not depend on how many splits follow",
    ),
    (
        "sandbox/_verify.py",
        "_query_key_row",
        r'"( s\.public_key_pem| S\.PUBLIC_KEY_PEM)"',
        "a column of the lookup's SELECT, split over lines: SQLite reads "
        "identifiers case-insensitively",
    ),
    (
        "sandbox/_verify.py",
        "KeyLookup.__init__",
        r'self\._stamp: tuple\[int, int\] \| None = (None|"")',
        "a stamp is a tuple of two ints: any other start value differs from the "
        "first one read, which clears the cache (empty then) and takes its place",
    ),
    (
        "sandbox/_verify.py",
        "KeyLookup.get",
        r"version = (0|1|None)",
        "without a state file shared with other connections the version is a "
        "constant: only a change of the stamp matters, and it never changes",
    ),
    (
        "sandbox/_verify.py",
        "_record_jti",
        r"return (False|True)  # check 11 refuses it; nothing worth remembering",
        "a token whose jti is malformed is refused as malformed_token (check 11) "
        "before the replay flag is read (check 15)",
    ),
    (
        "sandbox/_verify.py",
        "_record_jti",
        r"if expired or keep_until (>|>=) row\[0\]:",
        "on equality the update writes the value already stored",
    ),
    (
        "sandbox/_verify.py",
        "ReplayMemory.record",
        r"if keep_until (>|>=) stored:",
        "on equality the entry is set to the value it already holds",
    ),
    (
        "sandbox/_verify.py",
        "verify_headers",
        r'" (s\.public_key_pem|S\.PUBLIC_KEY_PEM)"',
        "SQL keywords and column names are case-insensitive (a line of the key "
        "lookup's SELECT)",
    ),
    (
        "sandbox/_verify.py",
        "_check_claims",
        r"if not typed or not isinstance\(iat, int\) (or|and) not isinstance\(exp, "
        r"int\):",
        "typed already requires both to be integers; the isinstance calls only "
        "narrow the types for mypy",
    ),
    *(
        (
            "_retry.py",
            function,
            pattern,
            "httpx.Headers looks header names up case-insensitively",
        )
        for function, pattern in (
            ("_date_header", r'raw = response\.headers\.get\("(date|DATE)"\)'),
            (
                "RetryPolicy.decide",
                r"wait = _retry_after\(response\.headers\.get\("
                r'"(retry-after|RETRY-AFTER)"\), now\)',
            ),
        )
    ),
    (
        "_api_key.py",
        "ApiKey.parse",
        r'what = "truncated" if len\(key\) (<|<=) KEY_LENGTH else "has extra '
        r'characters"',
        "the branch runs only when len(key) != KEY_LENGTH",
    ),
    (
        "_api_key.py",
        "ApiKey.parse",
        r"if not set\(tail\) (<=|<) _BASE62_SET:",
        "the 38-character tail cannot hold all 62 base62 characters, so a subset is "
        "always a proper one",
    ),
    (
        "_api_key.py",
        "ApiKey.__hash__",
        r"return hash\((self\.sha256|None)\)",
        "a constant hash keeps the contract (equal keys, equal hashes); only the "
        "speed of sets and dicts of keys changes",
    ),
    *(
        ("_body.py", "_hash_count", pattern, "no caller reads the length it returns")
        for pattern in (r"length = (0|1)", r"length (\+=|=|-=) len\(chunk\)")
    ),
    *(
        (
            "_body.py",
            "_install_spool",
            pattern,
            "httpx.Headers looks header names up case-insensitively",
        )
        for pattern in (
            r'if "(transfer-encoding|TRANSFER-ENCODING)" in request\.headers:',
            r'del request\.headers\["(transfer-encoding|TRANSFER-ENCODING)"\]',
            r'request\.headers\["(content-length|CONTENT-LENGTH)"\] = '
            r"str\(spool\.length\)",
        )
    ),
    (
        "_body.py",
        "_size",
        r"source\.seek\((0|1)\)",
        "every read of a file part seeks to its start first (MultipartBody.chunks)",
    ),
    (
        "_body.py",
        "abody_hash",
        r"if len\(content\) (<=|<) SPOOL_MEMORY_LIMIT:",
        "the same hash, computed on the event loop or in a worker thread",
    ),
    (
        "_body.py",
        "abody_hash",
        r"if _rereadable\((stream|None)\):",
        "the next branch hashes a re-readable body in a worker thread alike: "
        "body_hash() takes the same _hash_in_place() path",
    ),
    (
        "_body.py",
        "_module_of_request",
        r"root = type\(request\)\.__module__\.(partition\(\"\.\"\)|rpartition"
        r'\("\."\)|partition\("XX\.XX"\))\[0\]',
        "httpx and httpx2 set the __module__ of their public classes to the package "
        "name: there is no dot to split on",
    ),
    (
        "_body.py",
        "_module_of_request",
        r'return sys\.modules\.get\(root, ?(httpx|None|)\) if root == "httpx2" '
        r"else httpx",
        "a request of httpx2 means httpx2 is imported: the default is never used",
    ),
    (
        "_body.py",
        "_module_of_request",
        r'return sys\.modules\.get\(root, httpx\) if (root == "httpx2"|'
        r'\(root == "httpx2"\) or True) else httpx',
        'root is "httpx" or "httpx2", both imported: looking it up gives the '
        "request's own package either way",
    ),
    *(
        (
            "_auth.py",
            "NuveraAuth._apply",
            pattern,
            "httpx.Headers looks header names up case-insensitively",
        )
        for pattern in (
            r'headers\["(x-api-key|X-API-KEY)"\] = api_key',
            r'headers\["(authorization|AUTHORIZATION)"\] = f"Bearer \{token\}"',
            r'if not named and headers\.get\("(user-agent|USER-AGENT)", ""\)'
            r'\.startswith\("python-httpx"\):',
            r'headers\["(user-agent|USER-AGENT)"\] = '
            r"user_agent\(module_of\(request\)\)",
        )
    ),
    (
        "_auth.py",
        "NuveraAuth._apply",
        r'if not named and headers\.get\("user-agent", "(|XXXX)"\)'
        r'\.startswith\("python-httpx"\):',
        "without a User-Agent header neither default starts with python-httpx",
    ),
    (
        "_signer.py",
        "canonical_json",
        r'_jcs_ordered\(value\), separators=\(",", ":"\), ensure_ascii=(False|None)',
        "json.dumps reads ensure_ascii as a truth value: None is False",
    ),
    (
        "_signer.py",
        "_utf16_units",
        r'return key\.encode\("utf-16-be", ?(|"surrogatepass")\)',
        "a key holding a lone surrogate is refused alike: the sort fails instead of "
        "the final UTF-8 encoding, both inside the try that raises "
        "InvalidArgumentError",
    ),
]

# Upper case, as the original statements write them (prose says "and", "on").
_SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM|VALUES|SET|AND|JOIN|ON|PRAGMA)\b"
)
_QUOTED_SQL = re.compile(r"'[^']*'")


_LITERAL = re.compile(r"""(["'])([^"']*)\1""")


def _is_codec_case(before: str, after: str) -> bool:
    """Only the case of codec names (``"utf-8"``, ``"ascii"``) changed."""
    if before == after or before.lower() != after.lower():
        return False
    old, new = _LITERAL.findall(before), _LITERAL.findall(after)
    if len(old) != len(new):
        return False
    return all(
        a == b or _same_codec(a, b) for (_, a), (_, b) in zip(old, new, strict=True)
    )


def _same_codec(a: str, b: str) -> bool:
    try:
        return codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return False


def _is_sql_case(before: str, after: str) -> bool:
    """Only the case of an SQL string changed, outside its quoted literals.

    SQLite reads keywords and column names case-insensitively, so ``"SELECT a
    FROM t WHERE b = ? AND c = 1"`` and its lower-case form are the same
    statement; a quoted value (``'active'``) is data, and its case matters.
    """
    if before == after or before.lower() != after.lower() or not _SQL.search(before):
        return False
    return _QUOTED_SQL.findall(before) == _QUOTED_SQL.findall(after)


def _scratch_copy(dest: Path) -> None:
    # Tracked and untracked (not ignored) files: a test being written counts too.
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in files:
        if not name:
            continue
        source = ROOT / name.decode()
        if source.is_file():
            target = dest / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _configure(scratch: Path, module: str, tests: list[str]) -> None:
    pyproject = scratch / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    args = PYTEST_ARGS + MODULE_ARGS.get(module, [])
    text += (
        "\n[tool.mutmut]\n"
        f"source_paths = [{json.dumps(module)}]\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        f"pytest_add_cli_args = {json.dumps(args)}\n"
        'also_copy = ["tests/", "nuvera_client/", "docs/", "scripts/"]\n'
    )
    pyproject.write_text(text, encoding="utf-8")


def _mutmut(
    scratch: Path, *args: str, order: list[str] | None = None
) -> tuple[str, float]:
    """Run mutmut in ``scratch``; return its output and the CPU seconds it and all
    its mutant processes used (``wait4``: exact even when runs overlap)."""
    path = os.pathsep.join(
        p for p in (str(ROOT / "tests"), os.environ.get("PYTHONPATH")) if p
    )
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("mutmut")), *args],
            cwd=scratch,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "PYTHONWARNINGS": "ignore",
                # proof.mutation_order (in every mutant's pytest run) reads these.
                "PYTHONPATH": path,
                "NUVERA_MUTATION_ORDER": os.pathsep.join(order or []),
            },
        )
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0  # reaped above
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    return text, usage.ru_utime + usage.ru_stime


# One process reads every mutant's status and the diff of each one not killed
# (``mutmut show`` per survivor costs a second each).
_RESULTS_SCRIPT = """
import json
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files
out = {}
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for name, code in data.exit_code_by_key.items():
        status = status_by_exit_code[code]
        diff = "" if status == "killed" else get_diff_for_mutant(name, path=data.path)
        out[name] = [status, diff]
print(json.dumps(out))
"""


def _results(scratch: Path) -> dict[str, tuple[str, str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _RESULTS_SCRIPT],
        cwd=scratch,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return {k: (v[0], v[1]) for k, v in json.loads(proc.stdout).items()}


def _changed_lines(diff: str) -> tuple[list[str], list[str]]:
    lines = diff.splitlines()
    removed = [x[1:] for x in lines if x.startswith("-") and not x.startswith("---")]
    added = [x[1:] for x in lines if x.startswith("+") and not x.startswith("+++")]
    return removed, added


def _function(name: str) -> str:
    """``m.xǁCǁmeth__mutmut_3`` -> ``C.meth``; ``m.x_f__mutmut_1`` -> ``f``."""
    short = name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    if short.startswith("x\u01c1"):
        return short[2:].replace("\u01c1", ".")
    return short.removeprefix("x_")


def _outside(match: re.Match[str]) -> str:
    """The matched text with the first group cut out."""
    text = match.string
    return text[: match.start(1)] + text[match.end(1) :]


def equivalent_reason(module: str, name: str, diff: str) -> str | None:
    """Why a surviving mutant is equivalent (see :data:`EQUIVALENT`), or None."""
    removed, added = _changed_lines(diff)
    if len(removed) != 1 or len(added) != 1:
        return None
    before, after = removed[0].strip(), added[0].strip()
    function = _function(name)
    for suffix, func, pattern, reason in EQUIVALENT:
        if module.endswith(suffix) and function == func:
            old, new = re.fullmatch(pattern, before), re.fullmatch(pattern, after)
            if old and new and _outside(old) == _outside(new):
                return reason
    if _is_codec_case(before, after):
        return "codec names are case-insensitive ('ascii' is 'ASCII')"
    if _is_sql_case(before, after):
        return "SQL keywords and column names are case-insensitive"
    return None


def run_module(module: str, tests: list[str], children: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nuvera-mutmut-") as tmp:
        scratch = Path(tmp)
        _scratch_copy(scratch)
        _configure(scratch, module, tests)
        started = time.monotonic()
        log, cpu = _mutmut(scratch, "run", "--max-children", str(children), order=tests)
        statuses = _results(scratch)
        if any(v[0] == "not checked" for v in statuses.values()):
            # mutmut stopped before testing them (its clean or forced-fail run
            # failed, once seen under a load average of 3); it resumes where it
            # stopped, and a second failure is reported with mutmut's output.
            again, more = _mutmut(
                scratch, "run", "--max-children", str(children), order=tests
            )
            log, cpu = log + again, cpu + more
            statuses = _results(scratch)
        seconds = time.monotonic() - started
    survivors = {n: v for n, v in statuses.items() if v[0] != "killed"}
    equivalent: list[dict[str, str]] = []
    behaviour: list[dict[str, str]] = []
    for name, (status, diff) in sorted(survivors.items(), key=_by_number):
        removed, added = _changed_lines(diff)
        entry = {
            "mutant": name,
            "status": status,
            "diff": "\n".join(["-" + x for x in removed] + ["+" + x for x in added]),
        }
        reason = equivalent_reason(module, name, diff)
        if reason is not None and status == "survived":
            equivalent.append(entry | {"reason": reason})
        else:
            behaviour.append(entry)
    total = len(statuses)
    unchecked = sum(v[0] == "not checked" for v in statuses.values())
    killed = total - len(survivors)
    counted = total - len(equivalent)
    return {
        "module": module,
        "tests": tests,
        "mutants": total,
        "killed": killed,
        "equivalent": len(equivalent),
        "score": round(100 * killed / counted, 1) if counted else None,
        "survivors": [s["mutant"] for s in behaviour],
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "equivalent_mutants": equivalent,
        "survivor_diffs": behaviour,
        "log_tail": log[-2000:] if not total or unchecked else "",
    }


def _by_number(item: tuple[str, Any]) -> tuple[str, int]:
    base, _, number = item[0].rpartition("__mutmut_")
    return base, int(number) if number.isdigit() else 0


def run_all(
    modules: dict[str, list[str]], workers: int = 2, children: int | None = None
) -> list[dict[str, Any]]:
    """Run the modules in ``workers`` parallel mutmut runs of one child each.

    Each mutmut run does its fixed work (copy, mutant generation, the stats and
    clean runs of its tests) on one core, so two runs of one child keep both cores
    busier than one run of two children. The largest module goes first.
    """
    order = sorted(modules, key=lambda m: -MUTANTS_HINT.get(Path(m).name, 100))
    if children is None:
        children = 1 if workers > 1 else 2
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {m: pool.submit(run_module, m, modules[m], children) for m in order}
        return [futures[m].result() for m in modules]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="run the modules whose path ends so")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--children", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    chosen = {
        module: tests
        for module, tests in MODULES.items()
        if not args.only or any(module.endswith(name) for name in args.only)
    }
    results = run_all(chosen, args.workers, args.children)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
