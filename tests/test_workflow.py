"""The application workflow: the transition table, and every transition through the services."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.applications import decisions
from ehrenamt.cards import register
from ehrenamt.cards.lifecycle import ISSUE_CARD_TASK
from ehrenamt.core import errors as core_errors
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import NotPermitted
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    CardState,
    Office,
    OutboxMessage,
    RejectionReason,
    User,
    UserRole,
)
from ehrenamt.workflow import (
    Action,
    Actor,
    ApplicationState,
    IllegalTransition,
    allowed_actions,
    mermaid_diagram,
    next_state,
)
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, sign_in
from tests.mailbox import Mailbox, text_of

S = ApplicationState
A = Action
STAFF = frozenset({Actor.CLERK, Actor.ADMIN})

#: The workflow as DESIGN.md describes it, written out independently of
#: ``ehrenamt.workflow.TRANSITIONS`` so that a change to the table makes a test fail.
EXPECTED: dict[tuple[ApplicationState, Action], tuple[ApplicationState, frozenset[Actor]]] = {
    (S.SUBMITTED, A.START_REVIEW): (S.IN_REVIEW, frozenset({Actor.SYSTEM})),
    (S.SUBMITTED, A.REQUEST_CONFIRMATIONS): (S.AWAITING_CONFIRMATION, frozenset({Actor.SYSTEM})),
    (S.SUBMITTED, A.WITHDRAW): (S.WITHDRAWN, frozenset({Actor.APPLICANT})),
    (S.AWAITING_CONFIRMATION, A.START_REVIEW): (
        S.IN_REVIEW,
        frozenset({Actor.ORGANISATION, Actor.SYSTEM, Actor.CLERK, Actor.ADMIN}),
    ),
    (S.AWAITING_CONFIRMATION, A.REJECT): (S.REJECTED, STAFF),
    (S.AWAITING_CONFIRMATION, A.WITHDRAW): (S.WITHDRAWN, frozenset({Actor.APPLICANT})),
    (S.IN_REVIEW, A.REQUEST_INFORMATION): (S.NEEDS_INFORMATION, STAFF),
    (S.IN_REVIEW, A.APPROVE): (S.APPROVED, STAFF),
    (S.IN_REVIEW, A.REJECT): (S.REJECTED, STAFF),
    (S.IN_REVIEW, A.WITHDRAW): (S.WITHDRAWN, frozenset({Actor.APPLICANT})),
    (S.NEEDS_INFORMATION, A.ANSWER): (S.IN_REVIEW, frozenset({Actor.APPLICANT})),
    # The answer of someone without e-mail comes on paper or by phone: staff record it.
    (S.NEEDS_INFORMATION, A.RECORD_ANSWER): (S.IN_REVIEW, STAFF),
    (S.NEEDS_INFORMATION, A.REJECT): (S.REJECTED, STAFF),
    (S.NEEDS_INFORMATION, A.WITHDRAW): (S.WITHDRAWN, frozenset({Actor.APPLICANT})),
}

#: The subject of the status mail the applicant gets on reaching each state.
STATUS_SUBJECT = {
    S.IN_REVIEW: "Ihr Antrag wird geprüft",
    S.NEEDS_INFORMATION: "Rückfrage zu Ihrem Antrag",
    S.APPROVED: "Ihr Antrag wurde bewilligt",
    S.REJECTED: "Ihr Antrag wurde abgelehnt",
    S.WITHDRAWN: "Ihr Antrag wurde zurückgezogen",
}

ALL_TRIPLES = list(itertools.product(ApplicationState, Action, Actor))


# --- the table ----------------------------------------------------------------------


@pytest.mark.parametrize(("state", "action", "actor"), ALL_TRIPLES)
def test_next_state_follows_the_expected_table(
    state: ApplicationState, action: Action, actor: Actor
) -> None:
    """Every (state, action, actor) leads to the expected state, or raises IllegalTransition."""
    expected = EXPECTED.get((state, action))
    if expected is not None and actor in expected[1]:
        assert next_state(state, action, actor) == expected[0]
    else:
        with pytest.raises(IllegalTransition) as raised:
            next_state(state, action, actor)
        assert (raised.value.state, raised.value.action, raised.value.actor) == (
            state,
            action,
            actor,
        )


@pytest.mark.parametrize(("state", "actor"), list(itertools.product(ApplicationState, Actor)))
def test_allowed_actions_match_the_expected_table(state: ApplicationState, actor: Actor) -> None:
    """allowed_actions lists exactly the actions the actor may take in the state."""
    expected = {
        action
        for (from_state, action), (_target, actors) in EXPECTED.items()
        if from_state == state and actor in actors
    }
    assert set(allowed_actions(state, actor)) == expected


def test_final_states_have_no_way_out() -> None:
    """Nobody can do anything with an approved, rejected or withdrawn application."""
    for state in (S.APPROVED, S.REJECTED, S.WITHDRAWN):
        for actor in Actor:
            assert allowed_actions(state, actor) == []


def test_mermaid_diagram_has_a_line_for_every_transition() -> None:
    """The README diagram shows every transition with its actors, and the final states."""
    lines = mermaid_diagram().splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> submitted" in lines
    for (state, action), (target, actors) in EXPECTED.items():
        who = ", ".join(sorted(a.value for a in actors))
        assert f"    {state.value} --> {target.value}: {action.value} ({who})" in lines
    for state in (S.APPROVED, S.REJECTED, S.WITHDRAWN):
        assert f"    {state.value} --> [*]" in lines
    transition_lines = [line for line in lines if ": " in line]
    assert len(transition_lines) == len(EXPECTED)


# --- through the services -----------------------------------------------------------

#: What each person-performed action calls, with the audit reason it must record.
Operation = Callable[[Application, Acting], None]

OPERATIONS: dict[Action, tuple[Operation, str | None]] = {
    A.APPROVE: (
        lambda app, acting: decisions.approve(app, acting, app.version, "Alles geprüft"),
        "Alles geprüft",
    ),
    A.REJECT: (
        lambda app, acting: decisions.reject(
            app, acting, app.version, RejectionReason.TOO_FEW_HOURS, "Nur 2 Stunden im Monat."
        ),
        "too_few_hours: Nur 2 Stunden im Monat.",
    ),
    A.REQUEST_INFORMATION: (
        lambda app, acting: decisions.request_information(
            app, acting, app.version, "Seit wann sind Sie Übungsleiterin?"
        ),
        "Seit wann sind Sie Übungsleiterin?",
    ),
    A.START_REVIEW: (
        lambda app, acting: decisions.start_review_early(
            app, acting, app.version, "Verein antwortet nicht"
        ),
        "Verein antwortet nicht",
    ),
    A.ANSWER: (
        lambda app, acting: decisions.answer_information_request(app, acting, "Seit 2019."),
        "Seit 2019.",
    ),
    A.RECORD_ANSWER: (
        lambda app, acting: decisions.record_answer(app, acting, app.version, "Am Telefon: 2019."),
        "Am Telefon: 2019.",
    ),
    A.WITHDRAW: (lambda app, acting: decisions.withdraw(app, acting), None),
}

PERSONS = (Actor.APPLICANT, Actor.CLERK, Actor.ADMIN)

LEGAL_BY_PERSON = [
    (state, action, actor)
    for (state, action), (_target, actors) in EXPECTED.items()
    for actor in PERSONS
    if actor in actors and action in OPERATIONS
]


def _acting_for(actor: Actor, application: Application) -> Acting:
    """A proper Acting: the owner as applicant, or staff of the application's office."""
    if actor == Actor.APPLICANT:
        return Acting.user_as(application.applicant, Actor.APPLICANT)
    role = UserRole.ADMIN if actor == Actor.ADMIN else UserRole.CLERK
    return Acting.user_as(make_user(role, application.office, password=None), actor)


