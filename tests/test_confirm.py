"""The organisation's confirmation link: what it shows, answering, the review that
follows, expired and reused links, reminders, the clerk's resend and override, and two
organisations answering at the same moment."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from ehrenamt.applications import confirmation as applications_confirmation
from ehrenamt.applications import eligibility
from ehrenamt.applications.confirmation import MAX_REMINDERS
from ehrenamt.applications.submission import EngagementInput
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Base,
    ConfirmationState,
    Engagement,
    Office,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import make_office, make_user, submit_application_for
from tests.harness import Meet, at_once, wait_until
from tests.helpers import csrf_token, page_text, post, sign_in
from tests.mailbox import Mailbox, links_in, path_of

REQUEST_SUBJECT = "Bitte bestätigen Sie das Engagement"

#: What the applicant entered that no organisation may see.
APPLICANT = {
    "first_name": "Erika",
    "last_name": "Beispielfrau",
    "birth_date": date(1979, 3, 14),
    "street": "Geheimweg 42",
    "postcode": "06846",
    "town": "Kleinkühnau",
    "phone": "0340 5551234",
}
APPLICANT_EMAIL = "erika.beispielfrau@example.org"

#: Every test here follows the mails the worker sends.
pytestmark = pytest.mark.worker


def engagement_input(n: int, hours_per_week: Decimal = Decimal(6)) -> EngagementInput:
    """The n-th organisation (1 or 2) of the test applicant."""
    return [
        EngagementInput(
            organisation_name="TSV Dessau",
            contact_name="Vorsitzende Anna Sport",
            contact_email="vorstand@tsv.example.org",
            activity="Übungsleitung Kinderturnen",
            engaged_since=date.today() - timedelta(days=5 * 365),
            hours_per_week=hours_per_week,
        ),
        EngagementInput(
            organisation_name="Freiwillige Feuerwehr Kochstedt",
            contact_name="Wehrleiter Bernd Brand",
            contact_email="wehrleitung@feuerwehr.example.org",
            activity="Atemschutzgeräteträger",
            engaged_since=date.today() - timedelta(days=4 * 365),
            hours_per_week=hours_per_week,
        ),
    ][n - 1]


def submit(
    office: Office, organisations: int = 2, hours_per_week: Decimal = Decimal(6)
) -> Application:
    """A confirmed volunteer submits; the organisations are mailed their links."""
    volunteer = make_user(UserRole.VOLUNTEER, email=APPLICANT_EMAIL)
    application = submit_application_for(
        office,
        volunteer,
        engagements=[engagement_input(n + 1, hours_per_week) for n in range(organisations)],
        **APPLICANT,
    )
    assert application.state == ApplicationState.AWAITING_CONFIRMATION
    return application


def link_for(mailbox: Mailbox, contact: str, count: int = 1) -> str:
    """The path of the newest confirmation link mailed to ``contact``."""
    mails = mailbox.wait_for(to=contact, subject=REQUEST_SUBJECT, count=count)
    [link] = [u for u in links_in(mails[-1]) if "/bestaetigung/" in u]
    return path_of(link)


def answer(client: FlaskClient, path: str, **data: str) -> TestResponse:
    """Submit the confirmation form like the organisation's browser.

    A browser always sends the unit select and the (pre-filled) hours; ``data`` overrides.
    """
    return post(
        client,
        path,
        {"hours": "6", "hours_unit": "week", **data},
        page=path,
        follow_redirects=True,  # an answer is thanked for after a redirect
    )


def fresh(application: Application) -> Application:
    """The application as committed now."""
    db.session.rollback()
    loaded = db.session.get(Application, application.id)
    assert loaded is not None
    return loaded


def audit_rows(application: Application, action: str | None = None) -> list[AuditEntry]:
    """The application's audit rows (of one action), oldest first."""
    db.session.rollback()
    query = select(AuditEntry).where(
        AuditEntry.subject_type == "application", AuditEntry.subject_id == application.id
    )
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


