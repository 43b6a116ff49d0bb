"""pytest plugin for mutation runs: run the selected test files in a fixed order.

mutmut passes each mutant's tests as a set, so in any order; with ``-x`` a mutant
is killed by the first failing test, and the direct-call tests, first in
``NUVERA_MUTATION_ORDER`` (``os.pathsep``-separated file paths), fail in
milliseconds where the HTTP tables take a second.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = [
        p for p in os.environ.get("NUVERA_MUTATION_ORDER", "").split(os.pathsep) if p
    ]
    if not order:
        return

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next((i for i, p in enumerate(order) if path.endswith(p)), len(order))

    items.sort(key=rank)