def _application(office: Office, state: ApplicationState) -> Application:
    """An application whose applicant has no password (hashing one is slow, not needed)."""
    return make_application(office, make_user(UserRole.VOLUNTEER, password=None), state=state)


def _audit_rows(application_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.subject_type == "application", AuditEntry.subject_id == application_id
            )
        )
    )


def _issue_card_messages() -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.task == ISSUE_CARD_TASK))
    )


def test_every_legal_person_transition_has_a_service() -> None:
    """Each transition a person takes is covered below (the table cannot outgrow the tests)."""
    assert {(s, a) for s, a, _ in LEGAL_BY_PERSON} == {
        (s, a) for (s, a), (_t, actors) in EXPECTED.items() if actors & set(PERSONS)
    }


@pytest.mark.worker
@pytest.mark.parametrize(("state", "action", "actor"), LEGAL_BY_PERSON)
def test_legal_transition_through_service(
    ctx: None, mailbox: Mailbox, state: ApplicationState, action: Action, actor: Actor
) -> None:
    """The service moves the application, writes one audit row and mails the applicant."""
    office = make_office()
    application = _application(office, state)
    application_id, version = application.id, application.version
    acting = _acting_for(actor, application)
    operation, reason = OPERATIONS[action]

    operation(application, acting)

    db.session.expire_all()
    application = db.session.get(Application, application_id)
    assert application is not None
    target = EXPECTED[(state, action)][0]
    assert application.state == target
    assert application.version == version + 1
    [entry] = _audit_rows(application_id)
    assert (entry.action, entry.from_state, entry.to_state) == (
        action.value,
        state.value,
        target.value,
    )
    assert entry.actor_role == actor.value
    assert entry.actor_id == acting.user.id  # type: ignore[union-attr]
    assert entry.actor_label == acting.user.email  # type: ignore[union-attr]
    assert entry.office_id == office.id
    assert entry.reason == reason
    [status_mail] = mailbox.wait_for(to=application.applicant.email, subject=STATUS_SUBJECT[target])
    assert application.full_name in text_of(status_mail)
    assert (len(_issue_card_messages()) == 1) is (action == A.APPROVE)


