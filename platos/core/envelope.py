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
import threading

import pybase64
from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.core.signals import setting_changed

from platos.core.errors import ApplicationError
from platos.core.keys import Keyring

VERSION = "pv1"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_LEN = 12
PREFIX = VERSION + ":"
HEADER_LEN = len(PREFIX) + KEY_ID_LEN + 1  # "pv1:" + 12 hex + ":"
_PREFIX = PREFIX
_BODY_AT = HEADER_LEN
_HEX = frozenset("0123456789abcdef")
_ALTCHARS = b"-_"  # base64url
_PAD = ("", "===", "==", "=")  # by len(body) % 4 (1 is never valid; the decoder says so)
_B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL = frozenset(_B64URL_ALPHABET)
# The last character of an unpadded body carries 2 (len % 4 == 2) or 4 (== 3) bits of
# data; the rest must be zero, or two different bodies would decode to the same bytes.
# These are the characters whose unused bits are zero, by len(body) % 4.
_CANONICAL_LAST = (
    _B64URL,
    frozenset(),
    frozenset(c for i, c in enumerate(_B64URL_ALPHABET) if i & 0x0F == 0),
    frozenset(c for i, c in enumerate(_B64URL_ALPHABET) if i & 0x03 == 0),
)


class DecryptionError(ApplicationError):
    """A token could not be decrypted. Names key id and context; never key or plaintext.

    Served by the API as a 409 with a fixed text and the key id only: a stored value
    that cannot be decrypted is a state of that item, not a crash.
    """

    status_code = 409
    code = "decryption_failed"

    def public_detail(self) -> str:
        return "The stored value could not be decrypted."

    def public_extra(self) -> dict:
        return {"key_id": self.key_id}

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


class _NonceSource(threading.local):
    """Random 96-bit nonces, drawn from ``os.urandom`` a block at a time, per thread.

    Same randomness as one ``os.urandom(12)`` per call, without a syscall per call:
    that syscall releases the GIL, and with a second busy thread (the rotation
    writer, a threaded server) getting it back cost ~10 us per nonce. Each thread
    has its own block (``threading.local``), so no lock is needed and no two threads
    ever share a nonce. A forked child drops the block it inherited
    (``register_at_fork``), so two processes never use the same nonces.
    """

    BLOCK = NONCE_BYTES * 1024

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._block = b""
        self._at = 0

    def take(self) -> bytes:
        at = self._at
        block = self._block
        if at >= len(block):
            block = self._block = os.urandom(self.BLOCK)
            at = 0
        self._at = at + NONCE_BYTES
        return block[at : at + NONCE_BYTES]


_nonces = _NonceSource()
os.register_at_fork(after_in_child=_nonces.reset)


# The configured keyrings, read from settings once and kept until the setting changes
# (override_settings and pytest-django's ``settings`` fire ``setting_changed``): reading
# Django settings was the largest fixed cost of a small encrypt/decrypt.
_rings: dict[str, Keyring] | None = None


def _forget_keyrings(*, setting: str, **kwargs) -> None:
    global _rings
    if setting == "PLATOS_KEYRINGS":
        _rings = None


setting_changed.connect(_forget_keyrings, dispatch_uid="platos.core.envelope.keyrings")


def get_keyring(name: str) -> Keyring:
    global _rings
    rings = _rings
    if rings is None:
        rings = _rings = dict(settings.PLATOS_KEYRINGS)
    try:
        return rings[name]
    except KeyError:
        raise EncryptionUnavailable(f"no keyring named {name!r} is configured") from None


_AAD: dict[tuple[str, str], bytes] = {}


def _aad(key_id: str, context: str) -> bytes:
    """``pv1:<key id>:<context>``, memoised: a process sees a handful of (key, column) pairs."""
    try:
        return _AAD[key_id, context]
    except KeyError:
        if len(_AAD) > 4096:  # contexts are code-defined; this only bounds misuse
            _AAD.clear()
        aad = _AAD[key_id, context] = f"{_PREFIX}{key_id}:{context}".encode()
        return aad


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


def header(key_id: str) -> str:
    """The envelope head naming ``key_id`` (what rotation's SQL compares a column against)."""
    return f"{PREFIX}{key_id}:"


def is_legacy_plaintext(value: str) -> bool:
    """A stored value written before encryption was switched on. Anything with our
    version prefix is an envelope, even a damaged one: never "legacy text"."""
    return not value.startswith(PREFIX)


