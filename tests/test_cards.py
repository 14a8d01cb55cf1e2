"""Cards: one per approval, produced by the worker, kept by staff, checked online."""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from functools import partial

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ehrenamt.applications import decisions
from ehrenamt.cardformat import card_numbers
from ehrenamt.cardformat import keys as cardformat_keys
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.cards import jobs as cards_jobs
from ehrenamt.cards import keys as cards_keys
from ehrenamt.cards import lifecycle, register
from ehrenamt.cards import production as cards_production
from ehrenamt.cards import validity as cards_validity
from ehrenamt.cards.production import Produced, card_url
from ehrenamt.cards.states import CardError
from ehrenamt.core import errors, mail
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    CardState,
    CardType,
    DocumentKind,
    OutboxMessage,
    RevocationReason,
    User,
    UserRole,
)
from ehrenamt.verification import check as verification_check
from ehrenamt.verification.results import CheckStatus
from ehrenamt.workflow import Action, Actor, ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.harness import Meet, at_once, wait_for_card
from tests.helpers import page_text, qr_texts, sign_in
from tests.mailbox import Mailbox, text_of
from tests.test_signing import keys_from_jwks

# --- helpers --------------------------------------------------------------------------------


def clerk_of(application: Application) -> User:
    return make_user(UserRole.CLERK, application.office)


def approve(application: Application, clerk: User | None = None) -> Card:
    """Approve through the service (the card task goes to the test worker)."""
    clerk = clerk or clerk_of(application)
    decisions.approve(application, Acting.user_as(clerk, Actor.CLERK), application.version)
    card = register.card_for_application(application.id)
    assert card is not None
    return card


def approve_without_worker(application: Application) -> Card:
    """Approve and commit, but hand nothing to the broker: the test runs the worker's part."""
    clerk = clerk_of(application)
    decisions.transition(application, Action.APPROVE, Acting.user_as(clerk, Actor.CLERK))
    card = lifecycle.create_for_approval(application, Acting.user_as(clerk, Actor.CLERK))
    db.session.info.pop("ehrenamt.outbox.new", None)
    db.session.commit()
    return card


def card_audit(card_id: int) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "card", AuditEntry.subject_id == card_id)
            .order_by(AuditEntry.id)
        )
    )


def card_mails(card: Card) -> list[OutboxMessage]:
    db.session.rollback()
    return [
        message
        for message in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == mail.SEND_MAIL_TASK)
        )
        if message.payload.get("to") == card.holder.email
        and "Ehrenamtskarte ist da" in message.payload.get("subject", "")
    ]


def decode_qr(png: bytes) -> str:
    [text] = qr_texts(Image.open(io.BytesIO(png)))
    return text


def attachments_of(message: EmailMessage) -> dict[str, bytes]:
    return {
        part.get_filename() or "": part.get_content()
        for part in message.iter_attachments()
        if part.get_filename()
    }


# --- issuing --------------------------------------------------------------------------------


@pytest.mark.worker
def test_approval_creates_the_card_and_the_worker_issues_it(
    app: Flask, ctx: None, mailbox: Mailbox
) -> None:
    """Approve → card "issuing" at once → the worker signs, renders, mails it → "active"."""
    office = make_office()
    application = make_application(office, first_name="Zoë", last_name="Ağaoğlu-Śliwińska")
    card = approve(application)
    assert card.number and card_numbers.is_valid(card.number)
    assert card.holder_name == "Zoë Ağaoğlu-Śliwińska"
    assert card.valid_from == cards_validity.today()
    assert card.valid_until == cards_validity.add_years(cards_validity.today(), 2) - timedelta(
        days=1
    )

    card = wait_for_card(card.id)
    assert card.issued_at is not None and card.token is not None
    assert card_audit(card.id) == ["create", "issue"]

    # The QR code of the PNG holds the card's URL; its token verifies with the key
    # published at /.well-known, and says what the card shows.
    png = card.document(DocumentKind.PNG)
    pdf = card.document(DocumentKind.PDF)
    assert png is not None and pdf is not None
    url = decode_qr(png.content)
    assert url.startswith(app.config["BASE_URL"] + "/karte#")
    published = app.test_client().get("/.well-known/ehrenamtskarte-keys.json").json
    assert published is not None
    verified = cardformat_token.verify_token(
        cardformat_token.parse_card_url(url), keys_from_jwks(published), datetime.now(UTC)
    )
    assert verified.kid == card.key_id
    assert verified.claims.card_number == card.number
    assert verified.claims.name == "Zoë Ağaoğlu-Śliwińska"
    assert verified.claims.valid_until == card.valid_until
    assert verified.claims.office == office.slug
    assert pdf.content.startswith(b"%PDF")

    [ready] = mailbox.wait_for(to=card.holder.email, subject="Ehrenamtskarte ist da")
    files = attachments_of(ready)
    assert files == {
        f"ehrenamtskarte-{card.number}.pdf": pdf.content,
        f"ehrenamtskarte-{card.number}.png": png.content,
    }
    assert card_numbers.format_card_number(card.number) in text_of(ready)