def database_text() -> dict[str, str]:
    """Every table's rows as text, to search for secrets."""
    db.session.rollback()
    # str() of each value: the repr of a row shortens long texts.
    return {
        table.name: " ".join(
            str(value) for row in db.session.execute(select(table)) for value in row
        )
        for table in Base.metadata.sorted_tables
    }


# --- what the organisation sees -----------------------------------------------------


@pytest.mark.parametrize(("mine", "other"), [(1, 2), (2, 1)])
def test_page_shows_only_the_name_and_this_organisations_claim(
    client: FlaskClient, ctx: None, mailbox: Mailbox, mine: int, other: int
) -> None:
    """No birth date, address, e-mail or phone; nothing about the other organisation."""
    office = make_office()
    submit(office)
    own, foreign = engagement_input(mine), engagement_input(other)
    response = client.get(link_for(mailbox, own.contact_email))
    assert response.status_code == 200
    page = page_text(response)
    for shown in ("Erika Beispielfrau", own.organisation_name, own.activity, "6 pro Woche"):
        assert shown in page, shown
    hidden = [
        "14.03.1979",
        "14. März 1979",
        "1979-03-14",
        "1979",
        APPLICANT["street"],
        APPLICANT["postcode"],
        APPLICANT["town"],
        APPLICANT["phone"],
        APPLICANT_EMAIL,
        foreign.organisation_name,
        foreign.contact_name,
        foreign.contact_email,
        foreign.activity,
    ]
    for secret in hidden:
        assert secret not in page, secret


def test_mail_to_organisation_says_nothing_about_the_other(ctx: None, mailbox: Mailbox) -> None:
    """The request mail names the applicant and this organisation only."""
    submit(make_office())
    [mail] = mailbox.wait_for(to=engagement_input(1).contact_email, subject=REQUEST_SUBJECT)
    text = str(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert "Erika Beispielfrau" in text
    assert "TSV Dessau" in text
    for secret in ("Feuerwehr", "Geheimweg", APPLICANT_EMAIL, "1979"):
        assert secret not in text, secret


# --- answering ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claimed", "hours", "unit", "stored", "outcome"),
    [
        (Decimal(6), "2", "week", ("confirmed_hours_per_week", Decimal(2)), "not_met"),
        (Decimal(2), "250", "year", ("confirmed_hours_per_year", 250), "met"),
    ],
    ids=["fewer-per-week", "more-per-year"],
)
def test_confirmed_hours_are_stored_and_used_by_the_check(
    client: FlaskClient,
    ctx: None,
    mailbox: Mailbox,
    claimed: Decimal,
    hours: str,
    unit: str,
    stored: tuple[str, object],
    outcome: str,
) -> None:
    """Hours corrected by the organisation replace the claim in the eligibility check."""
    application = submit(make_office(), organisations=1, hours_per_week=claimed)
    path = link_for(mailbox, engagement_input(1).contact_email)
    response = answer(client, path, answer="confirm", hours=hours, hours_unit=unit)
    assert response.status_code == 200
    assert "Sie haben das Engagement bestätigt." in page_text(response)

    application = fresh(application)
    [engagement] = application.engagements
    assert engagement.confirmation_state == ConfirmationState.CONFIRMED
    assert engagement.hours_per_week == claimed, "the claim is kept"
    column, value = stored
    assert getattr(engagement, column) == value
    assert engagement.answered_at is not None
    checks = {
        c.code: c
        for c in eligibility.check_application(application, application.office.rules, date.today())
    }
    assert checks["hours"].outcome == outcome


