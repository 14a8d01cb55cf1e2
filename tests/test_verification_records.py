"""The records of checks, written in batches: by the writer's own thread, after the
database was unreachable, when what they refer to was deleted, and never twice after a
fork."""

from __future__ import annotations

import logging
import multiprocessing
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ehrenamt import create_app
from ehrenamt.extensions import db
from ehrenamt.models import ApiKey, Verification, VerificationChannel, utcnow
from ehrenamt.verification import records as verification_records
from ehrenamt.verification.records import RecordWriter
from tests.conftest import POSTGRES_URL
from tests.harness import wait_until
from tests.processes import settings_for
from tests.test_api import check, make_benefit, make_partner, new_key


def record(partner_id: int | None = None, **columns: Any) -> dict[str, Any]:
    """One queued record, as :func:`verification_check.verify` makes it."""
    return {
        "at": utcnow(),
        "partner_id": partner_id,
        "api_key_id": None,
        "channel": VerificationChannel.PUBLIC if partner_id is None else VerificationChannel.API,
        "result": "invalid",
        "card_id": None,
        "benefit_id": None,
        **columns,
    }


def results_written() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(Verification.result).order_by(Verification.id)))


def test_the_thread_writes_the_api_checks_without_being_asked(
    app: Flask, ctx: None, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = RecordWriter(app, interval=0.05, max_pending=100)
    monkeypatch.setitem(app.extensions, "ehrenamt.verification_records", writer)
    partner, _ = make_partner()
    key = new_key(partner)
    for code in ("garbage", "more garbage!"):
        assert check(client, key, code).status_code == 200
    wait_until(
        lambda: len(results_written()) >= 2,
        timeout=10,
        interval=0.02,
        message="the writer's thread wrote nothing",
    )
    writer.stop()
    assert results_written() == ["invalid", "invalid"]
    [api_key] = db.session.scalars(select(ApiKey).where(ApiKey.partner_id == partner.id))
    assert api_key.last_used_at is not None  # written with the batch


def test_records_wait_while_the_database_cannot_be_reached(
    app: Flask, ctx: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database that is not there yet: a SQLite file in a folder not yet made, or a
    # PostgreSQL database not yet created.
    name = f"ehrenamt_test_later_{uuid.uuid4().hex[:8]}"
    if db.engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'later' / 'db.sqlite'}"
    else:
        url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    other = create_app(settings_for(app, DATABASE_URL=url))
    writer = RecordWriter(other, interval=3600, max_pending=3)
    try:
        with caplog.at_level(logging.ERROR, logger="ehrenamt.verification.records"):
            for result in ("valid", "expired", "revoked", "unknown", "invalid"):
                writer.add(record(result=result))
        assert writer.pending() == 3
        assert "dropped the 1 oldest" in caplog.text
        with pytest.raises(OperationalError):
            writer.flush()
        assert writer.pending() == 3  # back in the queue, not lost

        # The database is back.
        if db.engine.dialect.name == "sqlite":
            (tmp_path / "later").mkdir()
        else:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{name}"')
        with other.app_context():
            upgrade()
        assert writer.flush() == 3
        assert writer.pending() == 0
        with other.app_context():
            assert results_written() == ["revoked", "unknown", "invalid"]
            db.session.remove()
    finally:
        writer.stop()
        app.extensions["celery"].set_current()  # create_app made its own the current one
        for engine in db._app_engines.get(other, {}).values():
            engine.dispose()
        if db.engine.dialect.name == "postgresql":
            with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_record_is_written_even_if_its_benefit_was_deleted_meanwhile(
    app: Flask, ctx: None
) -> None:
    partner, _ = make_partner()
    benefit = make_benefit(partner)
    kept = make_benefit(partner)
    writer = verification_records.record_writer()
    writer.add(record(partner.id, result="valid", benefit_id=benefit.id))
    writer.add(record(partner.id, result="expired", benefit_id=kept.id))
    db.session.delete(benefit)
    db.session.commit()
    assert writer.flush() == 2
    db.session.rollback()
    rows = db.session.execute(
        select(Verification.result, Verification.benefit_id, Verification.partner_id).order_by(
            Verification.id
        )
    ).all()
    assert [tuple(row) for row in rows] == [
        ("valid", None, partner.id),
        ("expired", kept.id, partner.id),
    ]


def _pending_in_child(writer: RecordWriter, out: Any) -> None:
    out.put(writer.pending())


def test_a_forked_worker_does_not_write_its_parents_records(app: Flask, ctx: None) -> None:
    writer = verification_records.record_writer()
    writer.add(record(result="unknown"))
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_pending_in_child, args=(writer, out))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0
    assert out.get(timeout=5) == 0  # the parent writes it, once
    assert writer.pending() == 1
    assert writer.flush() == 1
    assert db.session.scalar(select(func.count()).select_from(Verification)) == 1
