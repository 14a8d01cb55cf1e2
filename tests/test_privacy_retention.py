"""The retention job with a controllable clock: each rule deletes exactly what is past
its period, in batches, files too; run twice it deletes nothing more; a run killed
halfway leaves a consistent state that the next run finishes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from ehrenamt.cards import lifecycle
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    CardState,
    Engagement,
    LinkPurpose,
    Office,
    OneTimeLink,
    OutboxMessage,
    RetainedRevocation,
    RevocationReason,
    Upload,
    User,
    UserRole,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.privacy import deletion
from ehrenamt.privacy.retention import DeletionKind, apply_retention
from ehrenamt.verification import revocation
from ehrenamt.workflow import Actor, ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.privacy_data import attach_upload, make_card

DAY = timedelta(days=1)


def _months_after(moment: datetime, months: int) -> datetime:
    month_index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(month_index, 12)
    return moment.replace(year=year, month=month + 1, day=min(moment.day, 28))


def _decided(office: Office, state: ApplicationState, at: datetime) -> Application:
    application = make_application(office, state=state)
    application.state_changed_at = application.decided_at = at
    db.session.commit()
    return application


def _ids(model: type) -> set[int]:
    db.session.rollback()
    return set(db.session.scalars(select(model.id)))  # type: ignore[attr-defined]


@pytest.fixture
def office(ctx: None) -> Office:
    """An office with DESIGN.md's periods."""
    return make_office()


def test_decided_applications_go_six_months_after_the_decision(app: Flask, office: Office) -> None:
    """Rejected and withdrawn applications with engagements and uploads (files too) go
    after six months; a day before, they stay; open ones never go."""
    decided_at = utcnow().replace(day=10) - timedelta(days=400)
    rejected = _decided(office, ApplicationState.REJECTED, decided_at)
    withdrawn = _decided(office, ApplicationState.WITHDRAWN, decided_at)
    waiting = _decided(office, ApplicationState.IN_REVIEW, decided_at)
    all_ids = {rejected.id, withdrawn.id, waiting.id}
    waiting_id = waiting.id
    proof = attach_upload(rejected)
    file = Path(app.config["UPLOAD_FOLDER"]) / proof.stored_name
    assert file.exists()
    end = _months_after(decided_at, 6)

    assert apply_retention(end - DAY) == {}
    assert _ids(Application) == all_ids

    counts = apply_retention(end + DAY)
    assert counts == {(office.id, DeletionKind.DECIDED_APPLICATIONS): 2}
    assert _ids(Application) == {waiting_id}
    assert _ids(Upload) == set() and not file.exists()
    assert {e.application_id for e in db.session.scalars(select(Engagement))} == {waiting_id}
    assert apply_retention(end + DAY) == {}  # run twice: nothing more


def test_period_is_the_office_s_own(app: Flask, office: Office) -> None:
    """An office with a shorter period deletes sooner; another office is untouched."""
    decided_at = utcnow() - timedelta(days=100)
    office.rules.retention_decided_months = 3
    other = make_office()
    db.session.commit()
    _decided(office, ApplicationState.REJECTED, decided_at)
    theirs = _decided(other, ApplicationState.REJECTED, decided_at).id
    assert apply_retention(utcnow()) == {(office.id, DeletionKind.DECIDED_APPLICATIONS): 1}
    assert _ids(Application) == {theirs}


