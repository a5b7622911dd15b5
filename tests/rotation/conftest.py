"""Keys for the rotation tests: K1 -> K2 (messages), E1 -> E2 (encryption), and helpers."""

import hashlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from platos.core.envelope import token_key_id
from platos.core.keys import key_id, load_keyrings, parse_key

K1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
K2 = "0f9e8d7c6b5a49382716f5e4d3c2b1a0"
E1 = "11223344556677881122334455667788"
E2 = "99aabbccddeeff0099aabbccddeeff00"


def kid(value: str) -> str:
    return key_id(parse_key("X", value))


def environ(msg=K1, msg_next=None, enc=E1, enc_next=None) -> dict[str, str]:
    env = {"PLATOS_MESSAGE_ENCRYPTION_KEY": msg, "ENCRYPTION_KEY": enc}
    if msg_next:
        env["PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT"] = msg_next
    if enc_next:
        env["ENCRYPTION_KEY_NEXT"] = enc_next
    return env


@pytest.fixture
def use_keys(settings):
    """use_keys(msg=..., msg_next=..., legacy=..., canary=True): configure keys for the test.

    With canary=True the canaries are rewritten under the new keys, as on a fresh
    deployment that has always used them (the test database's canary is under the
    suite's default keys).
    """

    def configure(*, legacy=False, canary=False, **keys):
        settings.PLATOS_KEYRINGS = load_keyrings(environ(**keys))
        settings.PLATOS_ALLOW_LEGACY_PLAINTEXT = legacy
        if canary:
            from platos.models import KeyCanary
            from platos.rotation import canary_ensure

            KeyCanary.objects.all().delete()
            canary_ensure()
        return settings.PLATOS_KEYRINGS

    return configure


def raw_rows(table: str, column: str, pk: str = "id") -> list[tuple]:
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SELECT {qn(pk)}, {qn(column)} FROM {qn(table)} ORDER BY 1")
        return list(cur.fetchall())


def key_ids(table: str, column: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    pk = "keyring" if table == "platos_keycanary" else "id"
    for _, value in raw_rows(table, column, pk):
        if value is not None:
            k = token_key_id(value) or "plaintext"
            counts[k] = counts.get(k, 0) + 1
    return counts


def plaintext_digest() -> tuple[int, str]:
    """(rows, sha256 of every Note's decrypted values): equal before and after = nothing lost."""
    from tests.testapp.models import Note

    digest = hashlib.sha256()
    n = 0
    for note in Note.objects.order_by("pk"):
        for value in (note.body, note.other, note.data):
            digest.update(repr((note.pk, value)).encode())  # repr(Undecryptable) differs: caught
            if value is not None and type(value).__name__ == "Undecryptable":
                raise AssertionError(f"note {note.pk} does not decrypt: {value!r}")
        n += 1
    return n, digest.hexdigest()


def table_checksum(table: str) -> str:
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {qn(table)} ORDER BY 1")
        return hashlib.sha256(repr(cur.fetchall()).encode()).hexdigest()


def make_notes(n: int, *, start: int = 0):
    from tests.testapp.models import Note

    return Note.objects.bulk_create(
        [
            Note(label=f"n{i}", body=f"message {i} " + "é" * (i % 7), other=None if i % 3 else f"o{i}",
                 data={"i": i, "list": [i, str(i)]} if i % 2 else None)
            for i in range(start, start + n)
        ]
    )


def insert_legacy(rows: list[tuple[str, str]]):
    """Rows written before encryption was switched on: plaintext in the encrypted columns."""
    with connection.cursor() as cur:
        for body, data in rows:
            cur.execute("INSERT INTO testapp_note (label, body, data) VALUES (%s, %s, %s)", ["legacy", body, data])


def run(command, *args):
    """Run a management command; (exit code, stdout, stderr) as an operator would see them."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return code, out.getvalue(), err.getvalue()
