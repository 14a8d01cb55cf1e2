"""The retention job on today's tables, with a controllable clock: printed letters, print
runs, unconfirmed imports of old cards, data exports, e-mail changes and name change
requests each go at the end of their period and a day before they stay; the separate
clean-up task is gone; every kind has a label in the deletion report."""

from __future__ import annotations

import os
import secrets
import time
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.celery_app import celery_config
from ehrenamt.extensions import db
from ehrenamt.labels import DELETION_KIND_LABELS
from ehrenamt.models import (
    Application,
    Card,
    EmailChange,
    LegacyImport,
    LegacyImportState,
    Letter,
    Office,
    PrintRun,
    PrintRunCard,
    PrintRunState,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.privacy import deletion, retention
from ehrenamt.privacy import export as data_export
from ehrenamt.privacy.notice import notice_content
from ehrenamt.privacy.retention import DeletionKind, apply_retention
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, sign_in
from tests.privacy_data import make_card, make_letter, make_print_run

DAY = timedelta(days=1)


@pytest.fixture
def office(ctx: None) -> Office:
    """An office with the default periods."""
    return make_office()


def _card(office: Office) -> Card:
    application = make_application(office, state=ApplicationState.APPROVED)
    return make_card(application, valid_from=date.today(), valid_until=date(2099, 1, 1))


def _ids(model: type) -> set[int]:
    db.session.rollback()
    return set(db.session.scalars(select(model.id)))  # type: ignore[attr-defined]


def test_printed_letters_go_after_their_period(app: Flask, office: Office) -> None:
    """Printed longer ago than LETTER_RETENTION_DAYS: gone; a day less: kept; a letter
    still waiting to be printed is never deleted."""
    now = utcnow()
    days = app.config["LETTER_RETENTION_DAYS"]
    application = make_application(office, state=ApplicationState.IN_REVIEW)
    make_letter(application, printed_at=now - timedelta(days=days) - DAY)
    recent = make_letter(application, printed_at=now - timedelta(days=days) + DAY)
    waiting = make_letter(application)
    waiting.created_at = now - timedelta(days=days * 3)
    db.session.commit()
    kept = {recent.id, waiting.id}
    assert apply_retention(now)[(None, DeletionKind.PRINTED_LETTERS)] == 1
    assert _ids(Letter) == kept
    assert (None, DeletionKind.PRINTED_LETTERS) not in apply_retention(now)
    assert _ids(Letter) == kept


def test_letters_go_with_their_application_and_card(office: Office) -> None:
    """The database's cascade takes a letter about a deleted application or card (on
    SQLite too: foreign keys are switched on)."""
    card = _card(office)
    application = db.session.get(Application, card.application_id)
    assert application is not None
    make_letter(application)
    make_letter(application, card=card)
    other = make_letter(make_application(office, state=ApplicationState.IN_REVIEW))
    deleted = deletion.delete_applications([application.id], date.today())
    db.session.commit()
    assert deleted.applications == 1 and deleted.cards == 1
    assert _ids(Letter) == {other.id}


def test_print_runs_go_after_posting_failing_or_abandoning(app: Flask, office: Office) -> None:
    """Posted, failed, and never posted (abandoned) runs with their card lists go
    PRINT_RUN_RETENTION_DAYS after posting or making; a day before they stay."""
    now = utcnow()
    period = timedelta(days=app.config["PRINT_RUN_RETENTION_DAYS"])
    card = _card(office)
    long_ago, lately = now - period - DAY, now - period + DAY
    gone = [
        make_print_run(office, [card], PrintRunState.POSTED, long_ago, posted_at=long_ago),
        make_print_run(office, [card], PrintRunState.FAILED, long_ago),
        make_print_run(office, [card], PrintRunState.READY, long_ago),
    ]
    kept = [
        # Made long ago, posted lately: the period runs from the posting.
        make_print_run(office, [card], PrintRunState.POSTED, long_ago, posted_at=lately),
        make_print_run(office, [card], PrintRunState.FAILED, lately),
        make_print_run(office, [card], PrintRunState.READY, lately),
    ]
    assert len(gone) == 3
    assert apply_retention(now)[(None, DeletionKind.PRINT_RUNS)] == 3
    assert _ids(PrintRun) == {run.id for run in kept}
    remaining = set(db.session.scalars(select(PrintRunCard.print_run_id)))
    assert remaining == {run.id for run in kept}
    assert (None, DeletionKind.PRINT_RUNS) not in apply_retention(now)
    assert db.session.get(Card, card.id) is not None  # the card itself stays


def test_a_run_whose_card_is_deleted_loses_its_pdf(office: Office) -> None:
    """A ready run holding a deleted card fails (nobody posts a deleted card) and its
    PDF, which names the holder, is dropped; its other cards stay listed."""
    card, other = _card(office), _card(office)
    run = make_print_run(office, [card, other], PrintRunState.READY, utcnow())
    run_id = run.id
    deletion.delete_applications([card.application_id], date.today())
    db.session.commit()
    db.session.expire_all()
    kept = db.session.get(PrintRun, run_id)
    assert kept is not None
    assert (kept.state, kept.pdf, kept.error) == (
        PrintRunState.FAILED,
        None,
        deletion.PRINT_RUN_CARD_DELETED,
    )
    assert [entry.card_id for entry in kept.cards] == [other.id]


def _legacy_import(office: Office, state: LegacyImportState, created_at: datetime) -> int:
    row = LegacyImport(
        public_id=secrets.token_hex(16),
        office_id=office.id,
        created_at=created_at,
        original_name="alte-karten.csv",
        file_kind="csv",
        content=None if state == LegacyImportState.DONE else b"number;name\n1;Erika",
        sha256="0" * 64,
        state=state,
        total_rows=1,
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def test_imports_never_confirmed_go_like_unclaimed_uploads(app: Flask, office: Office) -> None:
    """A checked file nobody confirmed goes after UNCLAIMED_UPLOAD_MAX_AGE_HOURS with its
    row; an hour before it stays; a finished import (its file already dropped) stays."""
    now = utcnow()
    period = timedelta(hours=app.config["UNCLAIMED_UPLOAD_MAX_AGE_HOURS"])
    hour = timedelta(hours=1)
    _legacy_import(office, LegacyImportState.CHECKED, now - period - hour)
    kept = {
        _legacy_import(office, LegacyImportState.CHECKED, now - period + hour),
        _legacy_import(office, LegacyImportState.DONE, now - period * 30),
    }
    assert apply_retention(now)[(None, DeletionKind.UNCONFIRMED_IMPORTS)] == 1
    assert _ids(LegacyImport) == kept
    assert (None, DeletionKind.UNCONFIRMED_IMPORTS) not in apply_retention(now)


def test_a_used_email_change_stays_as_long_as_mails_to_the_old_address(
    app: Flask, office: Office
) -> None:
    """A change used less than SENT_MAIL_RETENTION_DAYS and a day ago stays: it names
    the old address, by which the export finds the mails sent there."""
    application = make_application(office, state=ApplicationState.APPROVED)
    now = utcnow()
    kept = app.config["SENT_MAIL_RETENTION_DAYS"] * DAY + DAY
    db.session.add(
        EmailChange(
            user_id=application.applicant_id,
            new_email="neu@example.org",
            old_email="alt@example.org",
            token_hash="d" * 64,
            expires_at=now - kept,
            used_at=now - kept + timedelta(hours=1),
        )
    )
    db.session.commit()
    assert (None, DeletionKind.EMAIL_CHANGES) not in apply_retention(now)
    assert apply_retention(now + timedelta(hours=2))[(None, DeletionKind.EMAIL_CHANGES)] == 1


def test_one_job_no_separate_clean_up_task(app: Flask) -> None:
    """Exports, e-mail changes and name change requests are the retention job's: the
    separate beat task and its interval setting are gone."""
    schedule = celery_config(app)["beat_schedule"]
    tasks = {entry["task"] for entry in schedule.values()}
    assert "ehrenamt.apply_retention" in tasks
    assert "ehrenamt.delete_expired_privacy_rows" not in tasks
    assert "EXPORT_CLEANUP_INTERVAL_SECONDS" not in app.config


def test_every_kind_has_a_label_in_the_report() -> None:
    """The deletion report names every kind in words."""
    assert {kind.value for kind in DeletionKind} == set(DELETION_KIND_LABELS)


def test_the_privacy_page_states_the_new_periods(
    app: Flask, client: FlaskClient, office: Office
) -> None:
    """The page is generated from the settings: changing one changes it."""
    before = notice_content(office)
    assert before["letter_days"] == app.config["LETTER_RETENTION_DAYS"]
    app.config["PRINT_RUN_RETENTION_DAYS"] = 45
    try:
        after = notice_content(office)
        text = page_text(client.get(f"/datenschutz/{office.slug}"))
    finally:
        app.config["PRINT_RUN_RETENTION_DAYS"] = before["print_run_days"]
    assert after["print_run_days"] == 45 and after != before
    assert (
        f"Briefe an Sie (Anschrift und Text): {before['letter_days']} Tage nach dem Druck" in text
    )
    assert "Begleitbrief: 45 Tage nach dem Versand" in text
    assert f"Datenauskunft zum Herunterladen: {before['export_days']} Tage" in text


def test_the_admin_report_counts_and_states_the_new_kinds(
    app: Flask, client: FlaskClient, office: Office
) -> None:
    """The deletion report names a printed letter's deletion and the periods in force."""
    admin = make_user(UserRole.ADMIN, office)
    sign_in(client, admin)
    now = utcnow()
    application = make_application(office, state=ApplicationState.IN_REVIEW)
    make_letter(application, printed_at=now - timedelta(days=400))
    apply_retention(now)
    html = page_text(client.get("/verwaltung/einstellungen/aufbewahrung"))
    assert "Gedruckte Briefe" in html
    assert '<td data-kind="printed_letters">1</td>' in html
    days = app.config["LETTER_RETENTION_DAYS"]
    assert f"Gedruckte Briefe: {days} Tage nach dem Druck" in html
    assert "Druckaufträge mit ihrer Druckdatei: " in html


def test_export_files_left_by_a_killed_run_are_swept(office: Office) -> None:
    """A run that died between deleting an export's row and unlinking its file leaves an
    orphan: the next run deletes it once it is older than an hour; a fresh file whose
    row may not be committed yet stays, as does a file a row still names."""
    application = make_application(office, state=ApplicationState.APPROVED)
    user = db.session.get(User, application.applicant_id)
    assert user is not None
    kept = data_export.request_export(user)
    folder = data_export.export_folder()
    old, fresh = folder / "verwaist.zip", folder / "frisch.zip"
    for path in (old, fresh, data_export.path_of(kept)):
        path.write_bytes(b"PK")
    hours_ago = time.time() - 2 * deletion.ORPHAN_MIN_AGE_SECONDS
    for path in (old, data_export.path_of(kept)):
        os.utime(path, (hours_ago, hours_ago))
    assert apply_retention()[(None, DeletionKind.ORPHAN_FILES)] == 1
    assert not old.exists() and fresh.exists() and data_export.path_of(kept).exists()


@pytest.mark.parametrize(("share", "pauses"), [(1.0, 3), (0.0, 0)])
def test_the_job_pauses_after_each_batch_as_long_as_it_took(
    app: Flask, office: Office, monkeypatch: pytest.MonkeyPatch, share: float, pauses: int
) -> None:
    """RETENTION_PAUSE_SHARE: after each committed batch the job yields the cores for that
    share of the batch's time (bench/retention.py); 0 turns the pause off."""
    monkeypatch.setitem(app.config, "RETENTION_BATCH_SIZE", 2)
    monkeypatch.setitem(app.config, "RETENTION_PAUSE_SHARE", share)
    taken: list[float] = []
    monkeypatch.setattr(retention, "pause", taken.append)
    user = make_user(UserRole.VOLUNTEER)
    long_ago = utcnow() - 3 * DAY
    db.session.add_all(
        EmailChange(
            user_id=user.id,
            new_email=f"neu{n}@example.org",
            token_hash=f"{n:0>64}",
            expires_at=long_ago,
        )
        for n in range(5)
    )
    db.session.commit()
    assert apply_retention(utcnow())[(None, DeletionKind.EMAIL_CHANGES)] == 5
    assert len(taken) == pauses  # batches of 2, 2 and 1
    assert all(seconds > 0 for seconds in taken)
