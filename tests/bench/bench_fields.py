"""Throughput of platos.core.envelope.encrypt/decrypt beside Fernet, MultiFernet and a bare AESGCM call.

Run: .venv/bin/python tests/bench/bench_fields.py [--seconds 0.3] [--rounds 5]

Each case is timed in rounds that are interleaved with the other cases (so a
noisy neighbour slows everybody alike); the best round of each is reported as
ops/s, and the ratios are what to read. Targets (issue 16): at 200 B encrypt and
decrypt within 1.25x of the bare AESGCM call with its nonce and text encoding;
decrypt >= 4x Fernet at 2 KB and >= 8x at 20 KB; through the model field
(``get_db_prep_value`` / ``from_db_value`` of EncryptedTextField) within 1.4x of
bare at 200 B; EncryptedJSONField >= 3x Fernet (with json) at 200 B and 2 KB. That baseline ("AESGCM+b64") is what a
minimal text token costs: a fresh nonce, UTF-8 encoding of the value, one AESGCM
call and base64url of nonce+ciphertext (and the reverse for decrypt). What
platos adds on top is the envelope header, the keyring lookup and the
associated data. The raw AESGCM call without any text encoding is printed too.
The field and JSON rows ("field", "JSON") are the same sizes through the model
fields, beside the bare call and Fernet (+ json.dumps/loads for JSON). The "row"
rows are the row-bound (pv2) path of a real row-bound model (messages_app.Message,
bound to its UUID): encrypt is the seal a save performs (``pre_save`` then
``get_db_prep_value``), decrypt the open a load performs (``from_db_value`` then
``rowbound.open_loaded``, which the model's ``from_db`` calls); the "field" rows
beside them are the column-bound (pv1) path. Same target: within 1.4x of bare at 200 B.
"""

import argparse
import binascii
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings_test")

import django  # noqa: E402

django.setup()

import uuid  # noqa: E402

from cryptography.fernet import Fernet, MultiFernet  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from messages_app.models import Message  # noqa: E402
from platos.core.envelope import decrypt, encrypt  # noqa: E402
from platos.core.fields import EncryptedJSONField, EncryptedTextField  # noqa: E402
from platos.core.rowbound import open_loaded  # noqa: E402

SIZES = {"200 B": 200, "2 KB": 2_000, "20 KB": 20_000}
CONTEXT = "messages_app.Message.content"