def test_form_is_prefilled_with_the_claimed_hours(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """The hours field starts with what the applicant claimed."""
    submit(make_office(), organisations=1, hours_per_week=Decimal("7.5"))
    page = page_text(client.get(link_for(mailbox, engagement_input(1).contact_email)))
    assert "7,5 pro Woche" in page, "shown the German way"
    assert 'name="hours"' in page
    assert 'value="7.5"' in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"answer": ""}, "answer"),
        ({"answer": "decline", "comment": ""}, "comment"),
        ({"answer": "decline", "comment": "   "}, "comment"),
        ({"answer": "confirm", "hours": "", "hours_unit": "week"}, "hours"),
        ({"answer": "confirm", "hours": "viel", "hours_unit": "week"}, "hours"),
        ({"answer": "confirm", "hours": "500", "hours_unit": "week"}, "hours"),
        ({"answer": "confirm", "hours": "9000", "hours_unit": "year"}, "hours"),
        ({"answer": "confirm", "hours": "0", "hours_unit": "week"}, "hours"),
        ({"answer": "confirm", "hours": "-3", "hours_unit": "week"}, "hours"),
        ({"answer": "confirm", "hours": "NaN", "hours_unit": "week"}, "hours"),
        ({"answer": "confirm", "hours": "Infinity", "hours_unit": "year"}, "hours"),
        ({"answer": "vielleicht"}, "answer"),
        ({"answer": "confirm", "hours_unit": "month"}, "hours_unit"),
    ],
    ids=[
        "no-answer",
        "decline-without-comment",
        "decline-blank-comment",
        "confirm-without-hours",
        "hours-not-a-number",
        "hours-too-many-per-week",
        "hours-too-many-per-year",
        "hours-zero",
        "hours-negative",
        "hours-nan",
        "hours-infinite",
        "unknown-answer",
        "unknown-unit",
    ],
)
def test_invalid_answer_gets_field_error_and_changes_nothing(
    client: FlaskClient, ctx: None, mailbox: Mailbox, data: dict[str, str], field: str
) -> None:
    """Bad input: 400 with the error at the field; the link still works."""
    application = submit(make_office(), organisations=1)
    path = link_for(mailbox, engagement_input(1).contact_email)
    client.get(path)
    response = answer(client, path, **data)
    assert response.status_code == 400
    page = page_text(response)
    assert f'id="{field}-error"' in page
    assert "Bitte prüfen Sie Ihre Angaben" in page
    application = fresh(application)
    assert application.engagements[0].confirmation_state == ConfirmationState.PENDING
    assert application.state == ApplicationState.AWAITING_CONFIRMATION
    assert audit_rows(application, "organisation_declined") == []
    assert client.get(path).status_code == 200


def test_decline_with_comment_is_recorded(client: FlaskClient, ctx: None, mailbox: Mailbox) -> None:
    """Declining with a reason stores it, audits it and starts the review."""
    application = submit(make_office(), organisations=1)
    path = link_for(mailbox, engagement_input(1).contact_email)
    response = answer(client, path, answer="decline", comment="Ist seit 2024 nicht mehr aktiv.")
    assert response.status_code == 200
    assert "Ihre Antwort ist bei der Ausgabestelle." in page_text(response)
    application = fresh(application)
    engagement = application.engagements[0]
    assert engagement.confirmation_state == ConfirmationState.DECLINED
    assert engagement.answer_comment == "Ist seit 2024 nicht mehr aktiv."
    assert engagement.confirmed_hours_per_week is None
    [row] = audit_rows(application, "organisation_declined")
    assert row.reason == "Ist seit 2024 nicht mehr aktiv."
    assert application.state == ApplicationState.IN_REVIEW


