"""ARCHITECTURE.md's import tree, enforced: an app imports only apps above it.

entities <- registry, mrv <- allowances, trading, voluntary <- compliance; nothing imports compliance.
Read from the source with ``ast`` (lazy imports inside functions count too).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ABOVE = {
    "entities": set(),
    "registry": {"entities"},
    "mrv": {"entities"},
    "allowances": {"entities", "registry", "mrv"},
    "trading": {"entities", "registry", "mrv"},
    "voluntary": {"entities", "registry", "mrv"},
    "compliance": {"entities", "registry", "mrv", "allowances", "trading", "voluntary"},
}


def _imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & ABOVE.keys()


@pytest.mark.parametrize("app", sorted(ABOVE))
def test_an_app_imports_only_apps_above_it(app):
    wrong = {}
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        extra = _imported_apps(path) - ABOVE[app] - {app}
        if extra:
            wrong[str(path.relative_to(ROOT))] = sorted(extra)
    assert wrong == {}
