"""The rules that set a surviving mutant aside as equivalent (tests/proof/mutation.py).

A rule too broad would hide a missing test, so each is checked both ways: the
equivalent change is recognised, a change of behaviour next to it is not.
"""

from __future__ import annotations

import os
import re

import pytest

from proof.mutation import EQUIVALENT, MODULES, equivalent_reason
from proof.mutation_order import pytest_collection_modifyitems

VERIFY = "nuvera_client/sandbox/_verify.py"


def _diff(before: str, after: str) -> str:
    return f"--- a\n+++ b\n@@ -1 +1 @@\n-    {before}\n+    {after}\n"


@pytest.mark.parametrize(
    ("module", "name", "before", "after"),
    [
        (
            VERIFY,
            "m.x__record_jti__mutmut_1",
            '"SELECT keep_until FROM replay_store WHERE jti = ? AND x = ?",',
            '"select keep_until from replay_store where jti = ? and x = ?",',
        ),
        (
            "nuvera_client/_api_key.py",
            "m.x_checksum__mutmut_8",
            'return base62(zlib.crc32(body.encode("ascii")), _CHECK_LENGTH)',
            'return base62(zlib.crc32(body.encode("ASCII")), _CHECK_LENGTH)',
        ),
        (
            VERIFY,
            "m.x__json_object__mutmut_4",
            'raise _Malformed("not unpadded base64url")',
            "raise _Malformed(None)",
        ),
        (
            "nuvera_client/_retry.py",
            "m.x__date_header__mutmut_4",
            'raw = response.headers.get("date")',
            'raw = response.headers.get("DATE")',
        ),
        (
            "nuvera_client/_auth.py",
            "m.x\u01c1NuveraAuth\u01c1_apply__mutmut_3",
            'headers["x-api-key"] = api_key',
            'headers["X-API-KEY"] = api_key',
        ),
    ],
)
def test_equivalent_changes_are_recognised(
    module: str, name: str, before: str, after: str
) -> None:
    assert equivalent_reason(module, name, _diff(before, after))


@pytest.mark.parametrize(
    ("module", "name", "before", "after"),
    [
        # A quoted SQL value is data: its case matters.
        (
            VERIFY,
            "m.x_verify_headers__mutmut_1",
            "\" AND s.kid = ? AND s.status = 'active'\"",
            "\" and s.kid = ? and s.status = 'ACTIVE'\"",
        ),
        # Prose is no SQL, even with "and" or "on" in it.
        (
            VERIFY,
            "m.x_check_permission__mutmut_1",
            'message="Send it on time and once."',
            'message="send it on time and once."',
        ),
        # An error handler name is case-sensitive, unlike a codec name.
        (
            VERIFY,
            "m.x_verify_headers__mutmut_2",
            'if claims["uri"].encode("utf-8", "surrogatepass") != req.raw_target:',
            'if claims["uri"].encode("utf-8", "SURROGATEPASS") != req.raw_target:',
        ),
        # The same change in another function is not covered by the rule.
        (
            VERIFY,
            "m.x_verify_headers__mutmut_3",
            'raise _Malformed("not unpadded base64url")',
            "raise _Malformed(None)",
        ),
        # A change outside the rule's group.
        (
            VERIFY,
            "m.x__header_object__mutmut_9",
            "if len(segment) <= _CACHED_HEADER_CHARS:",
            "if len(segment) <= None:",
        ),
        (
            "nuvera_client/_retry.py",
            "m.x__date_header__mutmut_5",
            'raw = response.headers.get("date")',
            'raw = response.headers.get("XXdateXX")',
        ),
    ],
)
def test_changes_of_behaviour_are_not_set_aside(
    module: str, name: str, before: str, after: str
) -> None:
    assert equivalent_reason(module, name, _diff(before, after)) is None


def test_rules_name_a_module_and_have_one_group() -> None:
    for suffix, function, pattern, reason in EQUIVALENT:
        assert any(module.endswith(suffix) for module in MODULES), suffix
        assert function
        assert reason
        assert re.compile(pattern).groups >= 1, pattern


class _Item:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid


def test_order_plugin_runs_files_in_the_given_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = ["t/b.py::1", "t/c.py::1", "t/a.py::1", "t/b.py::2"]
    items = [_Item(name) for name in names]
    monkeypatch.setenv("NUVERA_MUTATION_ORDER", os.pathsep.join(["t/a.py", "t/b.py"]))
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [
        "t/a.py::1",
        "t/b.py::1",
        "t/b.py::2",
        "t/c.py::1",
    ]
    monkeypatch.delenv("NUVERA_MUTATION_ORDER")
    pytest_collection_modifyitems(items[::-1])  # type: ignore[arg-type]
