"""The envelope: AES-256-GCM with the key id, the context and (pv2) the row bound in.

Token format (text, one for every encrypted column)::

    pv1:<key id, 12 hex>:<base64url(nonce(12) || ciphertext || tag(16)), no padding>   (column-bound)
    pv2:<key id, 12 hex>:<same body>                                                    (row-bound)

Associated data ``pv1:<key id>:<context>`` or ``pv2:<key id>:<context>:<row>``: a token decrypts
only under the key it names, in the place it was written for (``app_label.Model.field``, or a
named context such as ``reveal-store``) and, for pv2, in the row ``<row>`` names
(:func:`encode_row`). The tag says which: a read never tries one form after the other.
"""

from __future__ import annotations

import binascii
import uuid
from collections.abc import Iterable
from urllib.parse import quote

import pybase64
from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.core.signals import setting_changed

from platos.core.keys import Keyring
from platos.core.sealing import (  # noqa: F401  (re-exported: callers and tests use envelope.<name>)
    DecryptionError,
    EncryptionUnavailable,
    _nonces,
    _NonceSource,
)

VERSION = "pv1"
NONCE_BYTES = 12  # (platos.core.sealing draws them)
TAG_BYTES = 16
KEY_ID_LEN = 12
PREFIX = VERSION + ":"
HEADER_LEN = len(PREFIX) + KEY_ID_LEN + 1  # "pv1:" + 12 hex + ":"
ROW_VERSION = "pv2"
ROW_PREFIX = ROW_VERSION + ":"
VERSIONS = (VERSION, ROW_VERSION)
PREFIXES = (PREFIX, ROW_PREFIX)
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
_ROW_AAD: dict[tuple[str, str], bytes] = {}
_AUTH_FAILED = "authentication failed (tampered, wrong context or wrong key)"
_ROW_AUTH_FAILED = "authentication failed (tampered, wrong context, wrong row or wrong key)"
NO_ROW = "row-bound envelope read without its row"


def _aad(key_id: str, context: str) -> bytes:
    """``pv1:<key id>:<context>``, memoised: a process sees a handful of (key, column) pairs."""
    try:
        return _AAD[key_id, context]
    except KeyError:
        if len(_AAD) > 4096:  # contexts are code-defined; this only bounds misuse
            _AAD.clear()
        aad = _AAD[key_id, context] = f"{_PREFIX}{key_id}:{context}".encode()
        return aad


def _row_aad_head(key_id: str, context: str) -> bytes:
    """``pv2:<key id>:<context>:``, memoised like :func:`_aad`; the row is appended per call."""
    aad = _ROW_AAD.get((key_id, context))
    if aad is None:
        if len(_ROW_AAD) > 4096:
            _ROW_AAD.clear()
        aad = _ROW_AAD[key_id, context] = f"{ROW_PREFIX}{key_id}:{context}:".encode()
    return aad


def encode_row(pairs: Iterable[tuple[str, object]]) -> str:
    """The ``<row>`` of a pv2 associated data: ``name=value`` pairs, in the order given, joined
    by ``&``; names and values percent-encoded (``urllib.parse.quote``, no safe characters), so
    neither holds ``&``, ``=`` or ``:`` and the last ``:`` of the associated data ends the
    context. Values: ``str`` (UTF-8, then percent-encoded), ``int`` in decimal, ``uuid.UUID``
    as 32 lowercase hex digits; anything else (None, bool, float) is refused."""
    pairs = list(pairs)
    return row_encoder([name for name, _ in pairs])([value for _, value in pairs])


def row_encoder(names):
    """``encode_row`` for a fixed list of names, made once per model: values -> ``<row>``."""
    if not names:
        raise ValueError("a row identity names at least one field")
    heads = [f"{quote(name, safe='')}=" for name in names]
    if len(heads) == 1:  # the usual identity (a UUID primary key): one call per row
        head, name = heads[0], names[0]

        def encode_one(values):
            (value,) = values
            return head + (value.hex if type(value) is uuid.UUID else _row_value(name, value))

        return encode_one
    return lambda values: "&".join([h + _row_value(n, v) for h, n, v in zip(heads, names, values, strict=True)])


def _row_value(name: str, value) -> str:
    kind = type(value)
    if kind is uuid.UUID or kind is int:
        return value.hex if kind is uuid.UUID else str(value)  # nothing to escape in either
    if isinstance(value, str):
        return quote(value, safe="")
    raise TypeError(f"row identity {name!r} cannot be {kind.__name__}")


def _split(token: object) -> tuple[str, str] | None:
    """(key id, body) of a well-formed envelope, else None. No regex: bodies can be large."""
    if (
        not isinstance(token, str)
        or len(token) <= _BODY_AT
        or not token.startswith(PREFIXES)
        or token[_BODY_AT - 1] != ":"
    ):
        return None
    kid = token[len(_PREFIX) : _BODY_AT - 1]
    if not _HEX.issuperset(kid):
        return None
    return kid, token[_BODY_AT:]


def header(key_id: str, version: str = VERSION) -> str:
    """The envelope head naming ``key_id`` (what rotation's SQL compares a column against)."""
    if version not in VERSIONS:
        raise ValueError(f"unknown envelope version {version!r}")
    return f"{version}:{key_id}:"


