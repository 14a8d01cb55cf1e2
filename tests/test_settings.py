"""Settings: every one the code reads is declared, with a comment, in ehrenamt/config.py,
and the README documents the ones an operator sets and every ``EHRENAMT_*`` variable.

These tests read files only: no app, no database.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "ehrenamt" / "config.py"
README = ROOT / "README.md"

#: Keys the code reads but must not declare: Flask-SQLAlchemy's, which
#: ``ehrenamt._derive_settings`` makes from DATABASE_URL. (A declared SQLALCHEMY_BINDS dict
#: would be filled in place and so shared by every app of a process.)
READ_NOT_DECLARED = {"SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_BINDS"}

#: Declared settings that are not for operators, so the README leaves them out, and why.
INTERNAL = {
    "SQLALCHEMY_ENGINE_OPTIONS": "the code's own (pre-ping; replaced for SQLite, copied "
    "into the reads bind)",
    "BABEL_DEFAULT_LOCALE": "German is the language every text is written in",
    "LANGUAGES": "the languages that have a catalogue in ehrenamt/translations",
}

#: Durations (``timedelta``): the environment cannot give one (its JSON makes a number the
#: code cannot subtract from a time), so the README names them, without the prefix, as
#: settings of instance/config.py.
CONFIG_FILE_ONLY = {"OUTBOX_REDISPATCH_AFTER", "LOGIN_LINK_MAX_AGE", "EMAIL_CONFIRMATION_MAX_AGE"}

#: ``config["X"]``, ``config.get("X"``, ``config.setdefault("X"``, ``config.pop("X"``, on
#: any ``…config`` (``app.config``, ``current_app.config``, a local ``config``; templates'
#: ``config[…]`` too). Celery's own lower-case keys do not match.
CONFIG_READ = re.compile(
    r"""config(?:\[\s*|\.(?:get|setdefault|pop)\(\s*)["']([A-Z][A-Z0-9_]*)["']"""
)
#: Rate-limit settings are also handed around by name (ehrenamt/verification/limits.py).
SETTING_NAME = re.compile(r"""["'](RATELIMIT_[A-Z0-9_]+)["']""")
VARIABLE = re.compile(r"EHRENAMT_[A-Z][A-Z0-9_]*[A-Z0-9]")


def _files(*folders: str, suffixes: tuple[str, ...] = (".py",)) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in (ROOT / folder).rglob("*")
        if path.suffix in suffixes and path != CONFIG and ".venv" not in path.parts
    )


def _declared() -> dict[str, ast.expr]:
    """Each setting of ehrenamt/config.py with the expression of its value."""
    settings: dict[str, ast.expr] = {}
    for node in ast.parse(CONFIG.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                settings[target.id] = value
    return settings


def _read_by_code() -> dict[str, set[str]]:
    """Each key the code reads from the app config, with the files that read it."""
    read: dict[str, set[str]] = {}
    for path in _files("ehrenamt", "workers", "templates", suffixes=(".py", ".html")):
        source = path.read_text(encoding="utf-8")
        for pattern in (CONFIG_READ, SETTING_NAME):
            for name in pattern.findall(source):
                read.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return read


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])", text) is not None


def test_the_scan_finds_what_the_code_reads() -> None:
    """Guards the patterns below: they must keep finding the settings read in known ways."""
    read = _read_by_code()
    for name in ("MAIL_SERVER", "CARD_SIGNING_KEY", "BROKER_FOLDER", "RATELIMIT_API_PER_IP"):
        assert name in read
    assert "VERIFICATION_RETENTION_DAYS" in read  # a template's config["…"]
    assert len(read) > 50


def test_every_setting_the_code_reads_is_declared() -> None:
    declared = _declared()
    read = _read_by_code()
    missing = {
        name: sorted(files)
        for name, files in read.items()
        if name not in declared and name not in READ_NOT_DECLARED
    }
    assert not missing, f"declare these in ehrenamt/config.py: {missing}"
    assert READ_NOT_DECLARED.issubset(read), "READ_NOT_DECLARED names keys nobody reads"
    assert not READ_NOT_DECLARED & declared.keys()


def test_every_declared_setting_has_a_comment() -> None:
    """A ``#`` comment on the line, or above it in the same block of lines (a comment may
    speak for the few settings that follow it, as for MAIL_SERVER and MAIL_PORT)."""
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    uncommented = []
    for name in _declared():
        number = next(i for i, line in enumerate(lines) if re.match(rf"{name}\b", line))
        if "#" in lines[number]:
            continue
        above = number - 1
        while above >= 0 and lines[above].strip() and not lines[above].startswith("#"):
            above -= 1
        if above < 0 or not lines[above].startswith("#"):
            uncommented.append(name)
    assert not uncommented, f"say in ehrenamt/config.py what these are: {uncommented}"


def test_fallbacks_in_the_code_agree_with_the_declared_defaults() -> None:
    """Where code still reads ``config.get("X", default)``, that default is config.py's."""
    declared = _declared()
    differing = []
    for path in _files("ehrenamt", "workers"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "setdefault")
                and _is_config(node.func.value)
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in declared
            ):
                continue
            name = node.args[0].value
            fallback, default = _literal(node.args[1]), _literal(declared[name])
            if fallback is not _NOT_LITERAL and fallback != default:
                differing.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not differing


_NOT_LITERAL = object()


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return _NOT_LITERAL


def _is_config(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "config") or (
        isinstance(node, ast.Name) and node.id == "config"
    )


def test_readme_documents_every_operator_setting() -> None:
    declared = _declared()
    readme = README.read_text(encoding="utf-8")
    assert set(INTERNAL).issubset(declared) and CONFIG_FILE_ONLY.issubset(declared)
    undocumented = [
        name
        for name in declared
        if name not in INTERNAL
        and not _mentions(readme, f"EHRENAMT_{name}" if name not in CONFIG_FILE_ONLY else name)
    ]
    assert not undocumented, f"add to the README's settings tables: {undocumented}"


def test_readme_names_every_variable_the_code_reads() -> None:
    readme = README.read_text(encoding="utf-8")
    named: dict[str, set[str]] = {}
    for path in _files("ehrenamt", "workers", "tests", "bench"):
        for name in VARIABLE.findall(path.read_text(encoding="utf-8")):
            named.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert {"EHRENAMT_TEST_DATABASE", "EHRENAMT_BENCH_DATABASE_URL"} <= named.keys()
    missing = {name: sorted(files) for name, files in named.items() if not _mentions(readme, name)}
    assert not missing, f"add to the README's tables: {missing}"


def test_readme_names_no_variable_that_does_not_exist() -> None:
    """Every ``EHRENAMT_*`` of the README is a declared setting or named in the source."""
    declared = _declared()
    in_source = {
        name
        for path in _files("ehrenamt", "workers", "tests", "bench")
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
    }
    stale = sorted(
        name
        for name in set(VARIABLE.findall(README.read_text(encoding="utf-8")))
        if name not in in_source and name.removeprefix("EHRENAMT_") not in declared
    )
    assert not stale, f"the README names variables nothing reads: {stale}"