def test_review_starts_when_every_organisation_answered(
    make_client, ctx: None, mailbox: Mailbox
) -> None:
    """The last answer moves the application to review, audited, and tells the applicant."""
    application = submit(make_office())
    first = link_for(mailbox, engagement_input(1).contact_email)
    second = link_for(mailbox, engagement_input(2).contact_email)

    answer(make_client(), first, answer="confirm", hours="6", hours_unit="week")
    assert fresh(application).state == ApplicationState.AWAITING_CONFIRMATION
    assert audit_rows(application, "start_review") == []

    answer(make_client(), second, answer="confirm", hours="5", hours_unit="week")
    assert fresh(application).state == ApplicationState.IN_REVIEW

    confirmed = audit_rows(application, "organisation_confirmed")
    assert [row.actor_label for row in confirmed] == [
        "Vorsitzende Anna Sport (TSV Dessau)",
        "Wehrleiter Bernd Brand (Freiwillige Feuerwehr Kochstedt)",
    ]
    assert {row.actor_role for row in confirmed} == {"organisation"}
    assert {row.actor_id for row in confirmed} == {None}
    [start] = audit_rows(application, "start_review")
    assert start.actor_role == "organisation"
    assert start.actor_label == "Wehrleiter Bernd Brand (Freiwillige Feuerwehr Kochstedt)"
    assert (start.from_state, start.to_state) == ("awaiting_confirmation", "in_review")
    [mail] = mailbox.wait_for(to=APPLICANT_EMAIL, subject="Ihr Antrag wird geprüft")
    assert "Prüfung" in str(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]


# --- links that do not work ---------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_tampered_link_is_not_found(
    client: FlaskClient, ctx: None, mailbox: Mailbox, method: str
) -> None:
    """A changed token gives 404 "Link ungültig"."""
    submit(make_office(), organisations=1)
    path = link_for(mailbox, engagement_input(1).contact_email)
    tampered = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    response = (
        client.get(tampered)
        if method == "GET"
        else answer(client, tampered, answer="confirm", hours="6", hours_unit="week")
    )
    assert response.status_code == 404
    assert "Link ungültig" in page_text(response)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_expired_link_is_gone(
    client: FlaskClient, ctx: None, mailbox: Mailbox, method: str
) -> None:
    """A link past token_expires_at gives 410 "abgelaufen" and records nothing."""
    application = submit(make_office(), organisations=1)
    path = link_for(mailbox, engagement_input(1).contact_email)
    engagement = application.engagements[0]
    engagement.token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = (
        client.get(path)
        if method == "GET"
        else answer(client, path, answer="confirm", hours="6", hours_unit="week")
    )
    assert response.status_code == 410
    assert "abgelaufen" in page_text(response)
    assert fresh(application).engagements[0].confirmation_state == ConfirmationState.PENDING


def test_link_expires_after_the_programmes_days(ctx: None, mailbox: Mailbox) -> None:
    """The link is valid for the office's confirmation_link_days."""
    office = make_office()
    office.rules.confirmation_link_days = 12
    db.session.commit()
    application = submit(office, organisations=1)
    engagement = application.engagements[0]
    assert engagement.token_expires_at is not None and engagement.request_sent_at is not None
    assert engagement.token_expires_at - engagement.request_sent_at == timedelta(days=12)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_answered_link_cannot_be_used_again(
    make_client, ctx: None, mailbox: Mailbox, method: str
) -> None:
    """After answering, the link gives 410 "Bereits beantwortet" and changes nothing."""
    application = submit(make_office())
    path = link_for(mailbox, engagement_input(1).contact_email)
    answer(make_client(), path, answer="confirm", hours="6", hours_unit="week")
    client = make_client()
    response = (
        client.get(path)
        if method == "GET"
        else answer(client, path, answer="decline", comment="doch nicht")
    )
    assert response.status_code == 410
    assert "Bereits beantwortet" in page_text(response)
    engagement = fresh(application).engagements[0]
    assert engagement.confirmation_state == ConfirmationState.CONFIRMED
    assert len(audit_rows(application, "organisation_confirmed")) == 1
    assert audit_rows(application, "organisation_declined") == []