@pytest.mark.worker
def test_long_service_card_is_valid_without_end(app: Flask, ctx: None) -> None:
    application = make_application(make_office(), card_type=CardType.LONG_SERVICE)
    card = wait_for_card(approve(application).id)
    assert card.valid_until is None
    assert verification_check.check(card_url(card.token or b"")).status == CheckStatus.VALID


def test_the_database_refuses_a_second_card_for_one_approval(app: Flask, ctx: None) -> None:
    """Not only the code: the unique index itself stops a second card."""
    application = make_application(make_office())
    first = approve_without_worker(application)
    duplicate = Card(
        public_id="x" * 32,
        number=card_numbers.new_card_number(),
        application_id=application.id,
        office_id=first.office_id,
        holder_id=first.holder_id,
        state=CardState.ISSUING,
        card_type=first.card_type,
        holder_name=first.holder_name,
        search_name=first.search_name,
        valid_from=first.valid_from,
        valid_until=first.valid_until,
    )
    db.session.add(duplicate)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_two_clerks_approving_at_once_give_one_card(app: Flask, ctx: None) -> None:
    office = make_office()
    application = make_application(office)
    clerks = [make_user(UserRole.CLERK, office) for _ in range(2)]
    application_id, version = application.id, application.version
    clerk_ids = [clerk.id for clerk in clerks]

    def act(clerk_id: int, meet: Meet) -> str:
        mine = db.session.get(Application, application_id)
        clerk = db.session.get(User, clerk_id)
        assert mine is not None and clerk is not None
        meet()
        try:
            decisions.approve(mine, Acting.user_as(clerk, Actor.CLERK), version)
        except errors.Conflict:
            return "conflict"
        return "approved"

    outcomes = at_once(*(partial(act, clerk_id) for clerk_id in clerk_ids), app=app)
    assert sorted(outcomes) == ["approved", "conflict"]
    db.session.rollback()
    assert len(db.session.scalars(select(Card)).all()) == 1


@pytest.mark.worker
def test_the_task_running_twice_at_once_makes_the_card_once(app: Flask, ctx: None) -> None:
    """Two deliveries of the issuing task at the same moment: one card, one mail."""
    card = approve_without_worker(make_application(make_office()))
    card_id = card.id

    def run(meet: Meet) -> Produced:
        meet()
        return cards_production.produce(card_id)

    results = at_once(run, run, app=app)
    assert Produced.MADE in results and len(results) == 2
    assert results.count(Produced.MADE) == 1
    assert set(results) <= {Produced.MADE, Produced.ALREADY, Produced.BUSY}
    card = wait_for_card(card_id)
    assert card_audit(card_id) == ["create", "issue"]
    assert len(card_mails(card)) == 1
    # A late third delivery finds it done and changes nothing.
    token = card.token
    assert cards_production.produce(card_id) == Produced.ALREADY
    assert wait_for_card(card_id).token == token


@pytest.mark.worker
def test_the_task_delivered_twice_makes_the_card_once(
    app: Flask, ctx: None, mailbox: Mailbox
) -> None:
    """The dispatcher handing the message over again (e.g. after a timeout) adds nothing."""
    application = make_application(make_office())
    card = wait_for_card(approve(application).id)
    [message] = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.task == lifecycle.ISSUE_CARD_TASK)
    ).all()
    celery = app.extensions["celery"]
    celery.send_task(lifecycle.ISSUE_CARD_TASK, kwargs={"message_id": message.id})
    mailbox.wait_for(to=card.holder.email, subject="Ehrenamtskarte ist da")
    time.sleep(1.0)  # time for the second delivery to do (nothing)
    assert card_audit(card.id) == ["create", "issue"]
    assert len(mailbox.matching(lambda m: "Ehrenamtskarte ist da" in str(m["Subject"]))) == 1
    db.session.refresh(message)
    assert message.completed_at is not None  # completed with the card, in its transaction


