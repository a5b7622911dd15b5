"""The envelope: AES-256-GCM with the key id and context bound in.

Token format (text, one for every encrypted column)::

    pv1:<key id, 12 hex>:<base64url(nonce(12) || ciphertext || tag(16)), no padding>

The associated data is ``pv1:<key id>:<context>``: a token only decrypts under
the key it names *and* in the place (``app_label.Model.field``, or a named
context such as ``reveal-store``) it was written for.
"""

from __future__ import annotations

import binascii
import os

from cryptography.exceptions import InvalidTag
from django.conf import settings

from platos.keys import Keyring

VERSION = "pv1"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_LEN = 12
_PREFIX = VERSION + ":"
_BODY_AT = len(_PREFIX) + KEY_ID_LEN + 1  # "pv1:" + 12 hex + ":"
_HEX = frozenset("0123456789abcdef")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


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
    try:
        return settings.PLATOS_KEYRINGS[name]
    except KeyError:
        raise EncryptionUnavailable(f"no keyring named {name!r} is configured") from None


def _aad(key_id: str, context: str) -> bytes:
    return f"{_PREFIX}{key_id}:{context}".encode()


def _split(token: object) -> tuple[str, str] | None:
    """(key id, body) of a well-formed envelope, else None. No regex: bodies can be large."""
    if (
        not isinstance(token, str)
        or len(token) <= _BODY_AT
        or not token.startswith(_PREFIX)
        or token[_BODY_AT - 1] != ":"
    ):
        return None
    kid = token[len(_PREFIX) : _BODY_AT - 1]
    if not _HEX.issuperset(kid):
        return None
    return kid, token[_BODY_AT:]


def is_token(value: object) -> bool:
    """True when ``value`` has the shape of one of our envelopes (not that it decrypts)."""
    parts = _split(value)
    return parts is not None and _B64URL.issuperset(parts[1])


def token_key_id(value: str) -> str | None:
    """The key id an envelope names, or None for anything that is not an envelope."""
    parts = _split(value)
    return parts[0] if parts else None


def encrypt(value: str, *, keyring: str, context: str) -> str:
    """Encrypt text under the keyring's write key, bound to ``context``."""
    if not isinstance(value, str):
        raise TypeError(f"encrypt() takes str, not {type(value).__name__}")
    key = get_keyring(keyring).write
    try:
        data = value.encode()
    except UnicodeEncodeError:  # lone surrogates: keep them, round-trip exactly
        data = value.encode("utf-8", "surrogatepass")
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.cipher.encrypt(nonce, data, _aad(key.id, context))
    body = binascii.b2a_base64(nonce + sealed, newline=False).translate(_TO_URLSAFE).rstrip(b"=")
    return f"{_PREFIX}{key.id}:{body.decode('ascii')}"


def decrypt(token: str, *, keyring: str, context: str) -> str:
    """Decrypt an envelope. Any failure raises DecryptionError, nothing else."""
    ring = get_keyring(keyring)
    parts = _split(token)
    if parts is None:
        raise DecryptionError("not an envelope", keyring=keyring, context=context)
    kid, body = parts
    key = ring.keys.get(kid)
    if key is None:
        raise DecryptionError("key id not configured", keyring=keyring, context=context, key_id=kid)
    try:
        # Non-alphabet characters would be skipped by a2b_base64; refuse them instead.
        if not body.isascii() or "+" in body or "/" in body or "=" in body:
            raise ValueError
        blob = binascii.a2b_base64(
            body.encode("ascii").translate(_FROM_URLSAFE) + b"=" * (-len(body) % 4), strict_mode=False
        )
    except (binascii.Error, ValueError):
        raise DecryptionError("malformed body", keyring=keyring, context=context, key_id=kid) from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("truncated", keyring=keyring, context=context, key_id=kid)
    try:
        plain = key.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(kid, context))
    except InvalidTag:
        raise DecryptionError(
            "authentication failed (tampered, wrong context or wrong key)",
            keyring=keyring,
            context=context,
            key_id=kid,
        ) from None
    try:
        return plain.decode()
    except UnicodeDecodeError:
        try:
            return plain.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:  # only reachable if someone encrypted non-UTF-8 by hand
            raise DecryptionError("not text", keyring=keyring, context=context, key_id=kid) from None
