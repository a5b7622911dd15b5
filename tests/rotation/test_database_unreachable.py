"""A rotation that cannot reach the database at all: exit 3, one line, nothing written."""

import pytest

from platos.rotation.command import EXIT_INTERRUPTED
from tests.platos.test_database_unavailable import database_unreachable
from tests.rotation.conftest import E1, K1, K2, make_notes, run

pytestmark = pytest.mark.django_db


def test_database_unreachable_at_start_exits_3_and_writes_nothing(use_keys):
    use_keys(msg=K1, enc=E1, canary=True)
    make_notes(3)
    use_keys(msg=K1, msg_next=K2, enc=E1)
    with database_unreachable():
        code, out, err = run("rotate_message_key")
    assert code == EXIT_INTERRUPTED == 3, out + err
    assert "Traceback" not in out + err
    [line] = err.splitlines()
    assert line.startswith("CommandError: keyring 'messages': cannot reach the database (OperationalError: ")
    assert line.endswith("Nothing was written: run it again when the database is back. Exit 3.")
    code, out, err = run("rotate_message_key")  # the database answers again
    assert code == 0, out + err
