"""The admins' TOTP device, with its seed encrypted at rest (keyring ``encryption``).

django-otp's own ``otp_totp.TOTPDevice`` keeps each seed as hex in clear: anyone
holding a database backup could mint second-factor codes. This model has the same
fields and the same verification, built from django-otp's parts (``Device``,
``ThrottlingMixin``, ``TimestampMixin``, ``oath.TOTP``, ``util.random_hex``), with
``key`` an ``EncryptedTextField``: the column holds an envelope, so the rotation
commands and ``key_status`` find it through the field registry like every other
encrypted column. django-otp discovers it as it discovers any ``Device`` subclass
(``devices_for_user``, the session's persistent id in ``OTPMiddleware``).
"""

from __future__ import annotations

import logging
import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django_otp.models import Device, DeviceManager, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import hex_validator, random_hex

from platos.core.fields import EncryptedTextField, Undecryptable
from platos.core.rowmodels import RowBoundModel, RowBoundQuerySet

logger = logging.getLogger("platos.mfa")


def default_key() -> str:
    """20 random bytes, hex-encoded (django-otp's default for TOTP)."""
    return random_hex(20)


def key_validator(value) -> None:
    """Hex, up to 40 bytes; the message never repeats the value (django-otp's does)."""
    try:
        hex_validator()(value)
    except ValidationError:
        raise ValidationError("The key must be hex-encoded data.", code="invalid") from None
    if len(value) > 80:
        raise ValidationError("The key must be at most 40 bytes.", code="invalid")


class RowBoundDeviceManager(DeviceManager.from_queryset(RowBoundQuerySet)):
    """django-otp's device manager (``devices_for_user``) over the row-bound queryset."""


class EncryptedTOTPDevice(TimestampMixin, ThrottlingMixin, RowBoundModel, Device):
    """A TOTP device as django-otp's ``TOTPDevice`` (same fields, same rules), seed encrypted.

    key: the hex-encoded seed, stored as an envelope under ``ENCRYPTION_KEY``.
    step, t0, digits, tolerance: the TOTP parameters (30 s, 0, 6 digits, one step either side).
    drift: steps the authenticator is known to be off by (updated when OTP_TOTP_SYNC is on).
    last_t: the time step of the last accepted code; only later steps verify (no replay).

    Row-bound (pv2) to its owner (``row_identity = ("user",)``): the seed's envelope names
    the user whose device it is. Someone who can write the table cannot paste the envelope
    of a seed they know (their own device's) into an admin's device row and pass that
    admin's second factor: it does not decrypt there. (The id would not do: the database
    assigns it on insert, after the seed is sealed.) The manager is django-otp's, over the
    row-bound queryset, so ``devices_for_user`` and the update guards both hold.
    """

    row_identity = ("user",)

    objects = RowBoundDeviceManager()

    key = EncryptedTextField(keyring="encryption", validators=[key_validator], default=default_key,
                             help_text="The hex-encoded secret key, encrypted at rest.")
    step = models.PositiveSmallIntegerField(default=30, help_text="The time step in seconds.")
    t0 = models.BigIntegerField(default=0, help_text="The Unix time at which to begin counting steps.")
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6,
                                              help_text="The number of digits to expect in a token.")
    tolerance = models.PositiveSmallIntegerField(
        default=1, help_text="The number of time steps in the past or future to allow.")
    drift = models.SmallIntegerField(
        default=0, help_text="The number of time steps the prover is known to deviate from our clock.")
    last_t = models.BigIntegerField(
        default=-1,
        help_text="The t value of the latest verified token. The next token must be at a higher time step.")

    class Meta(Device.Meta):
        verbose_name = "TOTP device"

    @property
    def bin_key(self) -> bytes:
        """The seed as bytes (an undecryptable seed raises its DecryptionError here)."""
        return unhexlify(str(self.key).encode())

    def verify_token(self, token) -> bool:
        """django-otp's TOTP verification: throttled, drift-synced, each time step accepted once."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        if isinstance(self.key, Undecryptable):
            # Fail closed, not a 500: the seed was moved here from another row, tampered
            # with, or is under a key id that is not configured. Deleting the device lets
            # its owner enrol again.
            logger.warning("TOTP device %s: seed cannot be decrypted (%s); code refused",
                           self.pk, self.key.reason)
            return False
        try:
            token = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(token, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self):
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def secret_b32(self) -> str:
        """The seed in base32, as a person types it into an authenticator app (enrolment only)."""
        return b32encode(self.bin_key).decode()

    @property
    def config_url(self) -> str:
        """The ``otpauth://totp/`` URI (Key Uri Format), as django-otp's: OTP_TOTP_ISSUER, OTP_TOTP_IMAGE."""
        label = str(self.user.get_username())
        params = urlencode({"secret": self.secret_b32, "algorithm": "SHA1", "digits": self.digits,
                            "period": self.step})
        issuer = self._setting_text("OTP_TOTP_ISSUER")
        if issuer:
            issuer = issuer.replace(":", "")
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"  # RFC 3986 encoding, as django-otp does
        image = self._setting_text("OTP_TOTP_IMAGE")
        if image:
            params += f"&image={quote(image, safe=':/')}"
        return f"otpauth://totp/{quote(label)}?{params}"

    def _setting_text(self, name: str) -> str | None:
        value = getattr(settings, name, None)
        if callable(value):
            value = value(self)
        return value if isinstance(value, str) and value else None