@pytest.mark.worker
def test_reject_mail_and_record_carry_reason_and_text(ctx: None, mailbox: Mailbox) -> None:
    """A rejection stores reason and text, and the mail contains the reason label and text."""
    office = make_office()
    application = _application(office, S.IN_REVIEW)
    clerk = make_user(UserRole.CLERK, office, password=None)
    decisions.reject(
        application,
        Acting.user_as(clerk, Actor.CLERK),
        application.version,
        RejectionReason.TOO_SHORT,
        "Sie sind erst seit einem Jahr dabei.",
    )
    assert application.rejection_reason == RejectionReason.TOO_SHORT
    assert application.rejection_text == "Sie sind erst seit einem Jahr dabei."
    assert application.decided_at is not None
    [message] = mailbox.wait_for(to=application.applicant.email, subject="abgelehnt")
    body = text_of(message)
    assert "Das Engagement besteht noch nicht lange genug." in body
    assert "Sie sind erst seit einem Jahr dabei." in body


@pytest.mark.worker
def test_request_information_then_answer_keeps_question_and_answer(
    ctx: None, mailbox: Mailbox
) -> None:
    """The question is stored and mailed; the answer is stored and the review resumes."""
    office = make_office()
    application = _application(office, S.IN_REVIEW)
    clerk = make_user(UserRole.CLERK, office, password=None)
    decisions.request_information(
        application, Acting.user_as(clerk, Actor.CLERK), application.version, "Welcher Verein?"
    )
    [question_mail] = mailbox.wait_for(to=application.applicant.email, subject="Rückfrage")
    assert "Welcher Verein?" in text_of(question_mail)
    decisions.answer_information_request(
        application, Acting.user_as(application.applicant, Actor.APPLICANT), "Der TSV."
    )
    assert application.state == S.IN_REVIEW
    assert (application.information_request, application.information_answer) == (
        "Welcher Verein?",
        "Der TSV.",
    )


