"""Boundaries: where a secret key is read from.

``SecretsService`` picks the boundary from the key: ``NAME`` is an env var of the
environment, ``<prefix>:<name>`` goes to the reader registered for ``prefix``
(``provider_key`` is built in; the connected-entities app registers ``entity``).

A reader is ``reader(*, name: str, environment: Environment) -> str``: it returns the
plaintext or raises :class:`BoundaryError`. It must not log, cache or audit: the
caller audits every read, and the plaintext is registered for log redaction there.

This module imports nothing of the store: the env-var boundary (prefix ``""``) is
registered by ``secrets_app.services.readers`` like any other, so the registry and
the readers do not import each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from platos.core.errors import ApplicationError

ENV_VAR = ""  # the boundary of a bare ``NAME``: the environment's own variables
_PREFIX = re.compile(r"\A[a-z][a-z0-9_]*\Z")


class BoundaryError(ApplicationError):
    """A read was refused. ``reason`` is a short slug written to the audit row.

    Known reasons: ``missing``, ``disabled``, ``revoked``, ``decryption_failed``,
    ``no_permission``, ``unknown_scope``, ``unknown_boundary``, ``error``. The message
    names the key, never a value. The API answers 409 ``{"detail": message, "code": reason}``.
    """

    status_code = 409

    def __init__(self, reason: str, message: str = "", *, key_id: str | None = None) -> None:
        self.reason = reason
        self.code = reason
        self.key_id = key_id
        super().__init__(message or reason)


class Reader(Protocol):
    def __call__(self, *, name: str, environment) -> str: ...


_readers: dict[str, Callable[..., str]] = {}


def register(prefix: str, reader: Reader) -> None:
    """Route keys ``<prefix>:<name>`` (bare ``NAME`` for ``ENV_VAR``) to ``reader``.

    Registering a prefix twice replaces it.
    """
    if prefix != ENV_VAR and not _PREFIX.match(prefix):
        raise ValueError(f"boundary prefix {prefix!r} must be a lowercase slug")
    _readers[prefix] = reader


def unregister(prefix: str) -> None:
    _readers.pop(prefix, None)


def resolve(key: str) -> tuple[str, str, Callable[..., str]]:
    """``key`` -> (boundary prefix, name inside the boundary, reader). ``""`` is the env-var boundary."""
    prefix, sep, name = key.partition(":")
    if not sep:
        prefix, name = ENV_VAR, key
    reader = _readers.get(prefix)
    if reader is None:
        raise BoundaryError("unknown_boundary", f"no boundary is registered for {prefix!r}")
    if sep and not name:
        raise BoundaryError("missing", f"{key!r} names no secret")
    return prefix, name, reader
