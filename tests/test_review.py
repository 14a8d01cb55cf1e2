"""The staff views: who may see what, the queue, the detail page, decisions and conflicts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt.applications import decisions as applications_decisions
from ehrenamt.cards import register
from ehrenamt.cards.lifecycle import ISSUE_CARD_TASK
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import Conflict
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    CardType,
    ConfirmationState,
    Office,
    OutboxMessage,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.workflow import Actor, ApplicationState, IllegalTransition
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.harness import Meet, at_once
from tests.helpers import csrf_token, page_text, post, sign_in
from tests.mailbox import Mailbox, text_of

S = ApplicationState
CONFLICT_MESSAGE = "inzwischen von jemand anderem bearbeitet"
NOT_POSSIBLE_MESSAGE = "im aktuellen Status nicht möglich"
DETAIL_LINK = re.compile(r'href="/verwaltung/antrag/([^"]+)"')
VERSION_FIELD = re.compile(r'name="version"[^>]*value="(\d+)"')


def _queue_ids(response: TestResponse) -> list[str]:
    """The public ids of the applications listed on a queue page, in order."""
    return DETAIL_LINK.findall(page_text(response))


def _version_on(client: FlaskClient, public_id: str) -> str:
    """The version the detail page's decision forms carry, as a browser would send it."""
    html = page_text(client.get(f"/verwaltung/antrag/{public_id}"))
    versions = set(VERSION_FIELD.findall(html))
    assert len(versions) == 1, versions
    return versions.pop()


def _audit_actions(application_id: int) -> list[str]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(
                AuditEntry.subject_type == "application", AuditEntry.subject_id == application_id
            )
            .order_by(AuditEntry.id)
        )
    )


def _state_of(application_id: int) -> ApplicationState:
    db.session.rollback()
    application = db.session.get(Application, application_id)
    assert application is not None
    db.session.refresh(application)
    return application.state


def _issue_card_messages() -> list[OutboxMessage]:
    db.session.rollback()
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.task == ISSUE_CARD_TASK))
    )


# --- roles × views ------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """A staff page, how to call it, and what a successful call changes."""

    name: str
    method: str
    path: str
    state: ApplicationState = S.IN_REVIEW
    data: tuple[tuple[str, str], ...] = ()
    admin_only: bool = False
    about_application: bool = True
    #: The application's state after a permitted call.
    after: ApplicationState | None = None
    #: The audit action a permitted call writes.
    audit: str | None = None


VIEWS = [
    View("queue", "GET", "/verwaltung/"),
    View("detail", "GET", "/verwaltung/antrag/{id}"),
    View(
        "approve",
        "POST",
        "/verwaltung/antrag/{id}/bewilligen",
        data=(("note", "passt"),),
        after=S.APPROVED,
        audit="approve",
    ),
    View(
        "reject",
        "POST",
        "/verwaltung/antrag/{id}/ablehnen",
        data=(("reason", "too_few_hours"), ("text", "Zu wenige Stunden.")),
        after=S.REJECTED,
        audit="reject",
    ),
    View(
        "request_information",
        "POST",
        "/verwaltung/antrag/{id}/rueckfrage",
        data=(("question", "Seit wann?"),),
        after=S.NEEDS_INFORMATION,
        audit="request_information",
    ),
    View(
        "start_review",
        "POST",
        "/verwaltung/antrag/{id}/pruefung-beginnen",
        state=S.AWAITING_CONFIRMATION,
        data=(("note", "Verein antwortet nicht."),),
        after=S.IN_REVIEW,
        audit="start_review",
    ),
    View(
        "organisation",
        "POST",
        "/verwaltung/antrag/{id}/organisation",
        state=S.AWAITING_CONFIRMATION,
        data=(("resend", "Link erneut senden"),),
        after=S.AWAITING_CONFIRMATION,
        audit="resend_confirmation",
    ),
    View(
        "rules", "GET", "/verwaltung/einstellungen/regeln", admin_only=True, about_application=False
    ),
    View(
        "preset",
        "POST",
        "/verwaltung/einstellungen/vorlage",
        data=(("preset", "bayern"),),
        admin_only=True,
        about_application=False,
    ),
]

