"""pg_write.copy_text: the batch as COPY text only when no value needs escaping, else None."""

from platos.rotation.columns import Column
from platos.rotation.pg_write import copy_text
from tests.testapp.models import Note, PlainMessage

BODY = Column(Note._meta.get_field("body"))
OLD = "pv1:a1734c7d0085:AAAAAAAAAAAAAAAAbody"
NEW = "pv1:3ddd1bfb10c0:BBBBBBBBBBBBBBBBbody"


def test_envelopes_with_integer_pks_become_one_line_per_row():
    assert copy_text(BODY, [(1, OLD, NEW), (22, OLD, NEW)]) == (
        f"1\t{OLD[:33]}\t{NEW}\n22\t{OLD[:33]}\t{NEW}\n"
    )


def test_anything_that_would_need_escaping_falls_back_to_rows():
    for bad in ("\t", "\n", "\\", "\r", "\0"):
        assert copy_text(BODY, [(1, OLD, NEW), (2, OLD, NEW[:-2] + bad + "x")]) is None, repr(bad)
        assert copy_text(BODY, [(1, OLD[:20] + bad + OLD[21:], NEW)]) is None, repr(bad)
    assert copy_text(BODY, [(1, "legacy plaintext", NEW)]) is None  # compared whole: binary rows
    assert copy_text(BODY, [("1", OLD, NEW)]) is None  # not an int as read
    assert copy_text(Column(PlainMessage._meta.get_field("content")), [(1, OLD, NEW)]) is None  # uuid pk
