"""Boundaries: where a secret key is read from.

``SecretsService`` picks the boundary from the key: ``NAME`` is an env var of the
environment, ``<prefix>:<name>`` goes to the reader registered for ``prefix``
(``provider_key`` is built in; the connected-entities app registers ``entity``).

A reader is ``reader(*, name: str, environment: Environment) -> str``: it returns the
plaintext or raises :class:`BoundaryError`. It must not log, cache or audit: the
caller audits every read, and the plaintext is registered for log redaction there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

_PREFIX = re.compile(r"\A[a-z][a-z0-9_]*\Z")


class BoundaryError(Exception):
    """A read was refused. ``reason`` is a short slug written to the audit row.

    Known reasons: ``missing``, ``disabled``, ``revoked``, ``decryption_failed``,
    ``no_permission``, ``unknown_scope``, ``unknown_boundary``, ``error``. The message
    names the key, never a value.
    """

    def __init__(self, reason: str, message: str = "", *, key_id: str | None = None) -> None:
        self.reason = reason
        self.key_id = key_id
        super().__init__(message or reason)


class Reader(Protocol):
    def __call__(self, *, name: str, environment) -> str: ...


_readers: dict[str, Callable[..., str]] = {}


def register(prefix: str, reader: Reader) -> None:
    """Route keys ``<prefix>:<name>`` to ``reader``. Registering a prefix twice replaces it."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"boundary prefix {prefix!r} must be a lowercase slug")
    _readers[prefix] = reader


def unregister(prefix: str) -> None:
    _readers.pop(prefix, None)


def resolve(key: str) -> tuple[str, str, Callable[..., str]]:
    """``key`` -> (boundary prefix, name inside the boundary, reader). ``""`` is the env-var boundary."""
    prefix, sep, name = key.partition(":")
    if not sep:
        from secrets_app.services.readers import ScopedEnvService

        return "", key, ScopedEnvService.get
    reader = _readers.get(prefix)
    if reader is None:
        raise BoundaryError("unknown_boundary", f"no boundary is registered for {prefix!r}")
    if not name:
        raise BoundaryError("missing", f"{key!r} names no secret")
    return prefix, name, reader