@pytest.mark.worker
def test_approve_queues_card_and_account_shows_it(
    ctx: None, client: FlaskClient, mailbox: Mailbox
) -> None:
    """Approval writes one issue_card outbox message and the account shows the new status."""
    office = make_office()
    application = make_application(office, state=S.IN_REVIEW)
    clerk = make_user(UserRole.CLERK, office, password=None)
    assert _issue_card_messages() == []
    decisions.approve(application, Acting.user_as(clerk, Actor.CLERK), application.version)

    [message] = _issue_card_messages()
    card = register.card_for_application(application.id)
    assert card is not None and card.state == CardState.ISSUING
    assert message.payload == {"card_id": card.id, "generation": 1}
    assert application.decided_at is not None
    mailbox.wait_for(to=application.applicant.email, subject="bewilligt")

    sign_in(client, application.applicant)
    # Until the worker has made the card; then the application says the card exists.
    shown = re.compile(r"Bewilligt – (Karte wird erstellt|Ihre Karte ist ausgestellt)")
    account = page_text(client.get("/konto/"))
    assert shown.search(account)
    detail = page_text(client.get(f"/konto/antrag/{application.public_id}"))
    assert shown.search(detail)


def _illegal_cases() -> list[tuple[ApplicationState, Action, Actor]]:
    """Every state in which a person's action is refused, for the actor who would take it."""
    cases = []
    usual_actor = {
        A.APPROVE: Actor.CLERK,
        A.REJECT: Actor.CLERK,
        A.REQUEST_INFORMATION: Actor.CLERK,
        A.START_REVIEW: Actor.CLERK,
        A.ANSWER: Actor.APPLICANT,
        A.RECORD_ANSWER: Actor.CLERK,
        A.WITHDRAW: Actor.APPLICANT,
    }
    for action, actor in usual_actor.items():
        for state in ApplicationState:
            expected = EXPECTED.get((state, action))
            if expected is None or actor not in expected[1]:
                cases.append((state, action, actor))
    # The right state, the wrong role.
    cases += [
        (S.IN_REVIEW, A.APPROVE, Actor.APPLICANT),
        (S.IN_REVIEW, A.REJECT, Actor.APPLICANT),
        (S.IN_REVIEW, A.REQUEST_INFORMATION, Actor.APPLICANT),
        (S.AWAITING_CONFIRMATION, A.START_REVIEW, Actor.APPLICANT),
        (S.NEEDS_INFORMATION, A.ANSWER, Actor.CLERK),
        (S.NEEDS_INFORMATION, A.ANSWER, Actor.ADMIN),
        (S.NEEDS_INFORMATION, A.RECORD_ANSWER, Actor.APPLICANT),
        (S.IN_REVIEW, A.WITHDRAW, Actor.CLERK),
        (S.SUBMITTED, A.WITHDRAW, Actor.ADMIN),
    ]
    return cases


ILLEGAL = _illegal_cases()


@pytest.mark.parametrize(("state", "action", "actor"), ILLEGAL)
def test_illegal_transition_through_service_changes_nothing(
    ctx: None, state: ApplicationState, action: Action, actor: Actor
) -> None:
    """The service raises IllegalTransition; state, version, fields and audit log stay."""
    office = make_office()
    application = _application(office, state)
    application_id, version = application.id, application.version
    acting = _acting_for(actor, application)
    operation, _reason = OPERATIONS[action]

    with pytest.raises(IllegalTransition):
        operation(application, acting)

    # Nothing may be left in the session for a later commit to save by accident.
    assert not db.session.new
    assert not db.session.is_modified(application)
    db.session.rollback()
    _assert_untouched(application_id, state, version)


def _assert_untouched(application_id: int, state: ApplicationState, version: int) -> None:
    application = db.session.get(Application, application_id)
    assert application is not None
    assert application.state == state
    assert application.version == version
    assert application.rejection_reason is None
    assert application.information_request is None
    assert application.information_answer is None
    assert _audit_rows(application_id) == []
    assert _issue_card_messages() == []
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == 0


