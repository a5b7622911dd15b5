"""Frozen wire vectors: envelopes written once (tests/vectors/) must decrypt forever.

Each vector is opened twice: by platos.core.envelope, and by an independent reading of
the documented grammar with a bare AESGCM call, so a change that kept our encoder and
decoder in step with each other but moved away from the documented format still fails.
"""

import base64
import json
import re
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.test import override_settings

from platos.core.envelope import decrypt, encrypt
from platos.core.keys import key_id, load_keyrings, parse_key

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
FILES = sorted(VECTORS.glob("pv*.json"))
RING_VARIABLE = {"encryption": "ENCRYPTION_KEY", "messages": "PLATOS_MESSAGE_ENCRYPTION_KEY"}
GRAMMAR = {"pv1": re.compile(r"\Apv1:(?P<kid>[0-9a-f]{12}):(?P<body>[A-Za-z0-9_-]+)\Z")}


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
    aad = doc["aad"].replace("<key id>", kid).replace("<context>", vector["context"]).encode()
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
    with override_settings(PLATOS_KEYRINGS=load_keyrings(doc["keys"])):
        assert decrypt(vector["token"], keyring=vector["keyring"], context=vector["context"]) == vector["plaintext"]
    assert independent_open(doc, vector) == vector["plaintext"]


@pytest.mark.parametrize(("doc", "vector"), list(cases()))
def test_fresh_output_matches_the_documented_grammar(doc, vector):
    with override_settings(PLATOS_KEYRINGS=load_keyrings(doc["keys"])):
        token = encrypt(vector["plaintext"], keyring=vector["keyring"], context=vector["context"])
    if doc["version"] == "pv1":  # the version fresh writes use; older files only decrypt
        assert GRAMMAR["pv1"].match(token)
        assert independent_open(doc, {**vector, "token": token}) == vector["plaintext"]
        assert token.split(":")[1] == doc["key_ids"][RING_VARIABLE[vector["keyring"]]]


def test_a_vector_in_another_context_does_not_open():
    doc = load(VECTORS / "pv1.json")
    vector = doc["vectors"][0]
    with pytest.raises(InvalidTag):
        independent_open(doc, {**vector, "context": vector["context"] + "x"})
