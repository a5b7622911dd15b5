"""Imports point down: core -> audit -> secrets_app -> entities / messages_app -> operations.

Every non-test module's imports are read with ``ast`` (imports inside functions
included, so a lazy import cannot hide an upward dependency). A module may import
from its own layer and the layers below it, never from a layer above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Layer of a module, by dotted-name prefix; the longest matching prefix wins.
# Everything of ours not listed here (platos.rotation, platos.management, platos.admin,
# platos.urls, platos.settings, manage, gunicorn.conf ...) is operations: the top.
CORE, AUDIT, STORE, FEATURES, OPERATIONS = range(5)
LAYER_NAMES = {CORE: "core", AUDIT: "audit", STORE: "secrets_app", FEATURES: "features", OPERATIONS: "operations"}
LAYERS: dict[str, int] = {
    "platos.core": CORE,
    "platos.api": CORE,
    "audit": AUDIT,
    "secrets_app": STORE,
    "entities": FEATURES,
    "messages_app": FEATURES,
    "platos": OPERATIONS,
}
# Inside an app, these modules are operations (the command layer and migrations may
# reach any layer, as the admin site and urls do).
OPERATIONS_PARTS = {"management", "migrations"}
OURS = {"platos", "audit", "secrets_app", "entities", "messages_app"}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] not in OURS:
        return None
    if OPERATIONS_PARTS.intersection(parts[1:]):
        return OPERATIONS
    for n in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:n]))
        if layer is not None:
            return layer
    return OPERATIONS


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in the module, relative ones resolved."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from platos import api` imports platos.api (core), not the operations
            # package platos; a name that is not a module resolves to its module's layer.
            found.extend(
                (node.lineno, target if alias.name == "*" else f"{target}.{alias.name}") for alias in node.names
            )
    return found


def source_files() -> list[Path]:
    files = []
    for top in sorted(OURS):
        files.extend(p for p in (ROOT / top).rglob("*.py"))
    return sorted(files)


def violations(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        module = module_name(path)
        own = layer_of(module)
        if own is None or own == OPERATIONS:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, target in imported_modules(tree, module, path.name == "__init__.py"):
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                found.append(
                    f"{path.relative_to(ROOT)}:{line}: {LAYER_NAMES[own]} module {module} "
                    f"imports {target} ({LAYER_NAMES[theirs]})"
                )
    return sorted(set(found))


def test_imports_point_down():
    files = source_files()
    assert len(files) > 50  # the walk found the code (a wrong ROOT would pass vacuously)
    problems = violations(files)
    assert not problems, "upward imports:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("platos.core.envelope", "from audit.services import record\n", "imports audit.services.record (audit)"),
        ("audit.selectors", "def f():\n    from secrets_app import models\n", "secrets_app.models (secrets_app)"),
        ("secrets_app.scopes", "from entities.models import X\n", "imports entities.models.X (features)"),
        ("entities.services", "from platos.rotation import engine\n", "imports platos.rotation.engine (operations)"),
        ("platos.api", "from . import admin\n", "imports platos.admin (operations)"),
    ],
)
def test_an_upward_import_is_named(tmp_path, monkeypatch, module, source, expected):
    """The check itself can fail: a planted upward import is reported with file and import."""
    path = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True)
    path.write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    problems = violations([path])
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_downward_import_is_allowed(tmp_path, monkeypatch):
    path = tmp_path / "entities" / "services.py"
    path.parent.mkdir()
    path.write_text(
        "from audit.services import record\nfrom secrets_app.scopes import x\nfrom platos.core import keys\n"
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert violations([path]) == []


def test_no_module_is_over_300_lines():
    long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in source_files() + sorted((ROOT / "tests").rglob("*.py"))
        if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > 300
    ]
    assert not long, "split these into packages:\n" + "\n".join(long)
