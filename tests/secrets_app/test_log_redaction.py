import logging
import sys

import pytest
from django.conf import settings

from platos.core.logging import REDACTED, RedactingFilter, _Registry, redact, register_secret

from .conftest import SECRET


def test_on_by_default():
    assert settings.LOGGING_CONFIG == "platos.core.logging.configure"
    assert getattr(logging.getLogRecordFactory(), "_platos_redacting", False)
    assert "redact" in settings.LOGGING["handlers"]["console"]["filters"]


def test_registered_value_and_credential_shapes_are_redacted_in_any_logger(caplog):
    register_secret(SECRET)
    caplog.set_level(logging.DEBUG)
    # A third-party logger that propagates, and one logged via args.
    logging.getLogger("some.library").debug("connecting with %s", SECRET)
    logging.getLogger("django.request").warning("header Authorization: Bearer abcdefghijklmnop1234")
    logging.getLogger("x").error("key sk-ant-api03-abcdefghijklmnop and AIzaSyA1234567890abcdefghijklmnopqrstuv")
    text = caplog.text
    assert SECRET not in text
    assert "abcdefghijklmnop1234" not in text and "sk-ant-api03" not in text and "AIzaSyA123" not in text
    assert text.count(REDACTED) >= 4
    assert "connecting with" in text  # the rest of the line survives


def test_exception_text_is_redacted_and_traceback_dropped(caplog):
    register_secret(SECRET)
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError(f"bad config {SECRET}")
    except ValueError:
        logging.getLogger("app").exception("failed")
    record = caplog.records[-1]
    assert record.exc_info is None and "ValueError: bad config [redacted]" in record.exc_text
    assert SECRET not in caplog.text


def test_handler_filter_covers_records_that_bypass_the_factory():
    register_secret(SECRET)
    record = logging.makeLogRecord({"msg": "v=%s", "args": (SECRET,), "levelno": logging.INFO})
    try:
        raise RuntimeError(SECRET)
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record) is True
    assert SECRET not in record.getMessage() and SECRET not in record.exc_text


def test_clean_records_keep_their_args(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("x").info("status %s", 200)
    assert caplog.records[-1].args == (200,)


def test_ordinary_words_are_not_redacted():
    text = "token validation failed; basic authentication disabled; disk-cache task-runner"
    assert redact(text) == text


def test_registry_is_bounded_and_expires(monkeypatch):
    registry = _Registry(max_values=3, ttl=60)
    for i in range(5):
        registry.add(f"secret-value-{i}")
    assert len(registry) == 3
    assert registry.pattern().search("secret-value-0") is None
    assert registry.pattern().search("secret-value-4")
    clock = [1000.0]
    monkeypatch.setattr("platos.core.logging.time.monotonic", lambda: clock[0])
    registry = _Registry(max_values=3, ttl=60)
    registry.add("expiring-secret-1")
    clock[0] += 61
    assert registry.pattern() is None and len(registry) == 0


@pytest.mark.parametrize("short", ["", "abc", "1234567"])
def test_short_values_are_not_registered(short):
    registry = _Registry()
    registry.add(short)
    assert len(registry) == 0


def test_escaped_spellings_of_a_registered_secret_are_redacted_too(caplog):
    import json as _json
    import logging as _logging

    from platos.core.logging import register_secret

    secret = "line-one-secret-AAAA\nline-two-secret-BBBB'q\\\\"
    register_secret(secret)
    caplog.set_level(_logging.INFO)
    log = _logging.getLogger("tests.redaction")
    log.info("repr %r", secret)
    log.info("container %s", {"k": secret})
    log.info("json %s", _json.dumps({"k": secret}))
    log.info("one line %s", secret.splitlines()[1])  # a PEM line logged on its own
    for needle in ("line-one-secret-AAAA", "line-two-secret-BBBB"):
        assert needle not in caplog.text, caplog.text
