"""The crypto core: keys, the envelope, encrypted fields, log redaction.

Imports no app (stdlib, cryptography and Django only): every layer above stands on it.
"""
