"""The layout the README's "How it works" promises, kept by reading the source.

Domain packages hold the operations, ``ehrenamt/web/<audience>/`` the blueprints; a
blueprint never imports another, domain code never imports the web layer, the card
format imports no database, model or app code, and no module grows past 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ehrenamt import ROOT

PACKAGE = ROOT / "ehrenamt"
WEB = PACKAGE / "web"
#: The packages that hold operations and infrastructure, not requests.
DOMAIN = ("accounts", "applications", "cardformat", "cards", "core", "insight", "models", "offices",
          "partners", "verification")  # fmt: skip
MAX_LINES = 400


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _blueprints() -> list[str]:
    return sorted(p.name for p in WEB.iterdir() if (p / "views.py").exists())


def test_the_layout_has_what_the_readme_names() -> None:
    """The checks below look at real folders (a renamed package must not pass silently)."""
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} >= {*DOMAIN, "web"}
    assert len(_blueprints()) >= 10


@pytest.mark.parametrize("path", _modules(ROOT / "ehrenamt") + _modules(ROOT / "workers"))
def test_no_module_is_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


@pytest.mark.parametrize("blueprint", _blueprints())
def test_a_blueprint_imports_no_other_blueprint(blueprint: str) -> None:
    others = {f"ehrenamt.web.{name}" for name in _blueprints() if name != blueprint}
    found = {
        (path.name, name)
        for path in _modules(WEB / blueprint)
        for name in _imports(path)
        if any(name == other or name.startswith(other + ".") for other in others)
    }
    assert not found


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_code_imports_no_web_and_no_worker_code(package: str) -> None:
    found = {
        (str(path.relative_to(ROOT)), name)
        for path in _modules(PACKAGE / package)
        for name in _imports(path)
        if name.startswith(("ehrenamt.web", "workers"))
    }
    assert not found


def test_the_card_format_imports_no_database_model_or_app() -> None:
    """Pure code: an offline verifier or a benchmark uses it without an app."""
    allowed_own = "ehrenamt.cardformat"
    forbidden = ("sqlalchemy", "flask_sqlalchemy", "flask_login", "celery")
    found = set()
    for path in _modules(PACKAGE / "cardformat"):
        for name in _imports(path):
            own = name.startswith("ehrenamt") and not name.startswith(allowed_own)
            if own or name.startswith(forbidden) or name in ("flask", "flask.globals"):
                found.add((path.name, name))
    assert not found
