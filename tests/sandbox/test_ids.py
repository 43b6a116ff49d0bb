"""Object and request ids: base62, unique, drawn from a CSPRNG pool a fork empties."""

from __future__ import annotations

import os
import warnings

import pytest

from nuvera_client.sandbox._encoding import BASE62
from nuvera_client.sandbox._ids import POOL_BYTES, new_id, random_base62


def test_ids_are_base62_of_the_length_asked_and_never_repeat() -> None:
    # Several refills of the pool: ids stay distinct across them.
    count = 3 * POOL_BYTES // 24
    ids = [new_id("req_") for _ in range(count)]
    assert len(set(ids)) == count
    for value in ids:
        assert value.startswith("req_")
        assert len(value) == 4 + 24
        assert set(value[4:]) <= set(BASE62)
    long_id = new_id("x_", POOL_BYTES)  # longer than one pool: still served
    assert len(long_id) == 2 + POOL_BYTES
    assert set(long_id[2:]) <= set(BASE62)


def test_random_base62_is_not_drawn_from_the_pool() -> None:
    assert len(random_base62(32)) == 32
    assert random_base62(32) != random_base62(32)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    new_id("req_")  # the pool now holds bytes a child would inherit
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() beside other threads; the child only
        # draws an id and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write_end, new_id("req_").encode("ascii"))
        finally:
            os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 64).decode("ascii")
    os.close(read_end)
    os.waitpid(pid, 0)
    assert child_id.startswith("req_")
    assert child_id != new_id("req_")
