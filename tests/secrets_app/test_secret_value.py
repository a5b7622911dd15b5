import copy
import json
import logging
import pickle

import pytest

from secrets_app.values import SecretValue

from .conftest import SECRET


def test_redacts_itself_in_every_text_form(caplog):
    value = SecretValue(SECRET, key="API_KEY", scope="acme/production")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("t").info("value=%s repr=%r", value, value)
    logging.getLogger("t").info(value)
    renderings = [
        str(value), repr(value), f"{value}", f"{value!r}", f"{value:>40}", "%s" % value, "{}".format(value),  # noqa: UP031,UP032 - the forms under test
        json.dumps({"v": value}), json.dumps([value]), caplog.text, value + "!", value.upper(),
    ]
    for text in renderings:
        assert SECRET not in text
    assert "[redacted]" in str(value) and "API_KEY" in repr(value)
    assert value.reveal() == SECRET


def test_cannot_be_pickled_or_copied():
    value = SecretValue(SECRET)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(value, protocol=protocol)
    with pytest.raises(TypeError):
        copy.copy(value)
    with pytest.raises(TypeError):
        copy.deepcopy({"v": value})


def test_equality_does_not_compare_the_marker():
    a, b = SecretValue(SECRET), SecretValue(SECRET)
    assert a != b and a != "[redacted]" and a == a
    assert a.reveal() == b.reveal()
