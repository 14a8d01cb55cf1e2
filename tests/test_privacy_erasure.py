"""A person erased: nothing of their name, e-mail, birth date or address is left in any
text column of any table; their revoked card stays on the revocation list; the audit rows
stay without personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.accounts import links
from ehrenamt.cards.index import card_index
from ehrenamt.core import mail
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import NotPermitted
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    CardState,
    DataExport,
    EmailChange,
    Letter,
    LinkPurpose,
    NameChangeRequest,
    NameChangeState,
    Office,
    PrintRun,
    PrintRunCard,
    PrintRunState,
    Upload,
    User,
    UserRole,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.privacy import deletion, erasure
from ehrenamt.privacy import export as data_export
from ehrenamt.privacy.retention import apply_retention
from ehrenamt.verification import check, revocation
from ehrenamt.workflow import Actor, ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.privacy_data import (
    attach_upload,
    make_card,
    make_letter,
    make_print_run,
    text_columns_containing,
)

BIRTH_DATE = date(1971, 3, 9)


@dataclass
class Person:
    """A volunteer with two applications, a card, an upload, links, mails and checks."""

    user: User
    office: Office
    clerk: User
    card_number: str
    files: list[Path]
    needles: list[str]
    application_ids: list[int]
    print_run_id: int


@pytest.fixture
def person(app: Flask, ctx: None) -> Person:
    """Everything the service stores about one person, and a second person beside."""
    office = make_office()
    clerk = make_user(UserRole.CLERK, office)
    user = make_user(UserRole.VOLUNTEER, email="zoe.aehrenfeld@example.org")
    user.display_name = "Zoë Ährenfeld"
    approved = make_application(
        office,
        user,
        state=ApplicationState.APPROVED,
        first_name="Zoë",
        last_name="Ährenfeld",
        birth_date=BIRTH_DATE,
    )
    approved.street = "Quittenweg 17"
    approved.phone = "0340 555 1234"
    approved.information_answer = "Zoë Ährenfeld, Quittenweg 17"
    open_one = make_application(
        make_office(),
        user,
        state=ApplicationState.IN_REVIEW,
        first_name="Zoë",
        last_name="Ährenfeld",
        birth_date=BIRTH_DATE,
    )
    open_one.street = "Quittenweg 17"
    db.session.commit()
    card = make_card(approved, valid_from=date.today(), valid_until=date.today() + timedelta(700))
    files: list[Upload | DataExport] = [attach_upload(approved), attach_upload(open_one)]
    folder = Path(app.config["UPLOAD_FOLDER"])
    db.session.add(
        Verification(
            at=utcnow(), channel=VerificationChannel.PUBLIC, result="valid", card_id=card.id
        )
    )
    links.issue_link(user, LinkPurpose.SIGN_IN, timedelta(minutes=30))
    mail.queue_mail(user.email, "Ihr Antrag", "sign_in_link", link="https://x", minutes=30)
    db.session.add(
        AuditEntry(
            actor_id=clerk.id,
            actor_role="clerk",
            actor_label=clerk.email,
            office_id=office.id,
            subject_type="application",
            subject_id=approved.id,
            action="approve",
            reason="Frau Ährenfeld, Quittenweg 17, geb. 09.03.1971",
        )
    )
    db.session.commit()
    # Today's tables: letters (one about the application, one to the account), a print
    # run still to be posted and one posted, a data export with its file, an e-mail
    # change and a name change request.
    make_letter(open_one)
    make_letter(open_one).application_id = None
    ready_run = make_print_run(office, [card], PrintRunState.READY, utcnow())
    make_print_run(office, [card], PrintRunState.POSTED, utcnow(), posted_at=utcnow())
    export = data_export.request_export(user)
    files.append(export)
    db.session.add(
        EmailChange(
            user_id=user.id,
            new_email="zoe.neu@example.org",
            token_hash="e" * 64,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.session.add(
        NameChangeRequest(
            application_id=approved.id,
            office_id=office.id,
            state=NameChangeState.PENDING,
            first_name="Zoë",
            last_name="Quastenberg",
            note="geheiratet",
        )
    )
    db.session.commit()
    # Another person, who must keep everything.
    make_application(office, state=ApplicationState.APPROVED, last_name="Bleibtreu")
    return Person(
        user=user,
        office=office,
        clerk=clerk,
        card_number=card.number,
        files=[
            folder / f.stored_name if isinstance(f, Upload) else data_export.path_of(f)
            for f in files
        ],
        print_run_id=ready_run.id,
        needles=[
            "Ährenfeld",
            "zoe.aehrenfeld@example.org",
            "Quittenweg",
            "1971-03-09",
            "09.03.1971",
            "0340 555 1234",
            "zoe.neu@example.org",
            "Quastenberg",
        ],
        application_ids=[approved.id, open_one.id],
    )


def _staff(person: Person) -> Acting:
    return Acting.user_as(person.clerk, Actor.CLERK)


def test_nothing_of_the_person_is_left_in_any_text_column(person: Person) -> None:
    """The whole database is searched, every text and JSON column of every table."""
    assert text_columns_containing("Ährenfeld")  # the search does find them before
    assert text_columns_containing("zoe.aehrenfeld@example.org")
    user_id = person.user.id
    done = erasure.erase_person(person.user, _staff(person), "Brief vom 2. Dezember")
    assert (done.applications, done.cards, done.cards_revoked, done.uploads) == (2, 1, 1, 2)
    assert done.applications_withdrawn == 1
    for needle in person.needles:
        assert text_columns_containing(needle) == [], needle
    assert db.session.get(User, user_id) is None
    assert not any(f.exists() for f in person.files)
    assert text_columns_containing("Bleibtreu")  # the other person keeps everything
    # Binary columns are not searched: the print PDF naming them is dropped, the run
    # (counts only) failed, so nobody posts a revoked card; the posted run's list stays
    # without their card.
    for model in (Letter, DataExport, EmailChange, NameChangeRequest, PrintRunCard):
        assert db.session.scalars(select(model)).all() == [], model
    run = db.session.get(PrintRun, person.print_run_id)
    assert run is not None and (run.state, run.pdf) == (PrintRunState.FAILED, None)
    assert db.session.scalars(select(PrintRun.pdf).where(PrintRun.pdf.is_not(None))).all() == []


def test_revoked_card_stays_on_the_revocation_list(person: Person) -> None:
    """The active card is revoked ("holder's request") and its number stays listed; a
    check of it answers "revoked"."""
    erasure.erase_person(person.user, _staff(person), "Brief")
    listed = revocation.revocation_list()
    assert revocation.revocation_hash(listed.salt, person.card_number) in listed.hashes
    assert person.card_number in card_index().revoked_numbers()
    published = revocation.published_revocation_list()
    assert revocation.revocation_hash(published.salt, person.card_number) in published.hashes
    assert check.check(person.card_number).status == check.CheckStatus.REVOKED
    # The check records stay, no longer tied to anybody.
    assert [v.card_id for v in db.session.scalars(select(Verification))] == [None]


def test_audit_rows_remain_without_personal_data(person: Person) -> None:
    """Who on the staff did what and when stays; the person's own rows are pseudonymised;
    the erasure itself is audited with the staff's reason."""
    user_id = person.user.id
    clerk_id, clerk_email = person.clerk.id, person.clerk.email
    erasure.erase_person(person.user, _staff(person), "Brief vom 2. Dezember")
    rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    about = [r for r in rows if r.subject_id in person.application_ids]
    assert {r.action for r in about} >= {"approve", "withdraw"}
    approve = next(r for r in about if r.action == "approve")
    assert (approve.actor_id, approve.actor_label, approve.reason) == (clerk_id, clerk_email, None)
    [erased] = [r for r in rows if r.action == "erase_person"]
    assert (erased.subject_type, erased.subject_id) == ("user", user_id)
    assert (erased.actor_id, erased.reason) == (clerk_id, "Brief vom 2. Dezember")
    revoke = next(r for r in rows if r.action == "revoke")
    assert revoke.to_state == CardState.REVOKED.value


