"""The value object every secret read returns."""

from __future__ import annotations

from typing import NoReturn

from platos.core.logging import REDACTED


class SecretValue(str):
    """A secret that redacts itself everywhere except through :meth:`reveal`.

    It *is* a ``str`` whose text is ``[redacted]``, so every way Python turns an
    object into text shows only that: ``str()``, ``repr()``, ``format()``, f-strings,
    ``%`` formatting, logging arguments, ``json.dumps`` (the JSON encoder writes a
    str subclass's own characters), template rendering and DRF/Django serialisers.
    The plaintext lives in a slot and comes out only through ``.reveal()``. Pickling
    and copying are refused, so it cannot land in a cache, a session or Redis.

    ``key`` and ``scope`` say what was read (safe to show).
    """

    __slots__ = ("_plaintext", "key", "scope")

    def __new__(cls, plaintext: str, *, key: str = "", scope: str = "") -> SecretValue:
        if not isinstance(plaintext, str):
            raise TypeError("SecretValue holds text")
        self = super().__new__(cls, REDACTED)
        self._plaintext = plaintext
        self.key = key
        self.scope = scope
        return self

    def reveal(self) -> str:
        """The plaintext. Call it at the last moment, where the value is actually used."""
        return self._plaintext

    def __repr__(self) -> str:
        return f"<SecretValue {self.key or '?'} {REDACTED}>"

    # Equality on the plaintext would make the redaction marker compare equal to every
    # secret; compare explicitly with reveal() instead (and hmac.compare_digest).
    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    __hash__ = object.__hash__

    def __reduce_ex__(self, protocol) -> NoReturn:
        raise TypeError("a SecretValue cannot be pickled or copied")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SecretValue cannot be pickled or copied")

    def __getnewargs__(self) -> NoReturn:
        raise TypeError("a SecretValue cannot be pickled or copied")
