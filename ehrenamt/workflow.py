"""The application workflow as data: states, actions and who may take them.

Every change of an application's state goes through :func:`next_state`, which looks the
pair ``(state, action)`` up in :data:`TRANSITIONS`. A pair that is not in the table, or
an actor whose role is not allowed for it, raises :class:`IllegalTransition`: nothing
passes silently. The README's state diagram is generated from this table
(``flask ehrenamt workflow-diagram``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ApplicationState(enum.StrEnum):
    """Where an application stands."""

    #: Sent, waiting for the applicant to confirm their e-mail address.
    SUBMITTED = "submitted"
    #: Waiting for the organisations to confirm the engagement.
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    #: With the office's clerks.
    IN_REVIEW = "in_review"
    #: The clerk asked the applicant something.
    NEEDS_INFORMATION = "needs_information"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


#: States in which an application is still open; a person has at most one open
#: application per office (enforced by a partial unique index).
OPEN_STATES = frozenset(
    {
        ApplicationState.SUBMITTED,
        ApplicationState.AWAITING_CONFIRMATION,
        ApplicationState.IN_REVIEW,
        ApplicationState.NEEDS_INFORMATION,
    }
)
FINAL_STATES = frozenset(ApplicationState) - OPEN_STATES


class Action(enum.StrEnum):
    """What can happen to an application."""

    REQUEST_CONFIRMATIONS = "request_confirmations"
    START_REVIEW = "start_review"
    REQUEST_INFORMATION = "request_information"
    ANSWER = "answer"
    #: Staff type in the answer that came by letter, by phone or at the counter (people
    #: without e-mail or account cannot answer online).
    RECORD_ANSWER = "record_answer"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"


class Actor(enum.StrEnum):
    """Who acts: a role, or the applicant who owns the application, or the system."""

    APPLICANT = "applicant"
    ORGANISATION = "organisation"
    CLERK = "clerk"
    ADMIN = "admin"
    SYSTEM = "system"


STAFF = frozenset({Actor.CLERK, Actor.ADMIN})


@dataclass(frozen=True)
class Transition:
    """The state an action leads to, and who may take it."""

    target: ApplicationState
    actors: frozenset[Actor]


S = ApplicationState
A = Action

#: ``(state, action) -> Transition``. The only place where the workflow is defined.
TRANSITIONS: dict[tuple[ApplicationState, Action], Transition] = {
    # The e-mail address is confirmed and no organisation has to be asked (qualification
    # with proof): straight to review.
    (S.SUBMITTED, A.START_REVIEW): Transition(S.IN_REVIEW, frozenset({Actor.SYSTEM})),
    (S.SUBMITTED, A.REQUEST_CONFIRMATIONS): Transition(
        S.AWAITING_CONFIRMATION, frozenset({Actor.SYSTEM})
    ),
    (S.SUBMITTED, A.WITHDRAW): Transition(S.WITHDRAWN, frozenset({Actor.APPLICANT})),
    # Every organisation answered (or a clerk overrode the rest): review starts. A clerk
    # may also start it early.
    (S.AWAITING_CONFIRMATION, A.START_REVIEW): Transition(
        S.IN_REVIEW, frozenset({Actor.ORGANISATION, Actor.SYSTEM}) | STAFF
    ),
    (S.AWAITING_CONFIRMATION, A.REJECT): Transition(S.REJECTED, STAFF),
    (S.AWAITING_CONFIRMATION, A.WITHDRAW): Transition(S.WITHDRAWN, frozenset({Actor.APPLICANT})),
    (S.IN_REVIEW, A.REQUEST_INFORMATION): Transition(S.NEEDS_INFORMATION, STAFF),
    (S.IN_REVIEW, A.APPROVE): Transition(S.APPROVED, STAFF),
    (S.IN_REVIEW, A.REJECT): Transition(S.REJECTED, STAFF),
    (S.IN_REVIEW, A.WITHDRAW): Transition(S.WITHDRAWN, frozenset({Actor.APPLICANT})),
    (S.NEEDS_INFORMATION, A.ANSWER): Transition(S.IN_REVIEW, frozenset({Actor.APPLICANT})),
    (S.NEEDS_INFORMATION, A.RECORD_ANSWER): Transition(S.IN_REVIEW, STAFF),
    (S.NEEDS_INFORMATION, A.REJECT): Transition(S.REJECTED, STAFF),
    (S.NEEDS_INFORMATION, A.WITHDRAW): Transition(S.WITHDRAWN, frozenset({Actor.APPLICANT})),
}

del S, A


class IllegalTransition(Exception):
    """The action is not possible in this state, or not for this actor."""

    def __init__(self, state: ApplicationState, action: Action, actor: Actor) -> None:
        super().__init__(f"{action.value} by {actor.value} is not allowed in state {state.value}")
        self.state = state
        self.action = action
        self.actor = actor


def next_state(state: ApplicationState, action: Action, actor: Actor) -> ApplicationState:
    """The state that ``action`` by ``actor`` leads to from ``state``, or raise."""
    transition = TRANSITIONS.get((state, action))
    if transition is None or actor not in transition.actors:
        raise IllegalTransition(state, action, actor)
    return transition.target


def allowed_actions(state: ApplicationState, actor: Actor) -> list[Action]:
    """The actions ``actor`` may take in ``state``, in table order."""
    return [
        action
        for (from_state, action), transition in TRANSITIONS.items()
        if from_state == state and actor in transition.actors
    ]


def mermaid_diagram() -> str:
    """The transition table as a Mermaid state diagram, for the README."""
    lines = ["stateDiagram-v2", "    [*] --> submitted"]
    for (state, action), transition in TRANSITIONS.items():
        actors = ", ".join(sorted(a.value for a in transition.actors))
        lines.append(f"    {state.value} --> {transition.target.value}: {action.value} ({actors})")
    for state in sorted(FINAL_STATES):
        lines.append(f"    {state.value} --> [*]")
    return "\n".join(lines)