def ops_per_second(fn, seconds):
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn()
        n += 50
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def cases_for(text):
    fernet = Fernet(Fernet.generate_key())
    multi = MultiFernet([Fernet(Fernet.generate_key()), fernet])
    aes = AESGCM(os.urandom(32))
    data = text.encode()
    f_token, m_token = fernet.encrypt(data), multi.encrypt(data)
    nonce = os.urandom(12)
    a_blob = aes.encrypt(nonce, data, None)
    p_token = encrypt(text, keyring="messages", context=CONTEXT)
    to_url, from_url = bytes.maketrans(b"+/", b"-_"), bytes.maketrans(b"-_", b"+/")

    def bare_encrypt():
        nonce = os.urandom(12)
        blob = nonce + aes.encrypt(nonce, text.encode(), None)
        return binascii.b2a_base64(blob, newline=False).translate(to_url).rstrip(b"=").decode()

    b_token = bare_encrypt()

    def bare_decrypt():
        blob = binascii.a2b_base64(b_token.encode().translate(from_url) + b"=" * (-len(b_token) % 4))
        return aes.decrypt(blob[:12], blob[12:], None).decode()

    text_field = EncryptedTextField(keyring="messages")
    text_field.set_attributes_from_name("content")
    text_field.model = None
    text_field._context = CONTEXT  # what contribute_to_class sets on a real model
    json_field = EncryptedJSONField(keyring="messages")
    json_field.set_attributes_from_name("meta")
    json_field._context = "messages_app.SafetyEvent.meta"
    doc = {"items": [text[i : i + 40] for i in range(0, len(text), 40)]}  # ~len(text) of JSON
    f_stored, j_stored = text_field.get_db_prep_value(text, None), json_field.get_db_prep_value(doc, None)
    fj_token = fernet.encrypt(json.dumps(doc).encode())
    row_field = Message._meta.get_field("content")
    message = Message(id=uuid.uuid4(), thread_id=uuid.uuid4(), sequence=1, role="user", content=text)
    r_stored = row_field.get_db_prep_value(row_field.pre_save(message, False), None)
    assert r_stored.startswith("pv2:")
    loaded = message.__dict__

    def row_open():
        loaded["content"] = row_field.from_db_value(r_stored, None, None)
        open_loaded(message)
        return loaded["content"]

    assert row_open() == text
    return {
        ("row", "encrypt"): lambda: row_field.get_db_prep_value(row_field.pre_save(message, False), None),
        ("row", "decrypt"): row_open,
        ("field", "encrypt"): lambda: text_field.get_db_prep_value(text, None),
        ("field", "decrypt"): lambda: text_field.from_db_value(f_stored, None, None),
        ("JSON", "encrypt"): lambda: json_field.get_db_prep_value(doc, None),
        ("JSON", "decrypt"): lambda: json_field.from_db_value(j_stored, None, None),
        ("Fernet+json", "encrypt"): lambda: fernet.encrypt(json.dumps(doc).encode()),
        ("Fernet+json", "decrypt"): lambda: json.loads(fernet.decrypt(fj_token)),
        ("platos", "encrypt"): lambda: encrypt(text, keyring="messages", context=CONTEXT),
        ("platos", "decrypt"): lambda: decrypt(p_token, keyring="messages", context=CONTEXT),
        ("Fernet", "encrypt"): lambda: fernet.encrypt(text.encode()),
        ("Fernet", "decrypt"): lambda: fernet.decrypt(f_token).decode(),
        ("MultiFernet", "encrypt"): lambda: multi.encrypt(text.encode()),
        ("MultiFernet", "decrypt"): lambda: multi.decrypt(m_token).decode(),
        ("AESGCM+b64", "encrypt"): bare_encrypt,
        ("AESGCM+b64", "decrypt"): bare_decrypt,
        ("raw AESGCM", "encrypt"): lambda: aes.encrypt(os.urandom(12), text.encode(), None),
        ("raw AESGCM", "decrypt"): lambda: aes.decrypt(nonce, a_blob, None).decode(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"best of {args.rounds} interleaved rounds of {args.seconds}s each; ops/s\n")
    header = f"{'size':>6} {'op':>8} {'platos':>9} {'Fernet':>9} {'MultiF.':>9} {'AES+b64':>9} {'rawAES':>9}"
    print(header + f" | {'platos/Fernet':>13} {'platos/MultiF.':>14} {'(AES+b64)/platos':>16}")
    for label, size in SIZES.items():
        text = ("Ünïcödé message text " * (size // 20 + 1))[:size]
        cases = cases_for(text)
        best = dict.fromkeys(cases, 0.0)
        for _ in range(args.rounds):
            for name, fn in cases.items():
                best[name] = max(best[name], ops_per_second(fn, args.seconds))
        for op in ("encrypt", "decrypt"):
            libs = ("platos", "Fernet", "MultiFernet", "AESGCM+b64", "raw AESGCM")
            p, f, m, a, r = (best[(lib, op)] for lib in libs)
            print(
                f"{label:>6} {op:>8} {p:>9,.0f} {f:>9,.0f} {m:>9,.0f} {a:>9,.0f} {r:>9,.0f}"
                f" | {p / f:>12.2f}x {p / m:>13.2f}x {a / p:>15.2f}x"
            )
        for op in ("encrypt", "decrypt"):
            fld, js, fj, a, rb = (best[(lib, op)] for lib in ("field", "JSON", "Fernet+json", "AESGCM+b64", "row"))
            print(
                f"{label:>6} {op:>8} field {fld:>9,.0f} (AES+b64)/field {a / fld:.2f}x"
                f" | row {rb:>9,.0f} (AES+b64)/row {a / rb:.2f}x field/row {fld / rb:.2f}x"
                f" | JSON {js:>9,.0f} Fernet+json {fj:>9,.0f} JSON/(Fernet+json) {js / fj:.2f}x"
            )
    print(
        "\ntargets: (AES+b64)/platos <= 1.25x at 200 B; decrypt platos/Fernet >= 4x at 2 KB, >= 8x at 20 KB;"
        "\n         (AES+b64)/field and (AES+b64)/row <= 1.4x at 200 B; JSON/(Fernet+json) >= 3x at 200 B and 2 KB"
    )


if __name__ == "__main__":
    main()