def test_card_data_goes_a_year_after_the_card_ended(app: Flask, office: Office) -> None:
    """Revoked: a year after the revocation, and its number stays on the revocation list
    until its validity passed. Expired: a year after the last day. Active: never."""
    clerk = make_user(UserRole.CLERK, office)
    start = utcnow() - timedelta(days=30)
    revoked_app = _decided(office, ApplicationState.APPROVED, start)
    revoked = make_card(
        revoked_app, valid_from=start.date(), valid_until=(start + 3 * 365 * DAY).date()
    )
    lifecycle.revoke(revoked, Acting.user_as(clerk, Actor.CLERK), RevocationReason.MISUSE, "x")
    revoked_number, revoked_until = revoked.number, revoked.valid_until
    revoked_at = revoked.revoked_at
    assert revoked_at is not None and revoked_until is not None
    expired_app = _decided(office, ApplicationState.APPROVED, start - 800 * DAY)
    expired = make_card(
        expired_app,
        state=CardState.EXPIRED,
        valid_from=(start - 800 * DAY).date(),
        valid_until=(start - 70 * DAY).date(),
    )
    active_app = _decided(office, ApplicationState.APPROVED, start - 800 * DAY)
    make_card(active_app, valid_from=start.date(), valid_until=(start + 700 * DAY).date())
    assert expired.valid_until is not None
    expired_end = datetime.combine(expired.valid_until, datetime.min.time(), revoked_at.tzinfo)
    revoked_app_id, active_app_id = revoked_app.id, active_app.id
    active_holder = active_app.applicant_id

    assert apply_retention(_months_after(expired_end, 12) - DAY) == {}
    assert apply_retention(_months_after(expired_end, 12) + 2 * DAY) == {
        (office.id, DeletionKind.CARD_DATA): 1
    }
    assert _ids(Application) == {revoked_app_id, active_app_id}

    assert apply_retention(_months_after(revoked_at, 12) - DAY) == {}
    assert apply_retention(_months_after(revoked_at, 12) + DAY) == {
        (office.id, DeletionKind.CARD_DATA): 1
    }
    assert _ids(Application) == {active_app_id}
    assert {c.holder_id for c in db.session.scalars(select(Card))} == {active_holder}
    # The number is still refused by every verifier until the card's validity ends.
    [kept] = db.session.scalars(select(RetainedRevocation)).all()
    assert (kept.number, kept.valid_until) == (revoked_number, revoked_until)
    listed = revocation.revocation_list()
    assert revocation.revocation_hash(listed.salt, revoked_number) in listed.hashes
    since_before = revocation.revocation_list(since=kept.revocation_version - 1)
    assert revocation.revocation_hash(listed.salt, revoked_number) in since_before.hashes
    # ...and leaves the list the day after the validity ended.
    after_end = datetime.combine(revoked_until, datetime.min.time(), revoked_at.tzinfo)
    assert apply_retention(after_end + DAY) == {(None, DeletionKind.RETAINED_REVOCATIONS): 1}
    assert revocation_list_numbers_hashed(revoked_number) is False


def revocation_list_numbers_hashed(number: str) -> bool:
    """Whether the full revocation list holds the number."""
    listed = revocation.revocation_list()
    return revocation.revocation_hash(listed.salt, number) in listed.hashes


def test_unconfirmed_applications_go_after_thirty_days_with_their_account(
    office: Office,
) -> None:
    """Never confirmed: application and account go after 30 days; a day before they stay;
    a confirmed person's account stays."""
    unconfirmed = make_user(UserRole.VOLUNTEER, confirmed=False)
    unconfirmed_id = unconfirmed.id
    waiting = make_application(office, unconfirmed, state=ApplicationState.SUBMITTED)
    confirmed_app = make_application(office, state=ApplicationState.SUBMITTED)
    confirmed_ids = (confirmed_app.id, confirmed_app.applicant_id)
    end = waiting.submitted_at + 30 * DAY
    assert apply_retention(end - DAY) == {}
    assert apply_retention(end + DAY) == {
        (office.id, DeletionKind.UNCONFIRMED_APPLICATIONS): 1,
        (office.id, DeletionKind.UNCONFIRMED_ACCOUNTS): 1,
    }
    assert _ids(Application) == {confirmed_ids[0]}
    assert unconfirmed_id not in _ids(User)
    assert confirmed_ids[1] in _ids(User)


def test_check_records_follow_the_office_s_period(app: Flask, office: Office) -> None:
    """Records of the office's cards after its period; records of no card after the
    deployment's VERIFICATION_RETENTION_DAYS."""
    office.rules.retention_check_days = 10
    db.session.commit()
    holder_app = _decided(office, ApplicationState.APPROVED, utcnow())
    card = make_card(holder_app, valid_from=utcnow().date(), valid_until=None)
    now = utcnow()
    default_days = app.config["VERIFICATION_RETENTION_DAYS"]
    ages = {"card old": 11, "card new": 9, "none old": default_days + 1, "none new": 11}
    ids = {}
    for name, days in ages.items():
        record = Verification(
            at=now - days * DAY,
            channel=VerificationChannel.PUBLIC,
            result="valid",
            card_id=card.id if name.startswith("card") else None,
        )
        db.session.add(record)
        db.session.flush()
        ids[name] = record.id
    db.session.commit()
    assert apply_retention(now) == {
        (office.id, DeletionKind.CHECK_RECORDS): 1,
        (None, DeletionKind.CHECK_RECORDS): 1,
    }
    assert _ids(Verification) == {ids["card new"], ids["none new"]}


