"""The benchmark scripts still run: a small pass of bench_client's measurements.

Speeds are not asserted here (the scripts print ratios); what a run must show is.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nuvera_client._api_key import ApiKey

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench_client() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module("bench_client")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_async_run_makes_every_request_with_its_own_jti(
    bench_client: ModuleType, rsa_key: rsa.RSAPrivateKey
) -> None:
    api_key = ApiKey.generate("test")
    rate, distinct = anyio.run(bench_client.async_throughput, 60, rsa_key, api_key)
    assert distinct == 60
    assert rate > 0
    assert bench_client.LAST_CPU["loop"] > 0


def test_reference_and_sync_measurements_run(
    bench_client: ModuleType, rsa_key: rsa.RSAPrivateKey
) -> None:
    api_key = ApiKey.generate("test")
    assert anyio.run(bench_client.minimal_throughput, 30, rsa_key, api_key) > 0
    ours, floor = bench_client.cpu_per_request(20, rsa_key, api_key)
    assert ours > 0
    assert floor > 0
    single, cpu = bench_client.signing_floor(20, rsa_key)
    assert single > 0
    assert cpu > 0


def test_sandbox_load_check_runs_clean(tmp_path: Path) -> None:
    """A 2-second, 2-client pass of load_sandbox: no 5xx, nothing lost after SIGKILL."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        load_sandbox = importlib.import_module("load_sandbox")
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert load_sandbox.run(2.0, 2, tmp_path) == 0


def test_load_stack_benchmark_measures_every_variant() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        bench = importlib.import_module("bench_load_stack")
    finally:
        sys.path.remove(str(BENCHMARKS))
    results = bench.measure(40, 1)
    assert bench.BASELINE in results
    assert set(results) == set(bench.variants())
    assert all(len(v) == 1 and v[0] > 0 for v in results.values())
