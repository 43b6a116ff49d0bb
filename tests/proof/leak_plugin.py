"""Pytest plugin for the leak scan's suite run (``-p proof.leak_plugin``).

Some tests store secrets in moto's Secrets Manager with boto3 directly, as a user's
set-up script would, before any SDK object exists; botocore logs those request
bodies at DEBUG. The SDK's guard (installed by ``AwsSecretsManagerCredentials``) is
installed from the start, so the scan judges the SDK's logs, not the set-up's.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    try:
        from nuvera_client._aws_credentials import guard_botocore_logs
    except ImportError:  # pragma: no cover - the module was renamed
        return
    guard_botocore_logs()