STAFF_ACTIONS = [A.APPROVE, A.REJECT, A.REQUEST_INFORMATION, A.START_REVIEW]


def _state_for(action: Action) -> ApplicationState:
    """A state in which ``action`` is legal for staff."""
    return S.AWAITING_CONFIRMATION if action == A.START_REVIEW else S.IN_REVIEW


@pytest.mark.parametrize("staff_role", [UserRole.CLERK, UserRole.ADMIN])
@pytest.mark.parametrize("action", STAFF_ACTIONS, ids=str)
def test_staff_of_another_office_is_not_permitted(
    ctx: None, action: Action, staff_role: UserRole
) -> None:
    """Staff of another office get NotPermitted, and the application stays as it was."""
    office, other_office = make_office(), make_office()
    application = _application(office, _state_for(action))
    stranger = make_user(staff_role, other_office)
    operation, _reason = OPERATIONS[action]

    with pytest.raises(NotPermitted):
        operation(application, Acting.user_as(stranger, Actor(staff_role.value)))

    assert not db.session.is_modified(application)
    db.session.rollback()
    _assert_untouched(application.id, _state_for(action), 1)


@pytest.mark.parametrize(
    ("role", "actor"),
    [
        (UserRole.PARTNER, Actor.CLERK),
        (UserRole.VOLUNTEER, Actor.CLERK),
        (UserRole.CLERK, Actor.ADMIN),
    ],
    ids=["partner-as-clerk", "volunteer-as-clerk", "clerk-as-admin"],
)
def test_a_role_the_account_does_not_have_is_not_permitted(
    ctx: None, role: UserRole, actor: Actor
) -> None:
    """Claiming a staff role the account lacks (even within the office) is refused."""
    office = make_office()
    application = _application(office, S.IN_REVIEW)
    impostor = make_user(role, office)
    with pytest.raises(NotPermitted):
        decisions.approve(application, Acting.user_as(impostor, actor), application.version)
    db.session.rollback()
    _assert_untouched(application.id, S.IN_REVIEW, 1)


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (S.IN_REVIEW, A.WITHDRAW),
        (S.NEEDS_INFORMATION, A.ANSWER),
        (S.SUBMITTED, A.WITHDRAW),
    ],
)
def test_applicant_cannot_act_on_someone_elses_application(
    ctx: None, state: ApplicationState, action: Action
) -> None:
    """Another volunteer acting as applicant gets NotPermitted; nothing changes."""
    office = make_office()
    application = _application(office, state)
    other: User = make_user(UserRole.VOLUNTEER)
    operation, _reason = OPERATIONS[action]
    with pytest.raises(NotPermitted):
        operation(application, Acting.user_as(other, Actor.APPLICANT))
    assert not db.session.is_modified(application)
    db.session.rollback()
    _assert_untouched(application.id, state, 1)


def test_stale_version_is_a_conflict(ctx: None) -> None:
    """A decision naming an older version than the stored one raises Conflict, changes nothing."""
    office = make_office()
    application = _application(office, S.IN_REVIEW)
    clerk = make_user(UserRole.CLERK, office, password=None)
    acting = Acting.user_as(clerk, Actor.CLERK)
    decisions.request_information(application, acting, 1, "Frage?")
    decisions.answer_information_request(
        application, Acting.user_as(application.applicant, Actor.APPLICANT), "Antwort."
    )
    assert application.version == 3

    kwargs: dict[str, Any] = {"expected_version": 1}
    with pytest.raises(core_errors.Conflict):
        decisions.approve(application, acting, **kwargs)
    assert not db.session.new
    db.session.rollback()
    assert application.state == S.IN_REVIEW
    assert application.version == 3
    assert _issue_card_messages() == []
    assert [e.action for e in _audit_rows(application.id)] == ["request_information", "answer"]