def is_legacy_plaintext(value: str) -> bool:
    """A stored value written before encryption was switched on. Anything with one of our
    version prefixes is an envelope, even a damaged one: never "legacy text"."""
    return not value.startswith(PREFIXES)


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


def token_version(value: object) -> str | None:
    """``pv1`` (column-bound) or ``pv2`` (row-bound) for an envelope, else None."""
    return value[: len(_PREFIX) - 1] if _split(value) is not None else None


def _seal(data: bytes, key, context: str) -> str:
    nonce = _nonces.take()
    sealed = key.cipher.encrypt(nonce, data, _aad(key.id, context))
    body = pybase64.b64encode_as_string(nonce + sealed, _ALTCHARS).rstrip("=")  # (positional: cheaper)
    return f"{_PREFIX}{key.id}:{body}"


def _seal_row(data: bytes, key, context: str, row: str) -> str:
    nonce = _nonces.take()
    sealed = key.cipher.encrypt(nonce, data, _row_aad_head(key.id, context) + row.encode())
    body = pybase64.b64encode_as_string(nonce + sealed, _ALTCHARS).rstrip("=")
    return f"{ROW_PREFIX}{key.id}:{body}"


def _open(token: str, ring: Keyring, *, keyring: str, context: str, row: str | None = None) -> tuple[bytes, str]:
    """(plaintext bytes, key id) of an envelope, or DecryptionError. The tag picks the
    associated data: pv1 ignores ``row`` (readable in any row of its column), pv2 needs it."""
    # The header is parsed inline (this is the hot path of every list view): a token
    # whose key id is not configured fails here whatever else it holds.
    if type(token) is not str or token[_BODY_AT - 1 : _BODY_AT] != ":":
        raise DecryptionError("not an envelope", keyring=keyring, context=context)
    if token.startswith(_PREFIX):
        bound = False
    elif token.startswith(ROW_PREFIX):
        bound = True
    else:
        raise DecryptionError("not an envelope", keyring=keyring, context=context)
    kid = token[len(_PREFIX) : _BODY_AT - 1]
    key = ring.keys.get(kid)
    if key is None:
        shown = kid if _HEX.issuperset(kid) else None  # never echo junk as a key id
        raise DecryptionError("key id not configured", keyring=keyring, context=context, key_id=shown)
    if bound and not row:
        raise DecryptionError(NO_ROW, keyring=keyring, context=context, key_id=kid)
    body = token[_BODY_AT:]
    try:
        # validate=True refuses characters outside the alphabet, but with altchars it
        # still takes "+" and "/" beside "-" and "_"; padding is never ours. Refusing
        # those and non-canonical last characters keeps one body per ciphertext.
        if (not body or not body.isascii() or "+" in body or "/" in body or "=" in body
                or body[-1] not in _CANONICAL_LAST[len(body) % 4]):
            raise ValueError
        blob = pybase64.b64decode(body + _PAD[len(body) % 4], _ALTCHARS, True)  # altchars, validate
    except (binascii.Error, ValueError):
        raise DecryptionError("malformed body", keyring=keyring, context=context, key_id=kid) from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("truncated", keyring=keyring, context=context, key_id=kid)
    aad = _row_aad_head(kid, context) + row.encode() if bound else _aad(kid, context)
    try:
        return key.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad), kid
    except InvalidTag:
        reason = _ROW_AUTH_FAILED if bound else _AUTH_FAILED
        raise DecryptionError(reason, keyring=keyring, context=context, key_id=kid) from None


def _text_bytes(value: str) -> bytes:  # lone surrogates are kept: they round-trip exactly
    if not isinstance(value, str):
        raise TypeError(f"encrypt() takes str, not {type(value).__name__}")
    try:
        return value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def encrypt(value: str, *, keyring: str, context: str, row: str | None = None) -> str:
    """Encrypt text under the keyring's write key, bound to ``context``; with ``row`` (the
    :func:`encode_row` text of the row's identity) as pv2, else pv1 (column-bound)."""
    if row is None:
        return _seal(_text_bytes(value), get_keyring(keyring).write, context)
    if not row:
        raise ValueError("an empty row identity cannot bind an envelope")
    return _seal_row(_text_bytes(value), get_keyring(keyring).write, context, row)


def decrypt(token: str, *, keyring: str, context: str, row: str | None = None) -> str:
    """Decrypt an envelope. Any failure raises DecryptionError, nothing else. ``row``: the
    identity of the row it was read from (a pv2 envelope is refused without it or in
    another row; a pv1 envelope ignores it)."""
    plain, kid = _open(token, get_keyring(keyring), keyring=keyring, context=context, row=row)
    try:
        return plain.decode()
    except UnicodeDecodeError:
        try:
            return plain.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:  # only reachable if someone encrypted non-UTF-8 by hand
            raise DecryptionError("not text", keyring=keyring, context=context, key_id=kid) from None


def rewrap(token: str, *, keyring: str, context: str, row: str | None = None) -> str:
    """The same plaintext in a fresh envelope under the keyring's write key (rotation): equal to
    ``encrypt(decrypt(token, row=row), row=row)`` without a text round trip, so with ``row`` a
    pv1 token comes back pv2. Raises DecryptionError exactly as ``decrypt`` does."""
    ring = get_keyring(keyring)
    plain, _kid = _open(token, ring, keyring=keyring, context=context, row=row)
    return _seal(plain, ring.write, context) if row is None else _seal_row(plain, ring.write, context, row)
