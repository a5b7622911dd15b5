"""The entity auth path: the only request-time code that decrypts a service secret.

Every entity request names itself with ``X-Platos-Entity: <entity id>`` and then
proves it holds the secret, either

* ``Authorization: Bearer <secret>``, or
* request signing: ``X-Platos-Timestamp`` (unix seconds), ``X-Platos-Nonce``
  (16-128 of ``[A-Za-z0-9_-]``) and ``X-Platos-Signature`` = hex HMAC-SHA256(secret, m),
  at most 300 s of clock skew, each nonce accepted once (the cache, and a database
  table that survives losing the cache: ``entities.replay``). With
  ``X-Platos-Signature-Version: 2``, m = ``"{timestamp}.{nonce}.{METHOD}.{path and
  query string}.{hex SHA-256 of the body}"``, so a signature is good for one method
  and URL only. Without the header (version 1), m = ``"{timestamp}.{nonce}.{body}"``:
  accepted unless ``PLATOS_ENTITY_SIGNATURE_MIN_VERSION=2``, and every acceptance
  writes an ``entity.auth.v1_accepted`` audit row, so operators see who still uses it.

During a regenerate grace window the previous secret is accepted too. Every
refusal is audited (``entity.auth.failed`` with the reason) and answered with the
same generic 401, whatever was wrong.

An API token (``Bearer plt_…``, a person's or a service account's) is not an entity
credential: a valid one is told so with a 403 (it authenticated, it may not use
these endpoints); an invalid one is the token scheme's audited 401.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from rest_framework import authentication, exceptions, permissions

from entities.auth_audit import entity_auth_failed, entity_auth_v1_accepted
from entities.models import ConnectedEntity
from entities.replay import ReplayGuardUnavailable, nonce_claim, nonce_record
from secrets_app.throttles import auth_failure_count, auth_failures_check
from secrets_app.tokens.auth import RuntimeTokenAuthentication

MAX_SKEW_SECONDS = 300
NONCE_TTL_SECONDS = 2 * MAX_SKEW_SECONDS
GENERIC_FAILURE = "Entity authentication failed."
_NONCE = re.compile(r"\A[A-Za-z0-9_-]{16,128}\Z")
_TIMESTAMP = re.compile(r"\A[0-9]{1,12}\Z")
_HEX_SIGNATURE = re.compile(r"\A[0-9a-fA-F]{64}\Z")


class EntityPrincipal:
    """``request.user`` for an authenticated entity (``request.auth`` is the entity)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, entity: ConnectedEntity, *, method: str, used_previous: bool) -> None:
        self.entity = entity
        self.method = method
        self.used_previous = used_previous

    def __str__(self) -> str:
        return f"entity:{self.entity.slug}"

    def get_username(self) -> str:
        return str(self)


class _Failed(Exception):
    def __init__(self, reason: str, entity: ConnectedEntity | None = None) -> None:
        self.reason = reason
        self.entity = entity


def _candidate_secrets(entity: ConnectedEntity) -> list[tuple[str, bool]]:
    """(secret, is_previous) pairs the entity may present now. Decrypts here only."""
    current = entity.service_secret
    if not isinstance(current, str):  # Undecryptable
        raise _Failed("decryption_failed", entity)
    out = [(current, False)]
    previous, until = entity.previous_service_secret, entity.previous_secret_valid_until
    if isinstance(previous, str) and until is not None and timezone.now() < until:
        out.append((previous, True))
    return out


@sensitive_variables("presented", "secret", "candidate")
def _match_candidate(
    entity: ConnectedEntity, presented: bytes, *, expected: Callable[[str], bytes], failure: str
) -> bool:
    """Whether the previous (grace) secret matched ``presented``; raise ``failure`` if none did.

    ``expected(secret)`` is what a holder of ``secret`` would present. Every candidate
    is compared, so timing does not tell which one matched.
    """
    matched = None
    for secret, is_previous in _candidate_secrets(entity):
        candidate = expected(secret)
        if hmac.compare_digest(presented, candidate) and matched is None:
            matched = is_previous
    if matched is None:
        raise _Failed(failure, entity)
    return matched


