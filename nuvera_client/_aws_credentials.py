"""Owns the AWS Secrets Manager credential provider (the ``aws`` extra)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from nuvera_client._credential_base import (
    CachingCredentialProvider,
    Credentials,
    CredentialSourceError,
    checked,
)
from nuvera_client.errors import (
    ConfigurationError,
)

# botocore logs whole request and response bodies at DEBUG: a secret's value would
# reach the logs of anyone who turns DEBUG on for the root logger (issue 17).
_BOTOCORE_BODY_LOGGERS = ("botocore.parsers", "botocore.endpoint")
_SECRET_FIELDS = ("SecretString", "SecretBinary")


class _RedactSecretValues(logging.Filter):
    """Cut a botocore DEBUG record at the first secret field, keeping what precedes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cut = min(
            (i for i in (message.find(f'"{f}"') for f in _SECRET_FIELDS) if i >= 0),
            default=-1,
        )
        if cut >= 0:
            record.msg = message[:cut] + "[secret value redacted by nuvera_client]"
            record.args = None
        return True


_REDACT = _RedactSecretValues()


def guard_botocore_logs() -> None:
    """Keep secret values out of botocore's DEBUG body logs (idempotent)."""
    for name in _BOTOCORE_BODY_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


class _SecretsManagerClient(Protocol):
    """The one call of a boto3 ``secretsmanager`` client this module makes."""

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, object]:
        """Return the secret (``SecretString`` or ``SecretBinary``)."""
        ...


class AwsSecretsManagerCredentials(CachingCredentialProvider):
    """Credentials stored as one JSON secret in AWS Secrets Manager (extra ``aws``).

    The secret is ``{"api_key": "nvk_...", "private_key": "-----BEGIN ...",
    "passphrase": "..."}`` (``passphrase`` optional). Errors name the secret and
    the field, never a value.

    Args:
        secret_id: the secret's name or ARN.
        client: a boto3 ``secretsmanager`` client (default: a new one, from the
            usual AWS configuration; ``boto3`` is imported only then).
        refresh_interval: see
            [`CachingCredentialProvider`][nuvera_client.credentials.CachingCredentialProvider];
            with AWS rotation schedules, an hour is typical.
        region_name: the region for the default client.
        clock: see
            [`CachingCredentialProvider`][nuvera_client.credentials.CachingCredentialProvider].

    Raises:
        ConfigurationError: ``boto3`` is not installed (``pip install
            'nuvera-client[aws]'``) or no AWS region is configured.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        client: _SecretsManagerClient | None = None,
        refresh_interval: float | None = None,
        region_name: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(secret_id, str) or not secret_id:
            raise ConfigurationError("secret_id must be the secret's name or ARN")
        self.secret_id = secret_id
        guard_botocore_logs()
        self._client = client if client is not None else _boto3_client(region_name)
        super().__init__(refresh_interval=refresh_interval, clock=clock)

    def fetch(self) -> Credentials:
        """Read the secret and validate its fields."""
        where = f"AWS secret {self.secret_id!r}"
        try:
            response = self._client.get_secret_value(SecretId=self.secret_id)
        except Exception as exc:
            error = getattr(exc, "response", None)
            code = (
                error.get("Error", {}).get("Code") if isinstance(error, dict) else None
            )
            raise CredentialSourceError(
                f"cannot read {where} from AWS Secrets Manager: "
                f"{code or type(exc).__name__}"
            ) from exc
        data = _secret_json(response)
        if data is None:
            raise CredentialSourceError(
                f"{where} is not a JSON object: store "
                '{"api_key": ..., "private_key": ..., "passphrase": ...}'
            )
        for name in ("api_key", "private_key"):
            value = data.get(name)
            if not (isinstance(value, str) and value.strip()) and not (
                name == "private_key" and isinstance(value, dict)
            ):
                raise CredentialSourceError(
                    f"{where} has no {name!r} field (a non-empty string)"
                )
        passphrase = data.get("passphrase")
        if passphrase is not None and not isinstance(passphrase, str):
            raise CredentialSourceError(f"{where}: 'passphrase' must be a string")
        return checked(
            where,
            data["api_key"],  # type: ignore[arg-type]
            data["private_key"],  # type: ignore[arg-type]
            passphrase or None,
        )

    def __repr__(self) -> str:
        return f"AwsSecretsManagerCredentials({self.secret_id!r})"


def _boto3_client(region_name: str | None) -> _SecretsManagerClient:
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise ConfigurationError(
            "AwsSecretsManagerCredentials needs boto3: pip install "
            "'nuvera-client[aws]' (or pass client=)"
        ) from None
    try:
        return boto3.client("secretsmanager", region_name=region_name)
    except botocore.exceptions.NoRegionError:
        raise ConfigurationError(
            "no AWS region for Secrets Manager: pass region_name= or set AWS_REGION"
        ) from None


def _secret_json(response: Mapping[str, object]) -> dict[str, object] | None:
    text = response.get("SecretString")
    if text is None:
        binary = response.get("SecretBinary")
        if isinstance(binary, (bytes, bytearray)):
            try:
                text = bytes(binary).decode("utf-8")
            except UnicodeDecodeError:
                return None
    if not isinstance(text, str):
        return None
    # Parse outside any except clause: a JSON error holds the whole document.
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return data if isinstance(data, dict) else None