def test_self_erasure_uses_the_pseudonym(person: Person) -> None:
    """From the account: the person's own actions are labelled with the pseudonym."""
    user_id = person.user.id
    erasure.erase_person(person.user, erasure.self_acting(person.user), self_request=True)
    [erased] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "erase_person")
    ).all()
    assert (erased.actor_id, erased.actor_label) == (None, deletion.pseudonym(user_id))
    assert text_columns_containing("zoe.aehrenfeld@example.org") == []


def test_retention_job_afterwards_deletes_nothing_of_the_other_person(person: Person) -> None:
    """Erasure leaves nothing for the job, and the job does not touch the other person."""
    erasure.erase_person(person.user, _staff(person), "Brief")
    assert apply_retention(utcnow()) == {}
    assert db.session.scalar(select(Application.last_name)) == "Bleibtreu"


def test_staff_of_another_office_cannot_erase(person: Person) -> None:
    """Staff may erase only people who applied to their office; staff and partner
    accounts are not erased this way."""
    stranger = make_user(UserRole.CLERK, make_office())
    with pytest.raises(NotPermitted):
        erasure.erase_person(person.user, Acting.user_as(stranger, Actor.CLERK), "x")
    with pytest.raises(NotPermitted):
        erasure.erase_person(person.clerk, _staff(person), "x")
    db.session.rollback()
    assert db.session.get(User, person.user.id) is not None