def test_spent_links_and_old_sent_mails_go(app: Flask, office: Office) -> None:
    """Used or expired links go, a valid one stays; mails sent longer ago than
    SENT_MAIL_RETENTION_DAYS go, unsent ones and recent ones stay."""
    person = make_user(UserRole.VOLUNTEER)
    now = utcnow()
    links = {
        name: OneTimeLink(
            user_id=person.id,
            purpose=LinkPurpose.SIGN_IN,
            token_hash=f"{name:0<64}"[:64],
            expires_at=now + expires,
            used_at=used,
        )
        for name, expires, used in (
            ("used", DAY, now),
            ("expired", -DAY, None),
            ("valid", DAY, None),
        )
    }
    db.session.add_all(links.values())
    days = app.config["SENT_MAIL_RETENTION_DAYS"]
    mails = {
        name: OutboxMessage(task="ehrenamt.send_mail", payload={"to": "x"}, completed_at=done)
        for name, done in (
            ("old", now - (days + 1) * DAY),
            ("recent", now - (days - 1) * DAY),
            ("unsent", None),
        )
    }
    db.session.add_all(mails.values())
    db.session.commit()
    assert apply_retention(now) == {
        (None, DeletionKind.ONE_TIME_LINKS): 2,
        (None, DeletionKind.SENT_MAILS): 1,
    }
    assert _ids(OneTimeLink) == {links["valid"].id}
    assert _ids(OutboxMessage) == {mails["recent"].id, mails["unsent"].id}


def test_audit_rows_stay_without_personal_text(office: Office) -> None:
    """The audit rows of a deleted application stay: action, states, time, the clerk;
    the applicant's label becomes the pseudonym and free text goes."""
    application = _decided(office, ApplicationState.REJECTED, utcnow() - 400 * DAY)
    applicant = db.session.get(User, application.applicant_id)
    assert applicant is not None
    clerk = make_user(UserRole.CLERK, office)
    expected = [(deletion.pseudonym(applicant.id), None, None), (clerk.email, clerk.id, None)]
    for acting, reason in (
        (Acting.user_as(applicant, Actor.APPLICANT), None),
        (Acting.user_as(clerk, Actor.CLERK), f"other: {application.full_name} zu jung"),
    ):
        db.session.add(
            AuditEntry(
                actor_id=acting.user.id if acting.user else None,
                actor_role=acting.actor.value,
                actor_label=acting.label,
                office_id=office.id,
                subject_type="application",
                subject_id=application.id,
                action="reject",
                reason=reason,
            )
        )
    db.session.commit()
    apply_retention(utcnow())
    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(r.actor_label, r.actor_id, r.reason) for r in rows] == expected


def test_batches_bound_the_work_per_run_and_catch_up(
    app: Flask, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five due, two per transaction, three per run: 3, then 2, then nothing."""
    monkeypatch.setitem(app.config, "RETENTION_BATCH_SIZE", 2)
    monkeypatch.setitem(app.config, "RETENTION_MAX_ROWS_PER_RUN", 3)
    for _ in range(5):
        _decided(office, ApplicationState.REJECTED, utcnow() - 400 * DAY)
    batches: list[DeletionKind] = []
    kind = DeletionKind.DECIDED_APPLICATIONS
    assert apply_retention(utcnow(), after_batch=batches.append) == {(office.id, kind): 3}
    assert batches == [kind, kind]
    assert apply_retention(utcnow()) == {(office.id, kind): 2}
    assert apply_retention(utcnow()) == {}


def test_run_killed_halfway_leaves_a_consistent_state(
    app: Flask,
    office: Office,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """Killed after its first batch committed and before that batch's files were
    unlinked: the rest is untouched and whole; the next run finishes, orphans included."""
    monkeypatch.setitem(app.config, "RETENTION_BATCH_SIZE", 2)
    monkeypatch.setattr(deletion, "ORPHAN_MIN_AGE_SECONDS", 0.0)
    # A folder of its own: other tests' files outlive their rows (their tables are
    # emptied, not their folder) and would count as orphans here.
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    folder = Path(app.config["UPLOAD_FOLDER"])
    files = []
    for _ in range(4):
        application = _decided(office, ApplicationState.REJECTED, utcnow() - 400 * DAY)
        files.append(folder / attach_upload(application).stored_name)

    class Killed(Exception):
        pass

    def kill(kind: DeletionKind) -> None:
        raise Killed(kind)

    with pytest.raises(Killed):
        apply_retention(utcnow(), after_batch=kill)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Application)) == 2
    for upload in db.session.scalars(select(Upload)):  # every row left has its file
        assert (folder / upload.stored_name).exists()
    assert all(f.exists() for f in files)  # the first batch's files were not unlinked yet

    with caplog.at_level("INFO", logger="ehrenamt.privacy.retention"):
        counts = apply_retention(utcnow())
    assert counts == {
        (office.id, DeletionKind.DECIDED_APPLICATIONS): 2,
        (None, DeletionKind.ORPHAN_FILES): 2,
    }
    assert not any(f.exists() for f in files)
    assert _ids(Application) == set()
    assert "deleted 2 decided_applications" in caplog.text
    assert "Mustermann" not in caplog.text and "@" not in caplog.text
    assert apply_retention(utcnow()) == {}


def test_beat_runs_the_job(app: Flask) -> None:
    """One periodic task applies every period."""
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["apply-retention"]["task"] == "ehrenamt.apply_retention"
    assert schedule["apply-retention"]["schedule"] == app.config["RETENTION_INTERVAL_SECONDS"]
