"""``python manage.py generate_keys``: fresh, distinct keys, ready to paste.

Prints both encryption keys and a ``DJANGO_SECRET_KEY``. Runs without Django
settings (settings refuse to load until keys exist). With ``--write FILE`` it adds
the ones that are missing and never replaces one that is set: a replaced encryption
key makes everything written under the old one unreadable, a replaced secret key
logs everyone out and voids every signed link.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

from platos.core.deploy import new_secret_key
from platos.core.keys import KEYRING_VARIABLES

# Only the current keys: a _NEXT key is a rotation decision, not a setup step.
KEY_VARIABLES = [current for current, _next in KEYRING_VARIABLES.values()]
_LINE = re.compile(r"\A\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)\Z")


def new_key() -> str:
    """32 ASCII characters (16 random bytes as hex): the spec's trap-free form."""
    return secrets.token_hex(16)


def _set_variables(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _LINE.match(line)
            if m:
                found[m.group(1)] = m.group(2).strip()
    return found


def write_missing(path: Path, *, with_dev: bool, out=sys.stdout) -> int:
    present = _set_variables(path)
    lines: list[str] = []
    for name in KEY_VARIABLES:
        if present.get(name):
            print(
                f"{name} is already set in {path}; leaving it alone (replacing a key "
                "makes everything encrypted under it unreadable; rotate it instead).",
                file=out,
            )
        else:
            lines.append(f"{name}={new_key()}")
    if not present.get("DJANGO_SECRET_KEY"):
        lines.append(f"DJANGO_SECRET_KEY={new_secret_key()}")
    if with_dev and "DJANGO_DEBUG" not in present:
        lines.append("DJANGO_DEBUG=true")
    if not lines:
        print(f"{path}: nothing to add.", file=out)
        return 0
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    sep = "" if not existing or existing.endswith("\n") else "\n"
    header = "" if existing else "# Written by `manage.py generate_keys --write`. Back up the keys off-host.\n"
    # The file holds keys: create it readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(sep + header + "\n".join(lines) + "\n")
    names = ", ".join(line.split("=", 1)[0] for line in lines)
    print(f"Added to {path}: {names}. Keep an off-host backup of the keys.", file=out)
    return 0


def main(argv: list[str] | None = None, *, out=sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="manage.py generate_keys",
        description="Print fresh ENCRYPTION_KEY, PLATOS_MESSAGE_ENCRYPTION_KEY and DJANGO_SECRET_KEY lines.",
    )
    parser.add_argument(
        "--write",
        metavar="FILE",
        help="add the keys (and DJANGO_SECRET_KEY) that are missing to FILE (e.g. .env); "
        "never overwrite one that is set",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="with --write, also add DJANGO_DEBUG=true if DJANGO_DEBUG is missing",
    )
    args = parser.parse_args(argv)
    if args.write:
        return write_missing(Path(args.write), with_dev=args.dev, out=out)
    for name in KEY_VARIABLES:
        print(f"{name}={new_key()}", file=out)
    print(f"DJANGO_SECRET_KEY={new_secret_key()}", file=out)
    return 0