ROLES = ["anonymous", "volunteer", "partner", "clerk", "clerk_other", "admin", "admin_other"]


def _expected_status(view: View, role: str) -> int:
    """The status code the role must get on the view."""
    if role == "anonymous":
        return 302
    if role in ("volunteer", "partner"):
        return 403
    is_admin = role.startswith("admin")
    if view.admin_only and not is_admin:
        return 403
    if role.endswith("_other") and view.about_application and view.name != "queue":
        return 404
    return 200 if view.method == "GET" else 302


def _user_for(role: str, office: Office, other: Office, applicant: User) -> User | None:
    if role == "anonymous":
        return None
    if role == "volunteer":
        return applicant
    if role == "partner":
        return make_user(UserRole.PARTNER, office)
    user_role = UserRole.ADMIN if role.startswith("admin") else UserRole.CLERK
    return make_user(user_role, other if role.endswith("_other") else office)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.name)
def test_role_matrix(ctx: None, client: FlaskClient, view: View, role: str) -> None:
    """Each role gets exactly the access it should to each staff view, and only then acts."""
    office, other = make_office(), make_office()
    applicant = make_user(UserRole.VOLUNTEER, password=PASSWORD if role == "volunteer" else None)
    application = make_application(office, applicant, state=view.state)
    user = _user_for(role, office, other, application.applicant)
    if user is not None:
        sign_in(client, user)
    data = dict(view.data)
    if view.name == "organisation":
        data["engagement_id"] = str(application.engagements[0].id)
    if "/antrag/" in view.path and view.method == "POST":
        data["version"] = str(application.version)
    path = view.path.format(id=application.public_id)

    response = client.get(path) if view.method == "GET" else post(client, path, data)

    expected = _expected_status(view, role)
    assert response.status_code == expected, page_text(response)[:500]
    if role == "anonymous":
        assert response.headers["Location"].startswith("/anmelden")
    if view.name == "queue" and expected == 200:
        listed = application.public_id in _queue_ids(response)
        assert listed is (not role.endswith("_other"))
    if view.name == "detail" and expected == 200:
        assert application.full_name in page_text(response)
    if view.method == "POST" and view.about_application:
        permitted = expected == 302 and role != "anonymous"
        if permitted:
            assert response.headers["Location"].endswith(path.rsplit("/", 1)[0])
        assert _state_of(application.id) == (view.after if permitted else view.state)
        assert _audit_actions(application.id) == ([view.audit] if permitted else [])
    if view.name == "preset":
        db.session.rollback()
        changed = office if role == "admin" else (other if role == "admin_other" else None)
        for each in (office, other):
            db.session.refresh(each.rules)
            assert (each.rules.preset == "bayern") is (each is changed)