def test_without_a_signing_key_the_card_waits_and_nothing_breaks(
    app: Flask, ctx: None, tmp_path: object
) -> None:
    """No key: the card stays "issuing" (the task retries); the approval itself stands."""
    card = approve_without_worker(make_application(make_office()))
    app.config["CARD_KEYS_FOLDER"], folder = str(tmp_path), app.config["CARD_KEYS_FOLDER"]
    try:
        with pytest.raises(cardformat_keys.NoSigningKey):
            cards_production.produce(card.id)
    finally:
        app.config["CARD_KEYS_FOLDER"] = folder
    db.session.rollback()
    card = db.session.get(Card, card.id, populate_existing=True)
    assert card is not None and card.state == CardState.ISSUING and not card.documents
    assert cards_production.produce(card.id) == Produced.MADE


@pytest.mark.worker
def test_account_shows_the_card_and_only_its_holder_downloads_it(
    app: Flask, ctx: None, make_client: object
) -> None:
    application = make_application(make_office())
    card = wait_for_card(approve(application).id)
    holder = card.holder
    client: FlaskClient = make_client()  # type: ignore[operator]
    sign_in(client, holder)
    text = page_text(client.get("/konto/"))
    assert card_numbers.format_card_number(card.number) in text
    pdf = client.get(f"/konto/karte/{card.public_id}/pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data == card.document(DocumentKind.PDF).content  # type: ignore[union-attr]
    assert "attachment" in pdf.headers["Content-Disposition"]
    assert pdf.headers["Cache-Control"] == "private, no-store"
    png = client.get(f"/konto/karte/{card.public_id}/png")
    assert png.status_code == 200 and png.mimetype == "image/png"

    other = make_user(UserRole.VOLUNTEER)
    stranger: FlaskClient = make_client()  # type: ignore[operator]
    sign_in(stranger, other)
    assert stranger.get(f"/konto/karte/{card.public_id}/pdf").status_code == 404
    assert stranger.get(f"/konto/karte/{card.public_id}/doc").status_code == 404
    anonymous: FlaskClient = make_client()  # type: ignore[operator]
    assert anonymous.get(f"/konto/karte/{card.public_id}/pdf").status_code == 302


def test_a_card_being_made_has_nothing_to_download(
    app: Flask, ctx: None, make_client: object
) -> None:
    card = approve_without_worker(make_application(make_office()))
    client: FlaskClient = make_client()  # type: ignore[operator]
    sign_in(client, card.holder)
    assert "wird gerade erstellt" in page_text(client.get("/konto/"))
    assert client.get(f"/konto/karte/{card.public_id}/pdf").status_code == 404


# --- staff actions --------------------------------------------------------------------------


@pytest.mark.worker
def test_revoked_card_is_reported_as_revoked(app: Flask, ctx: None, mailbox: Mailbox) -> None:
    application = make_application(make_office())
    card = wait_for_card(approve(application).id)
    url = card_url(card.token or b"")
    assert verification_check.check(url).status == CheckStatus.VALID
    assert verification_check.check(card.number).status == CheckStatus.VALID

    clerk = clerk_of(application)
    lifecycle.revoke(
        card, Acting.user_as(clerk, Actor.CLERK), RevocationReason.MISUSE, "Weitergabe"
    )
    result = verification_check.check(url)
    assert result.status == CheckStatus.REVOKED
    assert result.holder_name == card.holder_name  # what the card shows, nothing more
    assert (
        verification_check.check(card_numbers.format_card_number(card.number)).status
        == CheckStatus.REVOKED
    )
    assert card_audit(card.id)[-1] == "revoke"
    [notice] = mailbox.wait_for(to=card.holder.email, subject="gesperrt")
    assert "Missbrauch" in text_of(notice)
    with pytest.raises(CardError):
        lifecycle.revoke(card, Acting.user_as(clerk, Actor.CLERK), RevocationReason.LOST)


@pytest.mark.worker
def test_check_answers_for_bad_codes(app: Flask, ctx: None) -> None:
    card = wait_for_card(approve(make_application(make_office())).id)
    token = bytearray(card.token or b"")
    token[-5] ^= 0x01
    assert verification_check.check(card_url(bytes(token))).status == CheckStatus.INVALID
    assert verification_check.check("garbage").status == CheckStatus.INVALID
    assert verification_check.check("").status == CheckStatus.INVALID
    assert verification_check.check(card_numbers.new_card_number()).status == CheckStatus.UNKNOWN
    later = datetime.combine(card.valid_until or date.max, datetime.min.time(), UTC)
    expired = verification_check.check(card_url(card.token or b""), now=later + timedelta(days=2))
    assert expired.status == CheckStatus.EXPIRED
    assert expired.valid_until == card.valid_until


@pytest.mark.worker
def test_staff_of_another_office_cannot_act(app: Flask, ctx: None) -> None:
    card = wait_for_card(approve(make_application(make_office())).id)
    stranger = make_user(UserRole.CLERK, make_office())
    with pytest.raises(errors.NotPermitted):
        lifecycle.revoke(card, Acting.user_as(stranger, Actor.CLERK), RevocationReason.MISUSE)
    volunteer = card.holder
    with pytest.raises(errors.NotPermitted):
        lifecycle.reissue(card, Acting.user_as(volunteer, Actor.APPLICANT))
    db.session.rollback()
    assert db.session.get(Card, card.id, populate_existing=True).state == CardState.ACTIVE  # type: ignore[union-attr]


@pytest.mark.worker
def test_replacing_a_lost_card(app: Flask, ctx: None, mailbox: Mailbox) -> None:
    """Old card revoked as lost; the new one has a new number and the same validity."""
    application = make_application(make_office())
    old = wait_for_card(approve(application).id)
    old_url = card_url(old.token or b"")
    clerk = clerk_of(application)
    new = lifecycle.replace_lost(old, Acting.user_as(clerk, Actor.CLERK), "im Bus verloren")
    new = wait_for_card(new.id)
    db.session.refresh(old)
    assert old.state == CardState.REVOKED and old.revocation_reason == RevocationReason.LOST
    assert new.number != old.number
    assert (new.valid_from, new.valid_until) == (old.valid_from, old.valid_until)
    assert new.replaces_id == old.id
    assert verification_check.check(old_url).status == CheckStatus.REVOKED
    assert verification_check.check(card_url(new.token or b"")).status == CheckStatus.VALID
    assert card_audit(new.id) == ["create", "issue"]
    # The lost card cannot be replaced twice.
    with pytest.raises(CardError):
        lifecycle.replace_lost(old, Acting.user_as(clerk, Actor.CLERK))
    mailbox.wait_for(to=new.holder.email, subject="Ehrenamtskarte ist da", count=2)


@pytest.mark.worker
def test_reissue_makes_new_documents_with_the_same_number(app: Flask, ctx: None) -> None:
    application = make_application(make_office())
    card = wait_for_card(approve(application).id)
    old_issued = card.issued_at
    lifecycle.reissue(card, Acting.user_as(clerk_of(application), Actor.CLERK))
    card = wait_for_card(card.id, generation=2)
    assert card.document(DocumentKind.PDF).generation == 2  # type: ignore[union-attr]
    assert card.issued_at is not None and old_issued is not None and card.issued_at >= old_issued
    assert card_audit(card.id) == ["create", "issue", "reissue", "render"]


@pytest.mark.worker
def test_extend_moves_the_end_and_signs_anew(app: Flask, ctx: None) -> None:
    application = make_application(make_office())
    card = wait_for_card(approve(application).id)
    clerk = Acting.user_as(clerk_of(application), Actor.CLERK)
    assert card.valid_until is not None
    with pytest.raises(CardError):
        lifecycle.extend(card, clerk, card.valid_until)
    db.session.rollback()
    later = cards_validity.add_years(card.valid_until, 1)
    lifecycle.extend(card, clerk, later)
    card = wait_for_card(card.id, generation=2)
    assert card.valid_until == later
    verified = cardformat_token.verify_token(
        card.token or b"", cards_keys.load_key_ring().public_keys(), datetime.now(UTC)
    )
    assert verified.claims.valid_until == later
    assert card_audit(card.id)[-2:] == ["extend", "render"]


@pytest.mark.worker
def test_long_service_card_cannot_be_extended(app: Flask, ctx: None) -> None:
    application = make_application(make_office(), card_type=CardType.LONG_SERVICE)
    card = wait_for_card(approve(application).id)
    with pytest.raises(CardError):
        lifecycle.extend(
            card, Acting.user_as(clerk_of(application), Actor.CLERK), date.today() + timedelta(400)
        )


@pytest.mark.worker
def test_stale_version_is_a_conflict(app: Flask, ctx: None) -> None:
    application = make_application(make_office())
    card = wait_for_card(approve(application).id)
    clerk = Acting.user_as(clerk_of(application), Actor.CLERK)
    with pytest.raises(errors.Conflict):
        lifecycle.revoke(card, clerk, RevocationReason.LOST, expected_version=card.version - 1)


# --- periodic jobs --------------------------------------------------------------------------


def _make_active(application: Application) -> Card:
    card = approve_without_worker(application)
    assert cards_production.produce(card.id) == Produced.MADE
    db.session.rollback()
    return db.session.get(Card, card.id, populate_existing=True)  # type: ignore[return-value]


def test_expire_job_expires_cards_after_their_last_day(app: Flask, ctx: None) -> None:
    office = make_office()
    ending_yesterday = _make_active(make_application(office))
    ending_today = _make_active(make_application(office))
    long_service = _make_active(make_application(office, card_type=CardType.LONG_SERVICE))
    ending_yesterday.valid_until = cards_validity.today() - timedelta(days=1)
    ending_today.valid_until = cards_validity.today()
    db.session.commit()

    assert cards_jobs.expire_cards() == 1
    assert cards_jobs.expire_cards() == 0
    db.session.rollback()
    states = {
        card.id: db.session.get(Card, card.id, populate_existing=True).state  # type: ignore[union-attr]
        for card in (ending_yesterday, ending_today, long_service)
    }
    assert states == {
        ending_yesterday.id: CardState.EXPIRED,
        ending_today.id: CardState.ACTIVE,
        long_service.id: CardState.ACTIVE,
    }
    assert card_audit(ending_yesterday.id)[-1] == "expire"
    assert verification_check.check(ending_yesterday.number).status == CheckStatus.EXPIRED


@pytest.mark.worker
def test_holders_are_reminded_once_with_a_renewal_link(
    app: Flask, ctx: None, mailbox: Mailbox
) -> None:
    office = make_office()
    soon = _make_active(make_application(office))
    later = _make_active(make_application(office))
    days = app.config["CARD_EXPIRY_REMINDER_DAYS"]
    soon.valid_until = cards_validity.today() + timedelta(days=days - 1)
    later.valid_until = cards_validity.today() + timedelta(days=days + 30)
    db.session.commit()

    assert cards_jobs.remind_expiring() == 1
    assert cards_jobs.remind_expiring() == 0
    [reminder] = mailbox.wait_for(to=soon.holder.email, subject="läuft bald ab")
    text = text_of(reminder)
    assert f"/antrag/?erneuern={soon.public_id}" in text
    assert not mailbox.matching(
        lambda m: later.holder.email in str(m["To"]) and "läuft bald ab" in str(m["Subject"])
    )


@pytest.mark.worker
def test_issue_pending_requests_unfinished_cards_and_cards_for_approvals_without_one(
    app: Flask, ctx: None
) -> None:
    office = make_office()
    stuck = approve_without_worker(make_application(office))
    stuck.created_at = stuck.created_at - timedelta(hours=2)
    fresh = approve_without_worker(make_application(office))
    lonely = make_application(office, state=ApplicationState.APPROVED)
    db.session.commit()

    assert cards_jobs.issue_pending() == 2  # the stuck card, and a card for the lonely approval
    assert wait_for_card(stuck.id).state == CardState.ACTIVE
    created = register.card_for_application(lonely.id)
    assert created is not None
    wait_for_card(created.id)
    db.session.rollback()
    assert db.session.get(Card, fresh.id).state == CardState.ISSUING  # type: ignore[union-attr]
    assert cards_jobs.issue_pending() == 0


# --- renewal --------------------------------------------------------------------------------


def test_renewal_link_fills_the_form_from_the_card(
    app: Flask, ctx: None, make_client: object
) -> None:
    """The reminder's link opens the form filled in from the old card's application."""
    office = make_office()
    application = make_application(office, first_name="Jörg", last_name="Renewal", engagements=2)
    card = _make_active(application)
    link = f"/antrag/?erneuern={card.public_id}"

    anonymous: FlaskClient = make_client()  # type: ignore[operator]
    response = anonymous.get(link)
    assert response.status_code == 302
    assert "/anmelden" in response.headers["Location"]

    holder: FlaskClient = make_client()  # type: ignore[operator]
    sign_in(holder, card.holder)
    page = page_text(holder.get(link))
    assert 'value="Jörg"' in page and 'value="Renewal"' in page
    assert f'value="{application.street}"' in page
    for engagement in application.engagements:
        assert f'value="{engagement.organisation_name}"' in page
        assert f'value="{engagement.contact_email}"' in page
    assert "mit den Angaben Ihrer bisherigen Karte ausgefüllt" in page

    stranger: FlaskClient = make_client()  # type: ignore[operator]
    sign_in(stranger, make_user(UserRole.VOLUNTEER))
    assert stranger.get(link).status_code == 404
