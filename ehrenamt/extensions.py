"""Extension instances, unbound; :func:`ehrenamt.create_app` binds them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Executable, Row, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ehrenamt.models.base import Base

db = SQLAlchemy(model_class=Base)
T = TypeVar("T")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: enforce foreign keys (cascades) and let readers run beside a writer."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


_PER_APP_LOCK = threading.Lock()


def per_app(name: str, make: Callable[[Flask], T]) -> T:
    """The current app's ``app.extensions[name]``, made by ``make(app)`` on first use.

    For what a web process keeps in memory per app (caches, the record writer): one per
    app, made once even if two threads ask at the same moment.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(name)
    if found is None:
        with _PER_APP_LOCK:
            found = app.extensions.get(name)
            if found is None:
                found = app.extensions[name] = make(app)
    return found


#: The bind of the hot single-query reads (see :func:`read_one`).
READS_BIND = "reads"


def read_one(statement: Executable, parameters: dict[str, Any] | None = None) -> Row[Any] | None:
    """The one row ``statement`` selects (or None), read outside any transaction.

    For the till API, where a check is a single indexed read: the ``reads`` bind runs in
    autocommit (no BEGIN and ROLLBACK around it) and does not ping each connection it
    takes from the pool. A connection the server dropped (a restart) fails once; the pool
    then discards its connections and the read is tried once more on a fresh one.
    """
    return _read(lambda connection: connection.execute(statement, parameters).one_or_none())


def read_all(statement: Executable, parameters: dict[str, Any] | None = None) -> list[Row[Any]]:
    """All rows ``statement`` selects, read as :func:`read_one` reads."""
    return _read(lambda connection: list(connection.execute(statement, parameters)))


def _read(run: Callable[[Connection], T]) -> T:
    engine = db.engines[READS_BIND]
    for attempt in (1, 2):
        try:
            with engine.connect() as connection:
                return run(connection)
        except DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
    raise AssertionError("unreachable")


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


def select_locale() -> str | None:
    """German unless the visitor chose or asks for another offered language."""
    from flask import current_app, has_request_context, session

    if not has_request_context():
        # Periodic jobs in the worker: the default language (German).
        return None
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("language")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages, default=languages[0])


babel = Babel()
