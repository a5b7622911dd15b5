"""The key canary: written after migrate, verified before anything trusts the keys.

Where it runs (AppConfig.ready is too early for the database):

* ``post_migrate`` (``migrate``, and the test runner's database setup): writes the
  canary of each keyring that has none, verifies the others. A wrong key makes
  ``migrate`` fail, which is the first step of every deploy.
* the system check ``platos.E010``: every management command that runs checks
  (``runserver``, ``check``, ``rotate_*``, ...) stops with the message.
* the first request of each web process (gunicorn/uvicorn do not run system
  checks): refused with the message, and every request after it until the key is
  fixed; on success the guard disconnects itself (no cost afterwards).
* the rotation commands verify it before touching a row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from platos.core.envelope import DecryptionError, decrypt, token_key_id
from platos.core.keys import KEYRING_VARIABLES

logger = logging.getLogger("platos.keys")


class CanaryMismatch(ImproperlyConfigured):
    """The configured keys of a keyring do not decrypt its canary. Names ids, never keys."""


@dataclass(frozen=True)
class CanaryState:
    keyring: str
    status: str  # "ok", "missing", "unknown key id", "tampered", "no table"
    key_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "missing", "no table")


def _context(keyring: str) -> str:
    from platos.models import KeyCanary

    return KeyCanary._meta.get_field(KeyCanary.column_for(keyring)).context


def _row(keyring: str) -> str:
    """The canary row's identity (its keyring): a pv2 canary opens only in its own row."""
    from platos.core.rowbound import spec_of
    from platos.models import KeyCanary

    return spec_of(KeyCanary).row_from_values(keyring=keyring)


def _table_exists(using: str) -> bool:
    from platos.models import KeyCanary

    connection = connections[using]
    with connection.cursor() as cursor:
        return KeyCanary._meta.db_table in connection.introspection.table_names(cursor)


def _raw_canary(keyring: str, using: str) -> str | None:
    from platos.models import KeyCanary

    connection = connections[using]
    qn = connection.ops.quote_name
    column = KeyCanary.column_for(keyring)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn(column)} FROM {qn(KeyCanary._meta.db_table)} WHERE {qn('keyring')} = %s",  # noqa: S608
            [keyring],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def canary_state(keyring: str, *, using: str = DEFAULT_DB_ALIAS) -> CanaryState:
    """Read (raw SQL: no field decoding) and check one keyring's canary."""
    from platos.models import CANARY_PLAINTEXT

    if not _table_exists(using):
        return CanaryState(keyring, "no table")
    token = _raw_canary(keyring, using)
    if token is None:
        return CanaryState(keyring, "missing")
    kid = token_key_id(token)
    ring = settings.PLATOS_KEYRINGS[keyring]
    if kid not in ring.keys:
        return CanaryState(keyring, "unknown key id", kid)
    try:
        plain = decrypt(token, keyring=keyring, context=_context(keyring), row=_row(keyring))
    except DecryptionError:
        return CanaryState(keyring, "tampered", kid)
    return CanaryState(keyring, "ok" if plain == CANARY_PLAINTEXT else "tampered", kid)


def mismatch_message(state: CanaryState) -> str:
    ring = settings.PLATOS_KEYRINGS[state.keyring]
    cur_var, next_var = KEYRING_VARIABLES[state.keyring]
    configured = f"{cur_var} has key id {ring.current.id}"
    if ring.next is not None:
        configured += f" and {next_var} has key id {ring.next.id}"
    else:
        configured += f" ({next_var} is not set)"
    if state.status == "unknown key id":
        return (
            f"Platos cannot start: keyring '{state.keyring}' does not match the database. "
            f"Its data was written under key id {state.key_id}, but {configured}. "
            f"The key is well-formed but not the one the data was written with (swapped or "
            f"mistyped?). Set {cur_var} back to the key whose id is {state.key_id}; "
            "nothing has been written. (Compare ids with `manage.py key_status`.)"
        )
    return (
        f"Platos cannot start: the key canary of keyring '{state.keyring}' (key id "
        f"{state.key_id}) does not authenticate although that key id is configured "
        f"({configured}). The canary row was altered in the database; investigate "
        "before running anything else."
    )


def canary_verify(*, using: str = DEFAULT_DB_ALIAS, keyrings=None) -> list[CanaryState]:
    """Check every keyring's canary; raise CanaryMismatch naming the first bad one."""
    states = [canary_state(name, using=using) for name in (keyrings or settings.PLATOS_KEYRINGS)]
    for state in states:
        if not state.ok:
            raise CanaryMismatch(mismatch_message(state))
    return states


def canary_ensure(*, using: str = DEFAULT_DB_ALIAS) -> list[CanaryState]:
    """Verify the canaries and write the missing ones under each keyring's write key."""
    from platos.models import CANARY_PLAINTEXT, KeyCanary

    states = canary_verify(using=using)
    for state in states:
        if state.status == "missing":
            KeyCanary.objects.using(using).update_or_create(
                keyring=state.keyring,
                defaults={KeyCanary.column_for(state.keyring): CANARY_PLAINTEXT},
            )
            logger.info("key canary written for keyring %s", state.keyring)
    return states


# --- hooks -------------------------------------------------------------------------

_verified_in_process = False


def mark_verified() -> None:
    global _verified_in_process
    _verified_in_process = True


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    if not _table_exists(using):  # e.g. `migrate platos zero`
        return
    canary_ensure(using=using)
    mark_verified()


def on_first_request(sender, **kwargs) -> None:
    """request_started receiver: verify once per web process, refuse to serve on mismatch."""
    from django.core.signals import request_started

    if _verified_in_process:
        request_started.disconnect(on_first_request)
        return
    try:
        canary_verify()
    except CanaryMismatch as exc:
        logger.critical("%s", exc)
        raise
    except (DatabaseError, RuntimeError):
        # The database is down (the request fails on its own) or not reachable from here
        # (e.g. a test without database access): check again on the next request.
        return
    mark_verified()
    request_started.disconnect(on_first_request)