class _EntityAuthentication(authentication.BaseAuthentication):
    method = ""

    def engages(self, request) -> bool:
        raise NotImplementedError

    def verify(self, request, entity: ConnectedEntity) -> bool:
        """Check the credential; return whether the previous (grace) secret matched."""
        raise NotImplementedError

    def authenticate(self, request):
        if not self.engages(request):
            return None
        django_request = request._request  # request.user here would recurse into authentication
        ref = request.META.get("HTTP_X_PLATOS_ENTITY", "")
        # Failed attempts are limited per client IP and per entity (429 over the limit,
        # one aggregated audit row per window): secrets_app/throttles.py. The client IP
        # is checked before anything is counted or verified, and its 429 comes first;
        # for a known active entity both counters are read in one round trip.
        try:
            entity = self._entity(ref)
        except _Failed as failure:
            auth_failures_check(request=django_request)
            self._refuse(failure, django_request, ref)
        auth_failures_check(request=django_request, entity_id=entity.pk)
        try:
            used_previous = self.verify(request, entity)
        except _Failed as failure:
            self._refuse(failure, django_request, ref)
        return EntityPrincipal(entity, method=self.method, used_previous=used_previous), entity

    @staticmethod
    def _refuse(failure: _Failed, django_request, ref: str):
        auth_failure_count(request=django_request, entity_id=failure.entity.pk if failure.entity else None)
        entity_auth_failed(reason=failure.reason, entity=failure.entity, request=django_request,
                           entity_ref=ref if failure.entity is None else "")
        raise exceptions.AuthenticationFailed(GENERIC_FAILURE) from None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="platos-entity"'

    @staticmethod
    def _entity(ref: str) -> ConnectedEntity:
        if not ref:
            raise _Failed("missing_entity_header")
        try:
            pk = uuid.UUID(ref)
        except ValueError:
            raise _Failed("unknown_entity") from None
        try:  # .get(), not .first(): a pk lookup needs no ORDER BY (15% less CPU per lookup)
            entity = ConnectedEntity.objects.select_related("environment__project").get(pk=pk)
        except ConnectedEntity.DoesNotExist:
            raise _Failed("unknown_entity") from None
        if not entity.is_active:
            raise _Failed("disabled", entity)
        return entity


class EntityBearerAuthentication(_EntityAuthentication):
    """``X-Platos-Entity`` + ``Authorization: Bearer <secret>``."""

    method = "bearer"

    def engages(self, request) -> bool:
        # "Bearer plt_…" is an API token (secrets_app/tokens/auth.py), never an entity secret.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        return header.startswith("Bearer ") and not header.startswith("Bearer plt_")

    @sensitive_variables("presented")
    def verify(self, request, entity: ConnectedEntity) -> bool:
        presented = request.META["HTTP_AUTHORIZATION"][len("Bearer "):].strip().encode()
        return _match_candidate(entity, presented, expected=str.encode, failure="wrong_secret")


class EntitySignatureAuthentication(_EntityAuthentication):
    """``X-Platos-Entity`` + ``X-Platos-Timestamp``/``-Nonce``/``-Signature`` (HMAC-SHA256)."""

    method = "signature"

    def engages(self, request) -> bool:
        return "HTTP_X_PLATOS_SIGNATURE" in request.META

    def verify(self, request, entity: ConnectedEntity) -> bool:
        meta = request.META
        timestamp = meta.get("HTTP_X_PLATOS_TIMESTAMP", "")
        nonce = meta.get("HTTP_X_PLATOS_NONCE", "")
        signature = meta.get("HTTP_X_PLATOS_SIGNATURE", "")
        if not _TIMESTAMP.match(timestamp):
            raise _Failed("malformed_timestamp", entity)
        if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
            raise _Failed("stale_timestamp", entity)
        if not _NONCE.match(nonce):
            raise _Failed("malformed_nonce", entity)
        if not _HEX_SIGNATURE.match(signature):
            raise _Failed("malformed_signature", entity)
        version = meta.get("HTTP_X_PLATOS_SIGNATURE_VERSION", "1").strip()
        if version not in ("1", "2"):
            raise _Failed("unsupported_signature_version", entity)
        if int(version) < settings.PLATOS_ENTITY_SIGNATURE_MIN_VERSION:
            raise _Failed("signature_version_too_old", entity)
        django_request = request._request
        if version == "2":
            message = (f"{timestamp}.{nonce}.{django_request.method}.{django_request.get_full_path()}."
                       f"{hashlib.sha256(django_request.body).hexdigest()}").encode()
        else:
            message = f"{timestamp}.{nonce}.".encode() + django_request.body
        matched = _match_candidate(
            entity, signature.lower().encode(), failure="bad_signature",
            expected=lambda secret: hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode(),
        )
        # The nonce is claimed only after the signature checks out, so nobody
        # without the secret can burn a legitimate client's nonces.
        try:
            fresh = nonce_claim(entity_id=entity.pk, nonce=nonce, ttl=NONCE_TTL_SECONDS)
        except ReplayGuardUnavailable:
            raise _Failed("replay_guard_unavailable", entity) from None
        if not fresh or not nonce_record(entity_id=entity.pk, nonce=nonce, ttl=NONCE_TTL_SECONDS):
            raise _Failed("replayed_nonce", entity)
        if version == "1":
            entity_auth_v1_accepted(entity=entity, request=django_request)
        return matched


class ApiTokenIdentity(RuntimeTokenAuthentication):
    """``Bearer plt_…`` on an entity endpoint: the token is checked as everywhere else
    (service accounts' too), so a valid one authenticates its owner and
    :class:`IsConnectedEntity` answers 403, while a bad one stays the audited 401."""


ENTITY_AUTHENTICATION_CLASSES = [EntitySignatureAuthentication, EntityBearerAuthentication, ApiTokenIdentity]
NOT_AN_ENTITY = ("This endpoint is for connected entities: authenticate with X-Platos-Entity and the entity's "
                 "secret or signature. An API token is not an entity credential.")


class IsConnectedEntity(permissions.BasePermission):
    message = NOT_AN_ENTITY

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ConnectedEntity)