def test_password_without_second_factor_is_not_signed_in(ctx: None, client: FlaskClient) -> None:
    """A clerk who gave the password but not the TOTP code cannot reach the staff pages."""
    office = make_office()
    clerk = make_user(UserRole.CLERK, office)
    application = make_application(office)
    response = post(
        client, "/anmelden", {"email": clerk.email, "password": PASSWORD}, page="/anmelden"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/anmelden/zweiter-faktor"
    for path in ("/verwaltung/", f"/verwaltung/antrag/{application.public_id}"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/anmelden")
    response = post(
        client,
        f"/verwaltung/antrag/{application.public_id}/bewilligen",
        {"version": "1"},
        page="/anmelden/zweiter-faktor",
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/anmelden")
    assert _state_of(application.id) == S.IN_REVIEW


# --- the queue ----------------------------------------------------------------------


@pytest.fixture
def clerk_client(ctx: None, client: FlaskClient) -> tuple[FlaskClient, Office]:
    """A signed-in clerk and their office."""
    office = make_office()
    sign_in(client, make_user(UserRole.CLERK, office))
    return client, office


def _volunteer() -> User:
    """An applicant without a password (hashing one costs time and is not needed here)."""
    return make_user(UserRole.VOLUNTEER, password=None)


def _waiting(application: Application, days: int) -> Application:
    """Make the application look as if its state changed ``days`` ago."""
    application.state_changed_at = utcnow() - timedelta(days=days)
    db.session.commit()
    return application


def test_queue_sorted_by_waiting_time_and_only_open_by_default(
    clerk_client: tuple[FlaskClient, Office],
) -> None:
    """Longest waiting first; decided and withdrawn applications are not in the default list."""
    client, office = clerk_client
    newest = _waiting(make_application(office, _volunteer()), 1)
    oldest = _waiting(make_application(office, _volunteer(), state=S.NEEDS_INFORMATION), 30)
    middle = _waiting(make_application(office, _volunteer(), state=S.AWAITING_CONFIRMATION), 10)
    decided = [
        _waiting(make_application(office, _volunteer(), state=state), 50)
        for state in (S.APPROVED, S.REJECTED, S.WITHDRAWN)
    ]
    ids = _queue_ids(client.get("/verwaltung/"))
    assert ids == [oldest.public_id, middle.public_id, newest.public_id]
    assert not {a.public_id for a in decided} & set(ids)


@pytest.mark.parametrize("state", list(ApplicationState))
def test_queue_filters_by_state(clerk_client: tuple[FlaskClient, Office], state: S) -> None:
    """The state filter lists exactly the applications in that state (final ones too)."""
    client, office = clerk_client
    by_state = {s: make_application(office, _volunteer(), state=s) for s in ApplicationState}
    response = client.get(f"/verwaltung/?state={state.value}")
    assert response.status_code == 200
    assert _queue_ids(response) == [by_state[state].public_id]


def test_queue_filters_by_card_type(clerk_client: tuple[FlaskClient, Office]) -> None:
    """The card type filter separates standard and long-service applications."""
    client, office = clerk_client
    standard = make_application(office, _volunteer())
    long_service = make_application(office, _volunteer(), card_type=CardType.LONG_SERVICE)
    assert _queue_ids(client.get("/verwaltung/?card_type=long_service")) == [long_service.public_id]
    assert _queue_ids(client.get("/verwaltung/?card_type=standard")) == [standard.public_id]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("organisation=tsv", ["tsv", "tsv2"]),
        ("organisation=TSV%20Dess", ["tsv"]),
        ("organisation=Feuerwehr", ["fire"]),
        ("organisation=dessau", []),
        ("organisation=100%25", ["percent"]),
        ("name=m%C3%BCller", ["tsv"]),
        ("name=M%C3%9CLLER", ["tsv"]),
        ("name=anna", ["tsv2", "fire"]),
        ("name=anna%20schmidt", ["fire"]),
        ("name=_", []),
        ("name=anna&organisation=feuer", ["fire"]),
    ],
)
def test_queue_filters_by_organisation_prefix_and_name(
    clerk_client: tuple[FlaskClient, Office], query: str, expected: list[str]
) -> None:
    """Organisation matches from the start of the name, the name anywhere, both ignore case."""
    client, office = clerk_client
    made = {
        "tsv": make_application(
            office, _volunteer(), first_name="Jörg", last_name="Müller", organisation="TSV Dessau"
        ),
        "tsv2": make_application(
            office, _volunteer(), first_name="Anna", last_name="Berg", organisation="TSV Roßlau"
        ),
        "fire": make_application(
            office,
            _volunteer(),
            first_name="Anna",
            last_name="Schmidt",
            organisation="Freiwillige Feuerwehr",
            engagements=2,
        ),
        "percent": make_application(
            office, _volunteer(), first_name="Max", last_name="Prozent", organisation="100% Verein"
        ),
    }
    # "Freiwillige Feuerwehr 2" is the second engagement; the prefix "Feuerwehr" must not
    # match "Freiwillige Feuerwehr", so rename it to check a second engagement is searched.
    made["fire"].engagements[1].organisation_name = "Feuerwehr Roßlau"
    made["fire"].engagements[1].organisation_key = "feuerwehr roßlau"
    db.session.commit()
    response = client.get(f"/verwaltung/?{query}")
    assert response.status_code == 200
    assert sorted(_queue_ids(response)) == sorted(made[key].public_id for key in expected)


def test_queue_pages_in_the_database(app: Flask, clerk_client: tuple[FlaskClient, Office]) -> None:
    """30 applications: page 1 has PAGE_SIZE, page 2 the rest; "Nächste Seite" only if more."""
    client, office = clerk_client
    page_size = app.config["PAGE_SIZE"]
    made = [_waiting(make_application(office, _volunteer()), 100 - i) for i in range(30)]
    expected = [a.public_id for a in made]

    first = client.get("/verwaltung/")
    assert _queue_ids(first) == expected[:page_size]
    assert "Nächste Seite" in page_text(first)
    assert "Vorherige Seite" not in page_text(first)

    second = client.get("/verwaltung/?page=2")
    assert _queue_ids(second) == expected[page_size:]
    assert "Nächste Seite" not in page_text(second)
    assert "Vorherige Seite" in page_text(second)

    beyond = client.get("/verwaltung/?page=3")
    assert beyond.status_code == 200
    assert _queue_ids(beyond) == []


def test_queue_next_link_keeps_the_filters(clerk_client: tuple[FlaskClient, Office]) -> None:
    """The pager keeps the filters; an exactly full page has no "Nächste Seite"."""
    client, office = clerk_client
    for _ in range(25):
        make_application(office, _volunteer(), organisation="Chor")
    make_application(office, _volunteer(), organisation="Anderer Verein")
    html = page_text(client.get("/verwaltung/?name=erika"))
    match = re.search(r'rel="next" href="([^"]+)"', html)
    assert match, html
    link = match.group(1).replace("&amp;", "&")
    assert "name=erika" in link and "page=2" in link
    assert len(_queue_ids(client.get(link))) == 1
    html = page_text(client.get("/verwaltung/?organisation=chor"))
    assert len(_queue_ids(client.get("/verwaltung/?organisation=chor"))) == 25
    assert "Nächste Seite" not in html


@pytest.mark.parametrize(
    "query",
    [
        "state=bogus",
        "card_type=gold",
        "page=-1",
        "page=0",
        "page=abc",
        "page=99999999999999999999",
        "page=1e3",
        "name=" + "x" * 500,
        "organisation=%00",
        "name=a%01b",
        "state=&page=",
    ],
)
def test_queue_bad_filter_values_are_no_error(
    clerk_client: tuple[FlaskClient, Office], query: str
) -> None:
    """Nonsense in the filters shows the first, unfiltered page instead of a server error."""
    client, office = clerk_client
    application = make_application(office, _volunteer())
    response = client.get(f"/verwaltung/?{query}")
    assert response.status_code == 200
    assert _queue_ids(response) == [application.public_id]


# --- the detail page ----------------------------------------------------------------


def test_detail_shows_checks_confirmations_and_history(
    clerk_client: tuple[FlaskClient, Office],
) -> None:
    """The eligibility check rule by rule, each organisation's confirmation, and the history."""
    client, office = clerk_client
    application = make_application(
        office, _volunteer(), engagements=2, card_type=CardType.LONG_SERVICE
    )
    application.engagements[1].confirmation_state = ConfirmationState.DECLINED
    application.engagements[1].answer_comment = "Kennen wir nicht."
    db.session.commit()
    clerk = make_user(UserRole.CLERK, office)
    applications_decisions.request_information(
        application, Acting.user_as(clerk, Actor.CLERK), 1, "Wie viele Stunden genau?"
    )

    html = page_text(client.get(f"/verwaltung/antrag/{application.public_id}"))
    outcomes = dict(re.findall(r'data-rule="([a-z_]+)" data-outcome="([a-z_]+)"', html))
    assert outcomes == {
        "age": "met",
        "hours": "met",
        "years": "met",
        "allowance": "met",
        "place": "met",  # home and organisation in the office's own postcodes (issue #14)
        "confirmations": "not_met",
        "long_service": "not_met",
    }
    confirmations = re.findall(r'data-confirmation="([a-z_]+)"', html)
    assert confirmations == ["confirmed", "declined"]
    assert "Kennen wir nicht." in html
    assert 'data-action="request_information"' in html
    assert "Wie viele Stunden genau?" in html
    assert clerk.email in html
    assert 'data-state="needs_information"' in html


def test_detail_offers_only_the_possible_actions(clerk_client: tuple[FlaskClient, Office]) -> None:
    """A decided application offers no decision forms; an open one offers its actions."""
    client, office = clerk_client
    open_one = make_application(office, _volunteer())
    decided = make_application(office, _volunteer(), state=S.APPROVED)
    html = page_text(client.get(f"/verwaltung/antrag/{open_one.public_id}"))
    assert "/bewilligen" in html and "/ablehnen" in html and "/rueckfrage" in html
    assert "/pruefung-beginnen" not in html
    html = page_text(client.get(f"/verwaltung/antrag/{decided.public_id}"))
    assert "/bewilligen" not in html and "/ablehnen" not in html
    assert "Keine Aktion möglich." in html


def test_unknown_application_is_404(clerk_client: tuple[FlaskClient, Office]) -> None:
    """A made-up id is a 404, for pages and decisions alike."""
    client, _office = clerk_client
    assert client.get("/verwaltung/antrag/nichtda").status_code == 404
    response = post(client, "/verwaltung/antrag/nichtda/bewilligen", {"version": "1"})
    assert response.status_code == 404


# --- decisions through the web ------------------------------------------------------


@pytest.mark.worker
def test_approve_through_the_web(
    clerk_client: tuple[FlaskClient, Office], mailbox: Mailbox
) -> None:
    """Approving with the page's version moves the application and queues the card."""
    client, office = clerk_client
    application = make_application(office, _volunteer())
    version = _version_on(client, application.public_id)
    path = f"/verwaltung/antrag/{application.public_id}"
    response = post(client, f"{path}/bewilligen", {"version": version, "note": "ok"}, page=path)
    assert response.status_code == 302
    assert "Gespeichert." in page_text(client.get(path))
    assert _state_of(application.id) == S.APPROVED
    [message] = _issue_card_messages()
    card = register.card_for_application(application.id)
    assert card is not None
    assert message.payload == {"card_id": card.id, "generation": 1}
    mailbox.wait_for(to=application.applicant.email, subject="bewilligt")


@pytest.mark.parametrize(
    ("data", "error_field", "message"),
    [
        ({"text": "Zu wenig."}, "reason", "Bitte wählen Sie einen Grund."),
        ({"reason": "", "text": "Zu wenig."}, "reason", "Bitte wählen Sie einen Grund."),
        ({"reason": "weil", "text": "Zu wenig."}, "reason", None),
        ({"reason": "too_young"}, "text", "Bitte erläutern Sie die Ablehnung."),
        ({"reason": "too_young", "text": "   "}, "text", "Bitte erläutern Sie die Ablehnung."),
        ({"reason": "too_young", "text": "x" * 5001}, "text", None),
        ({"reason": "too_young", "text": "Zu\x00jung"}, "text", "Steuerzeichen"),
    ],
    ids=[
        "no-reason",
        "empty-reason",
        "bogus-reason",
        "no-text",
        "blank-text",
        "long-text",
        "nul-in-text",
    ],
)
def test_reject_needs_reason_and_text(
    clerk_client: tuple[FlaskClient, Office],
    data: dict[str, str],
    error_field: str,
    message: str | None,
) -> None:
    """A rejection without a listed reason or without text is a 400 with the field's error."""
    client, office = clerk_client
    application = make_application(office, _volunteer())
    path = f"/verwaltung/antrag/{application.public_id}"
    response = post(client, f"{path}/ablehnen", {"version": "1", **data}, page=path)
    assert response.status_code == 400
    html = page_text(response)
    assert f'id="{error_field}-error"' in html
    if message:
        assert message in html
    if data.get("text", "").strip() and len(data["text"]) < 100:
        assert data["text"] in html  # what was typed is kept
    assert _state_of(application.id) == S.IN_REVIEW
    assert _audit_actions(application.id) == []


@pytest.mark.parametrize(
    ("version", "status"),
    [("", 400), ("abc", 400), ("-1", 302)],  # -1 is a version, an old one: a conflict
)
def test_decision_with_bad_version_changes_nothing(
    clerk_client: tuple[FlaskClient, Office], version: str, status: int
) -> None:
    """A missing or garbled version is a 4xx (or a conflict), never a 500 or a change."""
    client, office = clerk_client
    application = make_application(office, _volunteer())
    path = f"/verwaltung/antrag/{application.public_id}"
    response = post(client, f"{path}/bewilligen", {"version": version}, page=path)
    assert response.status_code == status
    if status == 302:
        assert CONFLICT_MESSAGE in page_text(client.get(path))
    assert _state_of(application.id) == S.IN_REVIEW


@pytest.mark.worker
def test_reject_mails_reason_label_and_text(
    clerk_client: tuple[FlaskClient, Office], mailbox: Mailbox
) -> None:
    """The rejection mail names the reason from the list and carries the clerk's words."""
    client, office = clerk_client
    application = make_application(office, _volunteer())
    path = f"/verwaltung/antrag/{application.public_id}"
    response = post(
        client,
        f"{path}/ablehnen",
        {"version": "1", "reason": "too_young", "text": "Bitte beantragen Sie in zwei Jahren."},
        page=path,
    )
    assert response.status_code == 302
    assert _state_of(application.id) == S.REJECTED
    [message] = mailbox.wait_for(to=application.applicant.email, subject="abgelehnt")
    body = text_of(message)
    assert "Das Mindestalter ist nicht erreicht." in body
    assert "Bitte beantragen Sie in zwei Jahren." in body


@pytest.mark.worker
def test_request_information_answer_round_trip(
    ctx: None, make_client: Any, mailbox: Mailbox
) -> None:
    """The applicant sees the question, answers, the review resumes and the clerk sees it."""
    office = make_office()
    application = make_application(office)
    clerk_client, applicant_client = make_client(), make_client()
    sign_in(clerk_client, make_user(UserRole.CLERK, office))
    sign_in(applicant_client, application.applicant)
    path = f"/verwaltung/antrag/{application.public_id}"

    response = post(
        clerk_client,
        f"{path}/rueckfrage",
        {"version": _version_on(clerk_client, application.public_id), "question": "Welche Gruppe?"},
        page=path,
    )
    assert response.status_code == 302
    assert _state_of(application.id) == S.NEEDS_INFORMATION
    [question_mail] = mailbox.wait_for(to=application.applicant.email, subject="Rückfrage")
    assert "Welche Gruppe?" in text_of(question_mail)

    own = f"/konto/antrag/{application.public_id}"
    html = page_text(applicant_client.get(own))
    assert "Welche Gruppe?" in html
    assert 'data-state="needs_information"' in html

    empty = post(applicant_client, f"{own}/antworten", {"answer": ""}, page=own)
    assert empty.status_code == 400
    assert _state_of(application.id) == S.NEEDS_INFORMATION

    response = post(applicant_client, f"{own}/antworten", {"answer": "Die D-Jugend."}, page=own)
    assert response.status_code == 302
    assert _state_of(application.id) == S.IN_REVIEW
    mailbox.wait_for(to=application.applicant.email, subject="wird geprüft")
    html = page_text(clerk_client.get(path))
    assert "Die D-Jugend." in html
    assert 'data-action="answer"' in html

    # A second answer after the question was answered changes nothing.
    again = post(applicant_client, f"{own}/antworten", {"answer": "Noch was."}, page=own)
    assert again.status_code == 302
    assert _audit_actions(application.id) == ["request_information", "answer"]


@pytest.mark.worker
def test_applicant_withdraws_through_the_web(
    ctx: None, client: FlaskClient, mailbox: Mailbox
) -> None:
    """The applicant can withdraw an open application; it leaves the queue."""
    office = make_office()
    application = make_application(office, state=S.AWAITING_CONFIRMATION)
    sign_in(client, application.applicant)
    own = f"/konto/antrag/{application.public_id}"
    response = post(client, f"{own}/zurueckziehen", page=own)
    assert response.status_code == 302
    assert _state_of(application.id) == S.WITHDRAWN
    assert _audit_actions(application.id) == ["withdraw"]
    mailbox.wait_for(to=application.applicant.email, subject="zurückgezogen")
    assert "Zurückgezogen" in page_text(client.get(own))
    # Withdrawing again is refused with a message, not an error.
    again = post(client, f"{own}/zurueckziehen", page=own)
    assert again.status_code == 302
    assert _audit_actions(application.id) == ["withdraw"]


def test_override_confirmation_starts_the_review(
    clerk_client: tuple[FlaskClient, Office], mailbox: Mailbox
) -> None:
    """Overriding the last missing confirmation (with a note) starts the review."""
    client, office = clerk_client
    application = make_application(office, _volunteer(), state=S.AWAITING_CONFIRMATION)
    engagement_id = str(application.engagements[0].id)
    path = f"/verwaltung/antrag/{application.public_id}"
    without_note = post(
        client, f"{path}/organisation", {"engagement_id": engagement_id, "override": "1"}, page=path
    )
    assert without_note.status_code == 400
    assert _state_of(application.id) == S.AWAITING_CONFIRMATION
    response = post(
        client,
        f"{path}/organisation",
        {"engagement_id": engagement_id, "override": "1", "note": "Telefonisch bestätigt."},
        page=path,
    )
    assert response.status_code == 302
    assert _state_of(application.id) == S.IN_REVIEW
    assert _audit_actions(application.id) == ["override_confirmation", "start_review"]


@pytest.mark.parametrize(
    ("engagement_id", "status"),
    [("abc", 404), ("999999", 404), ("", 400)],  # names none of its engagements, or missing
)
def test_organisation_action_with_bad_engagement(
    clerk_client: tuple[FlaskClient, Office], engagement_id: str, status: int
) -> None:
    """An engagement id that is not a number or not of this application is a 4xx."""
    client, office = clerk_client
    application = make_application(office, _volunteer(), state=S.AWAITING_CONFIRMATION)
    path = f"/verwaltung/antrag/{application.public_id}"
    response = post(
        client, f"{path}/organisation", {"engagement_id": engagement_id, "resend": "1"}, page=path
    )
    assert response.status_code == status
    assert _audit_actions(application.id) == []


@pytest.mark.parametrize(
    ("state", "endpoint", "data"),
    [
        (S.AWAITING_CONFIRMATION, "bewilligen", {}),
        (S.NEEDS_INFORMATION, "bewilligen", {}),
        (S.APPROVED, "ablehnen", {"reason": "other", "text": "Doch nicht."}),
        (S.REJECTED, "bewilligen", {}),
        (S.WITHDRAWN, "rueckfrage", {"question": "Noch da?"}),
        (S.NEEDS_INFORMATION, "rueckfrage", {"question": "Und?"}),
        (S.IN_REVIEW, "pruefung-beginnen", {"note": "Schon in Prüfung."}),
        (S.SUBMITTED, "pruefung-beginnen", {"note": "E-Mail unbestätigt."}),
    ],
)
def test_decision_not_possible_in_the_state(
    clerk_client: tuple[FlaskClient, Office],
    state: ApplicationState,
    endpoint: str,
    data: dict[str, str],
) -> None:
    """A decision the state does not allow is refused with a message; nothing changes."""
    client, office = clerk_client
    application = make_application(office, _volunteer(), state=state)
    path = f"/verwaltung/antrag/{application.public_id}"
    response = post(client, f"{path}/{endpoint}", {"version": "1", **data}, page=path)
    assert response.status_code == 302
    assert NOT_POSSIBLE_MESSAGE in page_text(client.get(path))
    assert _state_of(application.id) == state
    assert _audit_actions(application.id) == []
    assert _issue_card_messages() == []


# --- conflicts ----------------------------------------------------------------------


def test_stale_page_gets_the_conflict_message(ctx: None, make_client: Any) -> None:
    """A decision from a page loaded before another clerk decided changes nothing."""
    office = make_office()
    application = make_application(office)
    first, second = make_client(), make_client()
    sign_in(first, make_user(UserRole.CLERK, office))
    sign_in(second, make_user(UserRole.CLERK, office))
    path = f"/verwaltung/antrag/{application.public_id}"
    stale_version = _version_on(first, application.public_id)
    question = {"version": _version_on(second, application.public_id), "question": "Wann?"}
    assert post(second, f"{path}/rueckfrage", question, page=path).status_code == 302
    answer = Acting.user_as(application.applicant, Actor.APPLICANT)
    db.session.rollback()
    applications_decisions.answer_information_request(
        db.session.get(Application, application.id),
        answer,
        "Gestern.",  # type: ignore[arg-type]
    )
    # Back in review, so approving is possible again, but not from the stale page.

    response = post(
        first,
        f"{path}/ablehnen",
        {"version": stale_version, "reason": "other", "text": "Passt nicht."},
        page=path,
    )
    assert response.status_code == 302
    assert CONFLICT_MESSAGE in page_text(first.get(path))
    assert _state_of(application.id) == S.IN_REVIEW
    assert _audit_actions(application.id) == ["request_information", "answer"]


def test_two_clerks_approve_at_the_same_time_through_the_web(ctx: None, make_client: Any) -> None:
    """Two clerks post approval together: one wins, one sees the conflict, one card."""
    office = make_office()
    application = make_application(office)
    clients = [make_client(), make_client()]
    for each in clients:
        sign_in(each, make_user(UserRole.CLERK, office))
    path = f"/verwaltung/antrag/{application.public_id}"
    forms = [
        {"csrf_token": csrf_token(each, path), "version": _version_on(each, application.public_id)}
        for each in clients
    ]
    assert [f["version"] for f in forms] == ["1", "1"]

    def approve(index: int, meet: Meet) -> TestResponse:
        meet()
        return clients[index].post(f"{path}/bewilligen", data=forms[index])

    responses = at_once(*(partial(approve, i) for i in range(2)))
    assert [r.status_code for r in responses] == [302, 302]
    flashes = [page_text(each.get(path)) for each in clients]
    won = ["Gespeichert." in html for html in flashes]
    lost = [CONFLICT_MESSAGE in html or NOT_POSSIBLE_MESSAGE in html for html in flashes]
    assert sorted(won) == [False, True]
    assert lost == [not w for w in won]
    assert _state_of(application.id) == S.APPROVED
    assert _audit_actions(application.id) == ["approve"]
    assert len(_issue_card_messages()) == 1


def test_two_clerks_approve_at_the_same_time_in_the_services(app: Flask, ctx: None) -> None:
    """Two sessions that both loaded version 1 approve together: exactly one wins."""
    office = make_office()
    application = make_application(office)
    clerk_ids = [make_user(UserRole.CLERK, office).id for _ in range(2)]
    application_id = application.id

    def approve(clerk_id: int, loaded: Meet) -> str:
        clerk = db.session.get(User, clerk_id)
        mine = db.session.get(Application, application_id)
        assert clerk is not None and mine is not None
        assert mine.version == 1
        loaded()
        try:
            applications_decisions.approve(mine, Acting.user_as(clerk, Actor.CLERK), 1)
        except (Conflict, IllegalTransition) as error:
            return type(error).__name__
        return "approved"

    outcomes = at_once(*(partial(approve, clerk_id) for clerk_id in clerk_ids), app=app)
    assert sorted(outcomes) == ["Conflict", "approved"], outcomes
    assert _state_of(application_id) == S.APPROVED
    assert _audit_actions(application_id) == ["approve"]
    [message] = _issue_card_messages()
    [card] = db.session.scalars(select(Card).where(Card.application_id == application_id))
    assert message.payload == {"card_id": card.id, "generation": 1}
