"""Connected entities: a customer's backend that calls Platos (and is called by it).

Each entity holds one service secret, encrypted under ENCRYPTION_KEY. Its
plaintext is shown once (the create/regenerate response, or the admin's
reveal page) and is afterwards decrypted only by the entity auth path
(``entities/auth.py``) and the runtime boundary (``entities/boundary.py``).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from platos.core.fields import EncryptedTextField
from platos.core.rowmodels import RowBoundModel
from secrets_app.models import Environment, slug_validator

SECRET_PREFIX_LENGTH = 8


class ConnectedEntity(RowBoundModel):
    """One connected entity in one environment.

    id: the public id an entity names itself with (``X-Platos-Entity``); a UUID so
        ids cannot be enumerated.
    slug: unique per environment; the name the runtime reads the secret by.
    service_secret: 64 hex characters (32 random bytes), encrypted at rest.
    secret_prefix: the first 8 characters of the current secret, so a person can
        recognise which secret a backend holds without it being shown.
    previous_service_secret / previous_secret_valid_until: the secret replaced by
        the last regenerate, still accepted by the auth path until the grace
        window ends (both NULL when there is no grace window).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "active"
        DISABLED = "disabled", "disabled"

    row_identity = ("id",)  # both secrets are bound to the entity (a UUID assigned before insert)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="connected_entities")
    slug = models.CharField(max_length=63, validators=[slug_validator])
    display_name = models.CharField(max_length=200)
    base_url = models.URLField(max_length=500)
    service_secret = EncryptedTextField(keyring="encryption", editable=False)
    secret_prefix = models.CharField(max_length=SECRET_PREFIX_LENGTH, editable=False)
    previous_service_secret = EncryptedTextField(keyring="encryption", null=True, blank=True, editable=False)
    previous_secret_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, editable=False)
    last_connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "connected entity"
        verbose_name_plural = "connected entities"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "slug"], name="entity_unique_slug_per_environment")
        ]
        indexes = [models.Index(fields=["environment", "created_at"], name="entity_env_created")]

    def __str__(self) -> str:
        return self.slug

    @property
    def scope(self) -> str:
        return self.environment.scope

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class SeenNonce(models.Model):
    """A nonce of a signed entity request, kept in the database for the skew window.

    The replay guard's durable half (``entities.replay.nonce_record``): the cache
    answers fast, this table still refuses a replay after the cache lost the nonce
    (a Redis restart, flush or eviction). The unique index decides the race between
    two processes; rows older than the window are purged as requests come in.
    entity_ref: the entity's id as text (no foreign key: the guard needs no join).
    """

    entity_ref = models.CharField(max_length=64)
    nonce = models.CharField(max_length=128)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entity_ref", "nonce"], name="seennonce_unique_per_entity")]

    def __str__(self) -> str:
        return f"{self.entity_ref}:{self.nonce[:8]}…"
