"""The envelope: AES-256-GCM with the key id and context bound in.

Token format (text, one for every encrypted column)::

    pv1:<key id, 12 hex>:<base64url(nonce(12) || ciphertext || tag(16)), no padding>

The associated data is ``pv1:<key id>:<context>``: a token only decrypts under
the key it names *and* in the place (``app_label.Model.field``, or a named
context such as ``reveal-store``) it was written for.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from platos.keys import Keyring

VERSION = "pv1"
NONCE_BYTES = 12
TAG_BYTES = 16
_PREFIX = VERSION + ":"
_TOKEN = re.compile(r"\Apv1:([0-9a-f]{12}):([A-Za-z0-9_-]+)\Z")


class DecryptionError(Exception):
    """A token could not be decrypted. Names key id and context; never key or plaintext."""

    def __init__(self, reason: str, *, keyring: str, context: str, key_id: str | None = None):
        self.reason = reason
        self.keyring = keyring
        self.context = context
        self.key_id = key_id
        super().__init__(
            f"cannot decrypt ({reason}): keyring={keyring} context={context} "
            f"key_id={key_id or 'unknown'}"
        )


class EncryptionUnavailable(Exception):
    """The keyring asked for is not configured (only possible outside a normal boot)."""


def get_keyring(name: str) -> Keyring:
    from django.conf import settings  # late: this module is also imported by settings-free tools

    try:
        return settings.PLATOS_KEYRINGS[name]
    except KeyError:
        raise EncryptionUnavailable(f"no keyring named {name!r} is configured") from None


@lru_cache(maxsize=64)
def _cipher(key_id: str, raw: bytes) -> AESGCM:
    # Keyed by (id, bytes) so a re-configured keyring in tests never hits a stale cipher.
    return AESGCM(raw)


def _aad(key_id: str, context: str) -> bytes:
    return f"{_PREFIX}{key_id}:{context}".encode()


def is_token(value: object) -> bool:
    """True when ``value`` has the shape of one of our envelopes (not that it decrypts)."""
    return isinstance(value, str) and value.startswith(_PREFIX) and bool(_TOKEN.match(value))


def token_key_id(value: str) -> str | None:
    """The key id an envelope names, or None for anything that is not an envelope."""
    m = _TOKEN.match(value) if isinstance(value, str) else None
    return m.group(1) if m else None


def encrypt(value: str, *, keyring: str, context: str) -> str:
    """Encrypt text under the keyring's write key, bound to ``context``."""
    if not isinstance(value, str):
        raise TypeError(f"encrypt() takes str, not {type(value).__name__}")
    key = get_keyring(keyring).write
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(key.id, key.material.reveal()).encrypt(
        nonce, value.encode("utf-8", "surrogatepass"), _aad(key.id, context)
    )
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{_PREFIX}{key.id}:{body}"


def decrypt(token: str, *, keyring: str, context: str) -> str:
    """Decrypt an envelope. Any failure raises DecryptionError, nothing else."""
    ring = get_keyring(keyring)
    m = _TOKEN.match(token) if isinstance(token, str) else None
    if m is None:
        raise DecryptionError("not an envelope", keyring=keyring, context=context)
    kid, body = m.groups()
    key = ring.keys.get(kid)
    if key is None:
        raise DecryptionError("key id not configured", keyring=keyring, context=context, key_id=kid)
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("malformed body", keyring=keyring, context=context, key_id=kid) from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("truncated", keyring=keyring, context=context, key_id=kid)
    try:
        plain = _cipher(key.id, key.material.reveal()).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(kid, context)
        )
    except InvalidTag:
        raise DecryptionError(
            "authentication failed (tampered, wrong context or wrong key)",
            keyring=keyring,
            context=context,
            key_id=kid,
        ) from None
    try:
        return plain.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # only reachable if someone encrypted non-UTF-8 by hand
        raise DecryptionError("not text", keyring=keyring, context=context, key_id=kid) from None