def test_link_of_withdrawn_application_is_answered_already(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """Once the applicant withdrew, the organisation's link no longer takes answers."""
    application = submit(make_office(), organisations=1)
    path = link_for(mailbox, engagement_input(1).contact_email)
    application.state = ApplicationState.WITHDRAWN
    db.session.commit()
    response = answer(client, path, answer="confirm", hours="6", hours_unit="week")
    assert response.status_code == 410
    assert fresh(application).engagements[0].confirmation_state == ConfirmationState.PENDING


def test_link_is_stored_only_as_its_hash(ctx: None, mailbox: Mailbox) -> None:
    """The engagement keeps the SHA-256 of the token; the token itself is in no column."""
    application = submit(make_office(), organisations=1)
    token = link_for(mailbox, engagement_input(1).contact_email).rsplit("/", 1)[1]
    engagement = fresh(application).engagements[0]
    assert engagement.token_hash == hashlib.sha256(token.encode()).hexdigest()
    tables = database_text()
    leaking = [name for name, rows in tables.items() if token in rows and name != "outbox_message"]
    assert leaking == []
    assert engagement.token_hash in tables["engagement"]


def test_sent_mail_leaves_no_token_in_the_database(ctx: None, mailbox: Mailbox) -> None:
    """Once the mail is delivered, the secret link exists only in the recipient's inbox."""
    submit(make_office(), organisations=1)
    token = link_for(mailbox, engagement_input(1).contact_email).rsplit("/", 1)[1]

    def all_sent() -> bool:
        db.session.rollback()
        return not applications_pending_mail()

    wait_until(all_sent, timeout=5, message="the mails were never all sent")
    assert [name for name, rows in database_text().items() if token in rows] == []


def applications_pending_mail() -> int:
    """Mails queued but not yet marked as sent."""
    from ehrenamt.core import outbox

    return outbox.pending_count()


# --- reminders ----------------------------------------------------------------------


def backdate(engagement: Engagement, days: int) -> None:
    """Pretend the request went out ``days`` days ago."""
    db.session.rollback()
    loaded = db.session.get(Engagement, engagement.id)
    assert loaded is not None
    loaded.request_sent_at = utcnow() - timedelta(days=days)
    db.session.commit()


def test_reminder_goes_only_to_organisations_past_the_deadline(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """Only the overdue organisation gets a new link; its old link stops working."""
    application = submit(make_office())
    days = application.office.rules.reminder_after_days
    tsv, fire = engagement_input(1).contact_email, engagement_input(2).contact_email
    old = link_for(mailbox, tsv)
    link_for(mailbox, fire)
    backdate(application.engagements[0], days + 1)
    backdate(application.engagements[1], days - 1)

    assert applications_confirmation.remind_organisations() == 1

    [reminder] = mailbox.wait_for(to=tsv, subject="Erinnerung")
    assert "wir erinnern freundlich" in str(
        reminder.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    )
    new = link_for(mailbox, tsv, count=2)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    time.sleep(0.3)
    assert not mailbox.matching(lambda m: "Erinnerung" in str(m["Subject"]) and fire in m["To"])

    application = fresh(application)
    assert [e.reminder_count for e in application.engagements] == [1, 0]
    [row] = audit_rows(application, "remind_organisation")
    assert row.reason == "TSV Dessau"
    assert row.actor_role == "system"
    assert applications_confirmation.remind_organisations() == 0, "the reminder reset the clock"


def test_at_most_max_reminders_are_sent(ctx: None, mailbox: Mailbox) -> None:
    """An organisation that never answers is reminded MAX_REMINDERS times, then no more."""
    application = submit(make_office(), organisations=1)
    days = application.office.rules.reminder_after_days
    sent = []
    for _ in range(MAX_REMINDERS + 2):
        backdate(application.engagements[0], days + 1)
        sent.append(applications_confirmation.remind_organisations())
    assert sent == [1] * MAX_REMINDERS + [0, 0]
    contact = engagement_input(1).contact_email
    mailbox.wait_for(to=contact, subject="Erinnerung", count=MAX_REMINDERS)
    assert len(audit_rows(application, "remind_organisation")) == MAX_REMINDERS
    assert fresh(application).engagements[0].reminder_count == MAX_REMINDERS


def test_answered_organisations_get_no_reminder(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """An organisation that answered is not reminded, however old its request."""
    application = submit(make_office())
    path = link_for(mailbox, engagement_input(1).contact_email)
    answer(client, path, answer="confirm", hours="6", hours_unit="week")
    days = application.office.rules.reminder_after_days
    backdate(application.engagements[0], days + 1)
    backdate(application.engagements[1], days + 1)
    assert applications_confirmation.remind_organisations() == 1
    mailbox.wait_for(to=engagement_input(2).contact_email, subject="Erinnerung")
    assert not mailbox.matching(lambda m: "Erinnerung" in str(m["Subject"]) and "tsv" in m["To"])


# --- the clerk: resend and override --------------------------------------------------


def engagement_action(
    client: FlaskClient, application: Application, engagement: Engagement, **data: str
) -> TestResponse:
    """POST the clerk's per-organisation form."""
    detail = f"/verwaltung/antrag/{application.public_id}"
    return post(
        client,
        f"{detail}/organisation",
        {"engagement_id": str(engagement.id), **data},
        page=detail,
    )


@pytest.fixture
def clerk_client(make_client, ctx: None) -> Iterator[tuple[FlaskClient, Office, User]]:
    """A signed-in clerk of a fresh office."""
    office = make_office()
    clerk = make_user(UserRole.CLERK, office)
    client = make_client()
    sign_in(client, clerk)
    yield client, office, clerk


def test_clerk_resend_sends_new_link_and_invalidates_old(
    clerk_client: tuple[FlaskClient, Office, User], make_client, mailbox: Mailbox
) -> None:
    """Re-sending mails a fresh link; the old one stops working; it is audited."""
    client, office, clerk = clerk_client
    application = submit(office)
    contact = engagement_input(1).contact_email
    old = link_for(mailbox, contact)
    response = engagement_action(
        client, application, application.engagements[0], resend="Link erneut senden"
    )
    assert response.status_code == 302
    new = link_for(mailbox, contact, count=2)
    assert new != old
    organisation = make_client()
    assert organisation.get(old).status_code == 404
    assert organisation.get(new).status_code == 200
    [row] = audit_rows(application, "resend_confirmation")
    assert row.actor_id == clerk.id
    assert row.reason == "TSV Dessau"
    assert fresh(application).state == ApplicationState.AWAITING_CONFIRMATION


def test_clerk_override_requires_a_note(
    clerk_client: tuple[FlaskClient, Office, User], mailbox: Mailbox
) -> None:
    """Confirming in the organisation's place without a note is refused at the field."""
    client, office, _clerk = clerk_client
    application = submit(office, organisations=1)
    response = engagement_action(
        client, application, application.engagements[0], override="1", note="  "
    )
    assert response.status_code == 400
    assert "Bitte begründen Sie" in page_text(response)
    application = fresh(application)
    assert application.engagements[0].confirmation_state == ConfirmationState.PENDING
    assert audit_rows(application, "override_confirmation") == []


def test_clerk_override_of_last_organisation_starts_review(
    clerk_client: tuple[FlaskClient, Office, User], make_client, mailbox: Mailbox
) -> None:
    """Override marks the engagement, kills its link and, as the last one, starts review."""
    client, office, clerk = clerk_client
    application = submit(office)
    first = link_for(mailbox, engagement_input(1).contact_email)
    second = link_for(mailbox, engagement_input(2).contact_email)
    answer(make_client(), first, answer="confirm", hours="6", hours_unit="week")

    note = "Telefonisch bestätigt durch den Wehrleiter."
    response = engagement_action(
        client, application, application.engagements[1], override="1", note=note
    )
    assert response.status_code == 302
    application = fresh(application)
    engagement = application.engagements[1]
    assert engagement.confirmation_state == ConfirmationState.OVERRIDDEN
    assert engagement.answer_comment == note
    assert engagement.token_hash is None
    assert application.state == ApplicationState.IN_REVIEW
    [override] = audit_rows(application, "override_confirmation")
    assert override.actor_id == clerk.id
    assert override.reason == f"Freiwillige Feuerwehr Kochstedt: {note}"
    [start] = audit_rows(application, "start_review")
    assert start.actor_id == clerk.id
    assert make_client().get(second).status_code == 404


def test_clerk_override_of_one_of_two_waits_for_the_other(
    clerk_client: tuple[FlaskClient, Office, User], mailbox: Mailbox
) -> None:
    """With another organisation still to answer, the application keeps waiting."""
    client, office, _clerk = clerk_client
    application = submit(office)
    engagement_action(
        client, application, application.engagements[0], override="1", note="Liegt vor."
    )
    application = fresh(application)
    assert application.engagements[0].confirmation_state == ConfirmationState.OVERRIDDEN
    assert application.engagements[1].confirmation_state == ConfirmationState.PENDING
    assert application.state == ApplicationState.AWAITING_CONFIRMATION
    assert audit_rows(application, "start_review") == []


@pytest.mark.parametrize("action", [{"resend": "1"}, {"override": "1", "note": "fremd"}])
def test_clerk_of_another_office_cannot_touch_confirmations(
    make_client, ctx: None, mailbox: Mailbox, action: dict[str, str]
) -> None:
    """Another office's clerk gets 404 and changes nothing."""
    application = submit(make_office(), organisations=1)
    stranger = make_user(UserRole.CLERK, make_office())
    client = make_client()
    sign_in(client, stranger)
    response = post(
        client,
        f"/verwaltung/antrag/{application.public_id}/organisation",
        {"engagement_id": str(application.engagements[0].id), **action},
        page="/verwaltung/",
    )
    assert response.status_code == 404
    assert fresh(application).engagements[0].confirmation_state == ConfirmationState.PENDING
    assert audit_rows(application, "resend_confirmation") == []


# --- two organisations at the same moment -------------------------------------------


@pytest.fixture
def slow_commits() -> Iterator[set[int]]:
    """Commits of the threads whose ids are added to the set pause a moment first.

    This widens the window in which two answers overlap, so that a race shows every
    time instead of now and then. Nothing is faked: both commits reach the database.
    """
    threads: set[int] = set()

    def pause(_session: Any) -> None:
        if threading.get_ident() in threads:
            time.sleep(0.3)

    event.listen(Session, "before_commit", pause)
    yield threads
    event.remove(Session, "before_commit", pause)


def test_two_organisations_answering_at_once_start_review_once(
    app: Flask, make_client, ctx: None, mailbox: Mailbox, slow_commits: set[int]
) -> None:
    """Both answers are recorded and the review starts exactly once."""
    application = submit(make_office())
    paths = [link_for(mailbox, engagement_input(n).contact_email) for n in (1, 2)]
    clients = [make_client(), make_client()]
    db.session.rollback()

    def respond(client: FlaskClient, path: str, meet: Meet) -> int:
        slow_commits.add(threading.get_ident())
        token = csrf_token(client, path)
        meet()
        response = client.post(
            path,
            data={"csrf_token": token, "answer": "confirm", "hours": "6", "hours_unit": "week"},
        )
        return response.status_code

    statuses = at_once(*(partial(respond, c, p) for c, p in zip(clients, paths, strict=True)))
    assert statuses == [303, 303]  # both answers taken (post/redirect/get)

    application = fresh(application)
    assert [e.confirmation_state for e in application.engagements] == [
        ConfirmationState.CONFIRMED,
        ConfirmationState.CONFIRMED,
    ]
    assert len(audit_rows(application, "organisation_confirmed")) == 2
    assert len(audit_rows(application, "start_review")) == 1
    assert application.state == ApplicationState.IN_REVIEW
    mailbox.wait_for(to=APPLICANT_EMAIL, subject="Ihr Antrag wird geprüft")