# --- from the account, and by staff for a request by post ---------------------------


def test_volunteer_sees_what_happens_then_deletes_the_account(
    person: Person, client: FlaskClient
) -> None:
    """The confirmation step says the card is revoked and open applications withdrawn;
    without the tick nothing happens; with it the data is gone and the person signed out."""
    user_id = person.user.id
    sign_in(client, person.user)
    text = page_text(client.get("/konto/"))
    assert "/konto/loeschen" in text
    page = page_text(client.get("/konto/loeschen"))
    assert "Ihre Karte wird gesperrt" in page
    assert "Ihre offenen Anträge werden zurückgezogen" in page
    refused = post(client, "/konto/loeschen", {}, page="/konto/loeschen")
    assert refused.status_code == 400
    assert 'id="confirm-error"' in page_text(refused)
    assert db.session.get(User, user_id) is not None

    done = post(client, "/konto/loeschen", {"confirm": "y"}, page="/konto/loeschen")
    assert done.status_code == 302
    db.session.rollback()
    assert db.session.get(User, user_id) is None
    assert text_columns_containing("Ährenfeld") == []
    assert client.get("/konto/").status_code in (302, 401)  # signed out


def test_deleting_the_account_needs_the_csrf_token(person: Person, client: FlaskClient) -> None:
    """A forged POST deletes nothing."""
    sign_in(client, person.user)
    assert client.post("/konto/loeschen", data={"confirm": "y"}).status_code == 400
    db.session.rollback()
    assert db.session.get(User, person.user.id) is not None


def test_staff_erase_for_a_request_by_post(person: Person, client: FlaskClient) -> None:
    """A clerk of the office gives a reason; the erasure is audited with it."""
    path = f"/verwaltung/antrag/{_public_id(person)}/daten-loeschen"
    user_id, clerk_id = person.user.id, person.clerk.id
    sign_in(client, person.clerk)
    assert "Gültige Karten" in page_text(client.get(path))
    missing = post(client, path, {"confirm": "y"}, page=path)
    assert missing.status_code == 400 and 'id="reason-error"' in page_text(missing)
    done = post(client, path, {"reason": "Schreiben vom 1.12.", "confirm": "y"}, page=path)
    assert done.status_code == 302
    db.session.rollback()
    assert db.session.get(User, user_id) is None
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "erase_person"))
    assert (row.actor_id, row.reason) == (clerk_id, "Schreiben vom 1.12.")


def test_staff_of_another_office_get_404(person: Person, client: FlaskClient) -> None:
    """Another office's application does not exist for them."""
    path = f"/verwaltung/antrag/{_public_id(person)}/daten-loeschen"
    sign_in(client, make_user(UserRole.CLERK, make_office()))
    assert client.get(path).status_code == 404
    assert post(client, path, {"reason": "x", "confirm": "y"}).status_code == 404


def _public_id(person: Person) -> str:
    application = db.session.get(Application, person.application_ids[0])
    assert application is not None
    return application.public_id
