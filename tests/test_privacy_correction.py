"""Corrections (DSGVO Art. 16): the e-mail address by a link to the new one, the postal
address on the current applications, a change of name decided by the office."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.cards import production
from ehrenamt.core import mail
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    EmailChange,
    NameChangeRequest,
    NameChangeState,
    OutboxMessage,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.privacy.retention import DeletionKind, apply_retention
from ehrenamt.workflow import ApplicationState
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.test_cards import approve_without_worker

LINK = re.compile(r"https?://[^\s]+/konto/email/[A-Za-z0-9_-]+")


def mails_to(address: str) -> list[OutboxMessage]:
    """Mails queued to ``address``, oldest first."""
    db.session.rollback()
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.task == mail.SEND_MAIL_TASK,
                OutboxMessage.payload["to"].as_string() == address,
            )
            .order_by(OutboxMessage.id)
        )
    )


def change_link(address: str) -> str:
    """The path of the newest confirmation link mailed to ``address``."""
    (url,) = LINK.findall(mails_to(address)[-1].payload["text"])
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def audit_actions(subject_type: str, subject_id: int) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
            .order_by(AuditEntry.id)
        )
    )


def ask_for(client: FlaskClient, email: str) -> int:
    return post(client, "/konto/email", {"email": email}, page="/konto/").status_code


def use(client: FlaskClient, path: str) -> int:
    return post(client, path, page=path).status_code


def reload(user: User) -> User:
    db.session.rollback()
    return db.session.get(User, user.id)  # type: ignore[return-value]


# --- e-mail address ------------------------------------------------------------------------


def test_the_address_changes_only_when_the_link_to_the_new_one_is_used(
    client: FlaskClient, ctx: None
) -> None:
    user = make_user(UserRole.VOLUNTEER, email="alt@example.org")
    sign_in(client, user)
    assert ask_for(client, "Neu@Example.org") == 302
    assert reload(user).email == "alt@example.org"
    (notice,) = mails_to("alt@example.org")
    assert "neu@example.org" in notice.payload["text"]
    assert LINK.search(notice.payload["text"]) is None  # the link goes to the new address only
    path = change_link("neu@example.org")
    stored = db.session.scalar(select(EmailChange))
    assert stored is not None and path.rsplit("/", 1)[1] not in stored.token_hash
    # The GET (a mail scanner) changes nothing; the POST does.
    assert client.get(path).status_code == 200
    assert reload(user).email == "alt@example.org"
    assert use(client, path) == 302
    changed = reload(user)
    assert changed.email == "neu@example.org" and changed.email_confirmed_at is not None
    assert audit_actions("user", user.id) == ["request_email_change", "change_email"]
    reasons = db.session.scalars(select(AuditEntry.reason)).all()
    assert not any(reason and "@" in reason for reason in reasons)
    # Used once only; then the password signs in with the new address, not the old one.
    assert use(client, path) == 410
    client.post("/abmelden", data={"csrf_token": "x"})
    fresh = client.application.test_client()
    failed = post(fresh, "/anmelden", {"email": "alt@example.org", "password": PASSWORD})
    assert failed.status_code == 200
    sign_in(fresh, changed)


def test_wrong_expired_and_another_persons_links_change_nothing(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    anna = make_user(UserRole.VOLUNTEER, email="anna@example.org")
    bert = make_user(UserRole.VOLUNTEER, email="bert@example.org")
    anna_client, bert_client = make_client(), make_client()
    sign_in(anna_client, anna)
    sign_in(bert_client, bert)
    assert ask_for(anna_client, "anna.neu@example.org") == 302
    path = change_link("anna.neu@example.org")

    assert use(anna_client, path[:-3] + "xyz") == 404
    # Bert holds Anna's link: it is not his, and it does not change hers either.
    assert use(bert_client, path) == 404
    assert reload(bert).email == "bert@example.org"
    assert reload(anna).email == "anna@example.org"
    # Not signed in: to the sign-in page first.
    assert make_client().get(path).status_code == 302

    change = db.session.scalar(select(EmailChange))
    assert change is not None
    change.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert use(anna_client, path) == 410
    assert reload(anna).email == "anna@example.org"


def test_a_newer_request_replaces_the_older_link(client: FlaskClient, ctx: None) -> None:
    user = make_user(UserRole.VOLUNTEER)
    sign_in(client, user)
    assert ask_for(client, "erste@example.org") == 302
    first = change_link("erste@example.org")
    assert ask_for(client, "zweite@example.org") == 302
    assert use(client, first) == 404
    assert use(client, change_link("zweite@example.org")) == 302
    assert reload(user).email == "zweite@example.org"


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", None),
        ("kein-at-zeichen", None),
        ("SELF", "Das ist schon Ihre Angabe."),
        ("TAKEN", "Zu dieser E-Mail-Adresse gibt es schon ein Konto."),
    ],
)
def test_an_address_that_cannot_be_taken_is_refused_at_the_field(
    client: FlaskClient, ctx: None, email: str, message: str | None
) -> None:
    user = make_user(UserRole.VOLUNTEER)
    other = make_user(UserRole.VOLUNTEER)
    email = {"SELF": user.email.upper(), "TAKEN": other.email}.get(email, email)
    sign_in(client, user)
    response = post(client, "/konto/email", {"email": email}, page="/konto/")
    assert response.status_code == 400
    text = page_text(response)
    assert 'id="email-error"' in text
    assert message is None or message in text
    assert mails_to(email.lower()) == [] and mails_to(user.email) == []


def test_an_address_taken_before_the_link_is_used_is_not_changed(
    client: FlaskClient, ctx: None
) -> None:
    user = make_user(UserRole.VOLUNTEER)
    sign_in(client, user)
    assert ask_for(client, "begehrt@example.org") == 302
    path = change_link("begehrt@example.org")
    make_user(UserRole.VOLUNTEER, email="begehrt@example.org")
    response = post(client, path, page=path, follow_redirects=True)
    assert "Zu dieser E-Mail-Adresse gibt es schon ein Konto." in page_text(response)
    assert reload(user).email != "begehrt@example.org"


def test_a_stale_sign_in_gives_the_password_first(client: FlaskClient, ctx: None) -> None:
    user = make_user(UserRole.VOLUNTEER)
    sign_in(client, user)
    with client.session_transaction() as session:
        session["authenticated_at"] -= 11 * 60
    response = post(client, "/konto/email", {"email": "neu@example.org"}, page="/konto/")
    assert response.status_code == 302
    assert "/konto/bestaetigen" in response.headers["Location"]
    assert mails_to("neu@example.org") == []


def test_asking_to_change_the_address_is_rate_limited(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    user = make_user(UserRole.VOLUNTEER)
    sign_in(client, user)
    assert [ask_for(client, f"neu{n}@example.org") for n in range(4)] == [302, 302, 302, 429]
    assert mails_to("neu3@example.org") == []


# --- postal address ------------------------------------------------------------------------


def holder_with_card() -> tuple[User, Application, Application, Card]:
    """A volunteer with a rejected application and an approved one with an active card."""
    office = make_office()
    user = make_user(UserRole.VOLUNTEER)
    rejected = make_application(office, user, state=ApplicationState.REJECTED)
    approved = make_application(office, user, state=ApplicationState.IN_REVIEW)
    card = approve_without_worker(approved)
    assert production.produce(card.id) == production.Produced.MADE
    db.session.refresh(card)
    return user, rejected, approved, card


def test_the_address_is_corrected_on_the_current_applications(
    client: FlaskClient, ctx: None
) -> None:
    user, rejected, approved, card = holder_with_card()
    generation = card.generation
    sign_in(client, user)
    page = page_text(client.get("/konto/"))
    assert 'value="Hauptstraße 1"' in page  # the form starts from the current address
    new = {"street": "Neue Gasse 7", "postcode": "06846", "town": "Dessau-Roßlau"}
    response = post(client, "/konto/anschrift", new, page="/konto/", follow_redirects=True)
    assert "Ihre Karte bleibt gültig" in page_text(response)
    db.session.rollback()
    approved = db.session.get(Application, approved.id)  # type: ignore[assignment]
    assert (approved.street, approved.postcode) == ("Neue Gasse 7", "06846")
    assert db.session.get(Application, rejected.id).street == "Hauptstraße 1"  # type: ignore[union-attr]
    assert audit_actions("application", approved.id)[-1] == "correct_address"
    same_card = db.session.get(Card, card.id)
    assert same_card is not None
    assert (same_card.state.value, same_card.generation) == ("active", generation)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"postcode": "1234"}, "postcode"), ({"street": ""}, "street"), ({"town": "a\x01"}, "town")],
)
def test_a_wrong_address_is_refused_at_the_field(
    client: FlaskClient, ctx: None, changes: dict[str, str], field: str
) -> None:
    user, _rejected, approved, _card = holder_with_card()
    sign_in(client, user)
    data = {"street": "Neue Gasse 7", "postcode": "06846", "town": "Dessau"} | changes
    response = post(client, "/konto/anschrift", data, page="/konto/")
    assert response.status_code == 400
    assert f'id="{field}-error"' in page_text(response)
    db.session.rollback()
    assert db.session.get(Application, approved.id).street == "Hauptstraße 1"  # type: ignore[union-attr]


def test_without_a_current_application_there_is_no_address_to_correct(
    client: FlaskClient, ctx: None
) -> None:
    user = make_user(UserRole.VOLUNTEER)
    sign_in(client, user)
    assert 'action="/konto/anschrift"' not in page_text(client.get("/konto/"))
    data = {"street": "Neue Gasse 7", "postcode": "06846", "town": "Dessau"}
    response = post(client, "/konto/anschrift", data, page="/konto/")
    assert response.status_code == 400
    assert "keinen laufenden oder bewilligten Antrag" in page_text(response)


# --- name ----------------------------------------------------------------------------------


def ask_for_name(client: FlaskClient, first: str, last: str) -> int:
    data = {"first_name": first, "last_name": last, "note": "Heirat"}
    return post(client, "/konto/name", data, page="/konto/").status_code


def test_an_applied_name_change_corrects_the_application_and_remakes_the_card(
    make_client, ctx: None
) -> None:  # type: ignore[no-untyped-def]
    user, _rejected, approved, card = holder_with_card()
    generation = card.generation
    volunteer = make_client()
    sign_in(volunteer, user)
    assert ask_for_name(volunteer, "Erika", "Neumann") == 302
    assert "liegt der Ausgabestelle vor" in page_text(volunteer.get("/konto/"))
    db.session.rollback()
    assert db.session.get(Application, approved.id).last_name != "Neumann"  # type: ignore[union-attr]
    assert audit_actions("application", approved.id)[-1] == "request_name_change"

    # Staff of another office cannot see or decide it.
    stranger = make_client()
    sign_in(stranger, make_user(UserRole.CLERK, make_office()))
    request = db.session.scalar(select(NameChangeRequest))
    assert request is not None
    decide = f"/verwaltung/antrag/{approved.public_id}/namensaenderung/{request.id}"
    assert "Erika Neumann" not in page_text(stranger.get("/verwaltung/"))
    assert post(stranger, decide, {"apply": "1"}, page="/verwaltung/").status_code == 404

    clerk = make_client()
    sign_in(clerk, make_user(UserRole.CLERK, approved.office))
    assert "Erika Neumann" in page_text(clerk.get("/verwaltung/"))
    detail = page_text(clerk.get(f"/verwaltung/antrag/{approved.public_id}"))
    assert 'id="name-change"' in detail and "Heirat" in detail
    page = f"/verwaltung/antrag/{approved.public_id}"
    assert post(clerk, decide, {"apply": "1"}, page=page).status_code == 302

    db.session.rollback()
    changed = db.session.get(Application, approved.id)
    assert changed is not None and changed.full_name == "Erika Neumann"
    assert changed.search_name == "erika neumann"
    remade = db.session.get(Card, card.id)
    assert remade is not None and remade.holder_name == "Erika Neumann"
    assert remade.generation == generation + 1
    assert audit_actions("application", approved.id)[-1] == "apply_name_change"
    assert audit_actions("card", card.id)[-1] == "reissue"
    assert any("Namensänderung" in m.payload["subject"] for m in mails_to(user.email))
    # Decided once: a second decision (an old page) changes nothing.
    again = post(clerk, decide, {"decline": "1", "reason": "zu spät"}, page=page)
    assert again.status_code == 302
    assert db.session.get(NameChangeRequest, request.id).state == NameChangeState.APPLIED  # type: ignore[union-attr]
    assert 'id="name-change"' not in page_text(clerk.get(page))


def test_a_declined_name_change_tells_the_volunteer_why(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    user, _rejected, approved, _card = holder_with_card()
    volunteer = make_client()
    sign_in(volunteer, user)
    assert ask_for_name(volunteer, "Erika", "Neumann") == 302
    request = db.session.scalar(select(NameChangeRequest))
    assert request is not None
    clerk = make_client()
    sign_in(clerk, make_user(UserRole.CLERK, approved.office))
    decide = f"/verwaltung/antrag/{approved.public_id}/namensaenderung/{request.id}"
    page = f"/verwaltung/antrag/{approved.public_id}"
    without_reason = post(clerk, decide, {"decline": "1"}, page=page)
    assert without_reason.status_code == 400
    assert "Bitte begründen Sie die Ablehnung." in page_text(without_reason)
    reason = "Bitte <b>Urkunde</b> vorlegen"
    assert post(clerk, decide, {"decline": "1", "reason": reason}, page=page).status_code == 302
    db.session.rollback()
    assert db.session.get(Application, approved.id).last_name != "Neumann"  # type: ignore[union-attr]
    assert audit_actions("application", approved.id)[-1] == "decline_name_change"
    account = page_text(volunteer.get("/konto/"))
    assert "Bitte &lt;b&gt;Urkunde&lt;/b&gt; vorlegen" in account
    (decision,) = [m for m in mails_to(user.email) if "Namensänderung" in m.payload["subject"]]
    assert "&lt;b&gt;Urkunde" in decision.payload["html"]


def test_a_name_change_needs_a_current_application_and_a_new_name(
    client: FlaskClient, ctx: None
) -> None:
    user, _rejected, approved, _card = holder_with_card()
    sign_in(client, user)
    assert ask_for_name(client, approved.first_name, approved.last_name) == 400
    assert ask_for_name(client, "Erika", "") == 400
    assert ask_for_name(client, "Erika", "李") == 400  # the card's typeface lacks it
    assert db.session.scalar(select(NameChangeRequest)) is None


# --- retention -----------------------------------------------------------------------------


def test_spent_links_and_old_decisions_are_deleted(app: Flask, ctx: None) -> None:
    user, _rejected, approved, _card = holder_with_card()
    now = utcnow()
    # A used change keeps the old address as long as mails to it are kept.
    mail_days = app.config["SENT_MAIL_RETENTION_DAYS"]
    rows = {
        "used": EmailChange(
            user_id=user.id,
            new_email="a@example.org",
            token_hash="a" * 64,
            expires_at=now - timedelta(days=mail_days + 1),
            used_at=now - timedelta(days=mail_days + 2),
        ),
        "used recently": EmailChange(
            user_id=user.id,
            new_email="d@example.org",
            token_hash="d" * 64,
            expires_at=now - timedelta(days=1),
            used_at=now - timedelta(days=2),
        ),
        "expired": EmailChange(
            user_id=user.id,
            new_email="b@example.org",
            token_hash="b" * 64,
            expires_at=now - timedelta(days=2),
        ),
        "open": EmailChange(
            user_id=user.id,
            new_email="c@example.org",
            token_hash="c" * 64,
            expires_at=now + timedelta(hours=1),
        ),
    }
    days = app.config["NAME_CHANGE_RETENTION_DAYS"]
    decided = {
        "old": now - timedelta(days=days + 1),
        "recent": now - timedelta(days=days - 1),
    }
    for key, at in decided.items():
        db.session.add(
            NameChangeRequest(
                application_id=approved.id,
                office_id=approved.office_id,
                state=NameChangeState.DECLINED,
                first_name=key,
                last_name="x",
                decided_at=at,
            )
        )
    db.session.add(
        NameChangeRequest(
            application_id=approved.id,
            office_id=approved.office_id,
            state=NameChangeState.PENDING,
            first_name="pending",
            last_name="x",
        )
    )
    db.session.add_all(rows.values())
    db.session.commit()
    counts = apply_retention(now)
    assert counts[(None, DeletionKind.EMAIL_CHANGES)] == 2
    assert counts[(None, DeletionKind.NAME_CHANGE_REQUESTS)] == 1
    assert sorted(db.session.scalars(select(EmailChange.new_email))) == [
        "c@example.org",
        "d@example.org",
    ]
    assert sorted(db.session.scalars(select(NameChangeRequest.first_name))) == [
        "pending",
        "recent",
    ]
    again = apply_retention(now)
    assert (None, DeletionKind.EMAIL_CHANGES) not in again
    assert (None, DeletionKind.NAME_CHANGE_REQUESTS) not in again
