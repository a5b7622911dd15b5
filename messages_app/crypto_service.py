"""MessageCryptoService: the one place outside the fields that deals with message ciphertext.

The encrypted fields decrypt on read and hand back an ``Undecryptable`` when they
cannot. Every reader (API, admin) goes through :meth:`MessageCryptoService.read`,
which turns those into a placeholder (``None`` + ``<field>_error`` + ``key_id``),
so no reader ever receives ciphertext and one bad row never breaks a list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models

from platos.core.envelope import EncryptionUnavailable, get_keyring
from platos.core.fields import EncryptedFieldMixin, Undecryptable

from .models import KEYRING

logger = logging.getLogger("messages_app.crypto")

DECRYPTION_FAILED = "decryption_failed"
PLAINTEXT_PERMISSION = "messages_app.view_message_plaintext"
HIDDEN = "(hidden: needs the view_message_plaintext permission)"


@dataclass(frozen=True)
class KeyStatus:
    """What an operator needs to know about the message key; never key material."""

    available: bool
    write_key_id: str | None
    current_key_id: str | None
    next_key_id: str | None

    @property
    def next_key_set(self) -> bool:
        return self.next_key_id is not None


class Decrypted:
    """A model instance seen through the read path: encrypted attributes are replaced.

    Attribute access falls through to the instance for everything else, so an
    output serializer can read ``id``, ``role``… as usual and the encrypted fields
    (plus ``<field>_error`` and ``key_id``) from the readout.
    """

    def __init__(self, instance: models.Model, readout: dict[str, Any]) -> None:
        self._instance = instance
        self._readout = readout

    def __getattr__(self, name: str) -> Any:
        readout = self.__dict__["_readout"]
        if name in readout:
            return readout[name]
        return getattr(self.__dict__["_instance"], name)


class MessageCryptoService:
    keyring = KEYRING

    @classmethod
    def status(cls) -> KeyStatus:
        """Is the message key configured, which key id writes, is a next key set."""
        try:
            ring = get_keyring(cls.keyring)
        except EncryptionUnavailable:
            return KeyStatus(available=False, write_key_id=None, current_key_id=None, next_key_id=None)
        return KeyStatus(
            available=True,
            write_key_id=ring.write.id,
            current_key_id=ring.current.id,
            next_key_id=ring.next.id if ring.next else None,
        )

    @staticmethod
    def encrypted_field_names(model: type[models.Model]) -> list[str]:
        return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedFieldMixin)]

    @classmethod
    def read(cls, instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """The decrypted values of ``instance``'s encrypted fields, with placeholders.

        Returns ``{field: value or None, f"{field}_error": None or "decryption_failed",
        "key_id": <key id of the first field that failed, else None>}``. A failure is
        logged as a warning naming model, pk, field, key id and reason: never the
        content, never the ciphertext.
        """
        names = list(fields) if fields is not None else cls.encrypted_field_names(type(instance))
        out: dict[str, Any] = {}
        failed_key_id = None
        for name in names:
            value = getattr(instance, name)
            if isinstance(value, Undecryptable):
                logger.warning(
                    "message data unreadable: model=%s pk=%s field=%s key_id=%s reason=%s",
                    instance._meta.label, instance.pk, name, value.key_id, value.reason,
                )
                out[name] = None
                out[f"{name}_error"] = DECRYPTION_FAILED
                if failed_key_id is None:
                    failed_key_id = value.key_id
            else:
                out[name] = value
                out[f"{name}_error"] = None
        out["key_id"] = failed_key_id
        return out

    @classmethod
    def decrypted(cls, instance: models.Model) -> Decrypted:
        return Decrypted(instance, cls.read(instance))

    @staticmethod
    def is_readable(instance: models.Model, fields: Iterable[str]) -> bool:
        return not any(isinstance(getattr(instance, name), Undecryptable) for name in fields)


class PlaintextView:
    """What one page shows one person of encrypted conversation text, and how much it showed.

    ``text`` decides per field: the plaintext (with the ``view_message_plaintext``
    permission), a hidden marker, or a decryption error naming the key id; never
    ciphertext. ``shown`` counts the values shown, for the page's audit row
    (``messages_app.services.message_plaintext_view_record``). ``user=None`` shows nothing.
    """

    def __init__(self, *, user) -> None:
        self.may_see = user is not None and user.has_perm(PLAINTEXT_PERMISSION)
        self.shown = 0

    def text(self, instance: models.Model, field: str) -> str:
        readout = MessageCryptoService.read(instance, [field])
        if readout[f"{field}_error"]:
            return f"(cannot be decrypted; key id {readout['key_id']})"
        value = readout[field]
        if value is None:
            return "-"
        if not self.may_see:
            return HIDDEN
        self.shown += 1
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, indent=1)
