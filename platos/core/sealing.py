"""What the envelope module is built from: its errors and its nonce source.

Kept apart so that ``platos.core.envelope`` holds the wire format alone; every name
here is re-exported there (``envelope.DecryptionError``, ``envelope._nonces``).
"""

from __future__ import annotations

import os
import threading

from platos.core.errors import ApplicationError

NONCE_BYTES = 12


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
