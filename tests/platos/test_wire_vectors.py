"""Frozen wire vectors: envelopes written once (tests/vectors/) must decrypt forever.

Each vector is opened twice: by platos.core.envelope, and by an independent reading of
the documented grammar with a bare AESGCM call, so a change that kept our encoder and
decoder in step with each other but moved away from the documented format still fails.
"""

import base64
import json
import re
import uuid
from pathlib import Path
from urllib.parse import unquote

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.test import override_settings

from platos.core.envelope import DecryptionError, decrypt, encode_row, encrypt
from platos.core.keys import key_id, load_keyrings, parse_key

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
FILES = sorted(VECTORS.glob("pv*.json"))
RING_VARIABLE = {"encryption": "ENCRYPTION_KEY", "messages": "PLATOS_MESSAGE_ENCRYPTION_KEY"}
GRAMMAR = {
    "pv1": re.compile(r"\Apv1:(?P<kid>[0-9a-f]{12}):(?P<body>[A-Za-z0-9_-]+)\Z"),
    "pv2": re.compile(r"\Apv2:(?P<kid>[0-9a-f]{12}):(?P<body>[A-Za-z0-9_-]+)\Z"),
}
# The documented <row>: name=value pairs joined by "&", each part percent-encoded (unreserved kept).
ROW = re.compile(r"\A[A-Za-z0-9._~%-]+=[A-Za-z0-9._~%-]*(&[A-Za-z0-9._~%-]+=[A-Za-z0-9._~%-]*)*\Z")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def cases():
    for path in FILES:
        doc = load(path)
        for n, vector in enumerate(doc["vectors"]):
            yield pytest.param(doc, vector, id=f"{path.stem}-{n}-{vector['context']}")


def independent_open(doc: dict, vector: dict) -> str:
    """Decrypt from the README's grammar alone: no code of ours but the key parser."""
    match = GRAMMAR[doc["version"]].match(vector["token"])
    assert match, vector["token"]
    kid, body = match["kid"], match["body"]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    nonce, sealed = raw[:12], raw[12:]
    variable = RING_VARIABLE[vector["keyring"]]
    key = parse_key(variable, doc["keys"][variable])
    aad = doc["aad"].replace("<key id>", kid).replace("<context>", vector["context"])
    aad = aad.replace("<row>", vector.get("row", "")).encode()
    return AESGCM(key).decrypt(nonce, sealed, aad).decode("utf-8", "surrogatepass")


def test_there_are_vectors():
    assert FILES, "tests/vectors/ holds no vector file"
    assert sum(len(load(p)["vectors"]) for p in FILES) >= 8


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_key_ids_are_pinned(path):
    """The key id is a stable fingerprint: changing its derivation orphans every stored row."""
    doc = load(path)
    for variable, value in doc["keys"].items():
        assert key_id(parse_key(variable, value)) == doc["key_ids"][variable]


@pytest.mark.parametrize(("doc", "vector"), list(cases()))
def test_vector_decrypts_forever(doc, vector):
    row = vector.get("row")  # pv2 only; a pv1 token ignores it
    with override_settings(PLATOS_KEYRINGS=load_keyrings(doc["keys"])):
        assert decrypt(vector["token"], keyring=vector["keyring"], context=vector["context"],
                       row=row) == vector["plaintext"]
    assert independent_open(doc, vector) == vector["plaintext"]


@pytest.mark.parametrize(("doc", "vector"), list(cases()))
def test_fresh_output_matches_the_documented_grammar(doc, vector):
    with override_settings(PLATOS_KEYRINGS=load_keyrings(doc["keys"])):
        token = encrypt(vector["plaintext"], keyring=vector["keyring"], context=vector["context"],
                        row=vector.get("row"))
    # pv1 (no row) and pv2 (with a row) are both what fresh writes use.
    assert GRAMMAR[doc["version"]].match(token)
    assert independent_open(doc, {**vector, "token": token}) == vector["plaintext"]
    assert token.split(":")[1] == doc["key_ids"][RING_VARIABLE[vector["keyring"]]]


def test_a_vector_in_another_context_does_not_open():
    doc = load(VECTORS / "pv1.json")
    vector = doc["vectors"][0]
    with pytest.raises(InvalidTag):
        independent_open(doc, {**vector, "context": vector["context"] + "x"})


def pv2_cases():
    doc = load(VECTORS / "pv2.json")
    for n, vector in enumerate(doc["vectors"]):
        yield pytest.param(doc, vector, id=f"pv2-{n}-{vector['context']}")


@pytest.mark.parametrize(("doc", "vector"), list(pv2_cases()))
def test_pv2_rows_follow_the_documented_grammar(doc, vector):
    row = vector["row"]
    assert ROW.match(row), row
    pairs = [tuple(unquote(part) for part in pair.split("=")) for pair in row.split("&")]
    assert pairs == [(name, str(value)) for name, value in vector["identity"]]
    typed = [(n, uuid.UUID(v) if n == "id" else v) for n, v in vector["identity"]]
    assert encode_row(typed) == row


@pytest.mark.parametrize(("doc", "vector"), list(pv2_cases()))
def test_a_pv2_vector_does_not_open_without_its_row_or_in_another(doc, vector):
    with override_settings(PLATOS_KEYRINGS=load_keyrings(doc["keys"])):
        for row in (None, vector["row"] + "&x=1"):
            with pytest.raises(DecryptionError):
                decrypt(vector["token"], keyring=vector["keyring"], context=vector["context"], row=row)
    with pytest.raises(InvalidTag):
        independent_open(doc, {**vector, "row": vector["row"].replace("=", "=0", 1)})