def legacy_plaintext_allowed() -> bool:
    """``PLATOS_ALLOW_LEGACY_PLAINTEXT``: read (and let rotation encrypt) legacy rows."""
    return settings.PLATOS_ALLOW_LEGACY_PLAINTEXT


def legacy_plaintext_readable(value: str) -> bool:
    """The one legacy rule, for reads and rotation alike: no envelope prefix, and legacy mode on."""
    return is_legacy_plaintext(value) and legacy_plaintext_allowed()


def is_token(value: object) -> bool:
    """True when ``value`` has the shape of one of our envelopes (not that it decrypts)."""
    parts = _split(value)
    return parts is not None and _B64URL.issuperset(parts[1])


def token_key_id(value: str) -> str | None:
    """The key id an envelope names, or None for anything that is not an envelope."""
    parts = _split(value)
    return parts[0] if parts else None


def _seal(data: bytes, key, context: str) -> str:
    nonce = _nonces.take()
    sealed = key.cipher.encrypt(nonce, data, _aad(key.id, context))
    body = pybase64.b64encode_as_string(nonce + sealed, _ALTCHARS).rstrip("=")  # (positional: cheaper)
    return f"{_PREFIX}{key.id}:{body}"


def _open(token: str, ring: Keyring, *, keyring: str, context: str) -> tuple[bytes, str]:
    """(plaintext bytes, key id) of an envelope, or DecryptionError."""
    # The header is parsed inline (this is the hot path of every list view): a token
    # whose key id is not configured fails here whatever else it holds.
    if type(token) is not str or not token.startswith(_PREFIX) or token[_BODY_AT - 1 : _BODY_AT] != ":":
        raise DecryptionError("not an envelope", keyring=keyring, context=context)
    kid = token[len(_PREFIX) : _BODY_AT - 1]
    key = ring.keys.get(kid)
    if key is None:
        shown = kid if _HEX.issuperset(kid) else None  # never echo junk as a key id
        raise DecryptionError("key id not configured", keyring=keyring, context=context, key_id=shown)
    body = token[_BODY_AT:]
    try:
        # validate=True refuses characters outside the alphabet, but with altchars it
        # still takes "+" and "/" beside "-" and "_"; padding is never ours. Refusing
        # those and non-canonical last characters keeps one body per ciphertext.
        if (
            not body
            or not body.isascii()
            or "+" in body
            or "/" in body
            or "=" in body
            or body[-1] not in _CANONICAL_LAST[len(body) % 4]
        ):
            raise ValueError
        blob = pybase64.b64decode(body + _PAD[len(body) % 4], _ALTCHARS, True)  # altchars, validate
    except (binascii.Error, ValueError):
        raise DecryptionError("malformed body", keyring=keyring, context=context, key_id=kid) from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("truncated", keyring=keyring, context=context, key_id=kid)
    try:
        return key.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(kid, context)), kid
    except InvalidTag:
        raise DecryptionError(
            "authentication failed (tampered, wrong context or wrong key)",
            keyring=keyring,
            context=context,
            key_id=kid,
        ) from None


def encrypt(value: str, *, keyring: str, context: str) -> str:
    """Encrypt text under the keyring's write key, bound to ``context``."""
    if not isinstance(value, str):
        raise TypeError(f"encrypt() takes str, not {type(value).__name__}")
    try:
        data = value.encode()
    except UnicodeEncodeError:  # lone surrogates: keep them, round-trip exactly
        data = value.encode("utf-8", "surrogatepass")
    return _seal(data, get_keyring(keyring).write, context)


def decrypt(token: str, *, keyring: str, context: str) -> str:
    """Decrypt an envelope. Any failure raises DecryptionError, nothing else."""
    plain, kid = _open(token, get_keyring(keyring), keyring=keyring, context=context)
    try:
        return plain.decode()
    except UnicodeDecodeError:
        try:
            return plain.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:  # only reachable if someone encrypted non-UTF-8 by hand
            raise DecryptionError("not text", keyring=keyring, context=context, key_id=kid) from None


def rewrap(token: str, *, keyring: str, context: str) -> str:
    """The same plaintext in a fresh envelope under the keyring's write key (rotation).

    Equal to ``encrypt(decrypt(token))`` without turning the plaintext into text and
    back; raises DecryptionError exactly as ``decrypt`` does.
    """
    ring = get_keyring(keyring)
    plain, _kid = _open(token, ring, keyring=keyring, context=context)
    return _seal(plain, ring.write, context)
