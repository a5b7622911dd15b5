"""Log redaction: no secret value read in this process, and no common credential shape,
reaches a log line or a logged traceback.

Two layers, both switched on by ``settings.LOGGING_CONFIG = "platos.core.logging.configure"``:

* a **LogRecord factory** that redacts every record when it is created. It covers every
  logger and every handler, including handlers added after configuration (pytest's
  ``caplog``, an APM agent, a handler a library attaches to its own logger). A filter on
  the root *logger* would not do this: logger filters only see records logged on that
  exact logger, not the ones that propagate up from ``django.request`` & co.
* a :class:`RedactingFilter` on the configured handlers, for records that bypass the
  factory (``logging.makeLogRecord`` overwrites the record's ``__dict__`` after creation).

Exception text is redacted too: a record carrying ``exc_info`` gets its traceback
formatted, redacted, stored as ``exc_text``, and ``exc_info`` is dropped, so no handler
downstream (e.g. ``AdminEmailHandler``) can re-render the traceback or walk its frames'
local variables.

Which values are known: :func:`register_secret` is called with every plaintext that
leaves the secret store (``ScopedEnvService``, ``SecretsService``, reveal). They are
kept in a bounded, process-local LRU (at most ``MAX_VALUES`` strings, each forgotten
``TTL_SECONDS`` after its last read). We keep the strings themselves, not digests:
finding a secret inside arbitrary text needs the text, and hashing every substring of
every log line would cost more than the log line. The plaintext was already in this
process's memory when it was read; the registry holds it at most ``TTL_SECONDS`` longer.
Values shorter than ``MIN_LENGTH`` are not registered (they would redact ordinary words);
the credential-shape patterns still apply to them.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import threading
import time
import traceback
import urllib.parse
from collections import OrderedDict

REDACTED = "[redacted]"
MAX_VALUES = 1024
TTL_SECONDS = 15 * 60
MIN_LENGTH = 8

# Common credential shapes, redacted whether or not this process read them.
_SHAPES: list[tuple[re.Pattern[str], str]] = [
    # OpenAI / Anthropic style keys (sk-..., sk-proj-..., sk-ant-...).
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), REDACTED),
    # Google API keys.
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"), REDACTED),
    # Authorization header credentials. "Token"/"Basic" are ordinary words too, so only
    # their credential forms are matched (DRF's 40-hex token, base64 after "Basic").
    (re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=\-]{8,}"), r"\1\2" + REDACTED),
    (re.compile(r"\b(Token)(\s+)[0-9a-fA-F]{40}\b"), r"\1\2" + REDACTED),
    # Platos API tokens (plt_ + hex, knox): in headers, in SQL parameters ('plt_…',
    # b'plt_…', %27plt_…), anywhere. Even the 15-character lookup prefix is redacted.
    (re.compile(r"plt_[0-9a-fA-F]{8,}"), REDACTED),
    (re.compile(r"\b(Basic)(\s+)[A-Za-z0-9+/]{8,}={0,2}"), r"\1\2" + REDACTED),
]


class _Registry:
    """Bounded LRU of secret strings with a TTL. Thread-safe; process-local by design."""

    def __init__(self, *, max_values: int = MAX_VALUES, ttl: float = TTL_SECONDS) -> None:
        self.max_values = max_values
        self.ttl = ttl
        self._values: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._dirty = False

    def add(self, value: str) -> None:
        if not isinstance(value, str) or len(value) < MIN_LENGTH:
            return
        with self._lock:
            if value not in self._values:
                self._dirty = True
            self._values[value] = time.monotonic() + self.ttl
            self._values.move_to_end(value)
            while len(self._values) > self.max_values:
                self._values.popitem(last=False)
                self._dirty = True

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None
            self._dirty = False

    def __len__(self) -> int:
        return len(self._values)

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            now = time.monotonic()
            while self._values:
                oldest, expires = next(iter(self._values.items()))
                # Entries are kept in last-read order, so expiries are in order too.
                if expires > now:
                    break
                self._values.popitem(last=False)
                self._dirty = True
            if self._dirty:
                # Longest first, so a secret containing another is redacted whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
                self._dirty = False
            return self._pattern


_registry = _Registry()


def _spellings(value: str) -> set[str]:
    """The forms a secret takes in a log line: as is, as ``%r``/inside a container shows
    it, as JSON and URL-encoded, and each long line of a multi-line secret (a PEM key)."""
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    if "\n" in value:
        forms.update(line.strip() for line in value.splitlines())
    return forms


def register_secret(value: str) -> None:
    """Remember a plaintext that left the store, so it is redacted from logs from now on."""
    if not isinstance(value, str):
        return
    for form in _spellings(value):
        _registry.add(form)


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential shape replaced."""
    if not text:
        return text
    pattern = _registry.pattern()
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: message, traceback and stack. Leaves clean records untouched."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: never let logging raise from here
        message = f"{record.msg!s} (unformattable log arguments dropped)"
        record.msg, record.args = message, ()
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[0] is not None:
        text = record.exc_text or "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact(text)
        record.exc_info = None  # no handler may re-render the traceback or its frames' locals
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """Handler filter: redacts and always lets the record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_factory_lock = threading.Lock()


def install_record_factory() -> None:
    """Wrap the current LogRecord factory so every record is redacted at creation. Idempotent."""
    with _factory_lock:
        current = logging.getLogRecordFactory()
        if getattr(current, "_platos_redacting", False):
            return

        def factory(*args, **kwargs):
            return redact_record(current(*args, **kwargs))

        factory._platos_redacting = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)


def configure(logging_settings: dict) -> None:
    """``LOGGING_CONFIG``: apply the LOGGING dict, then switch record-level redaction on."""
    logging.config.dictConfig(logging_settings)
    install_record_factory()
