"""Audit actions and state changes in words, German and English, never raw names."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ehrenamt.core.audit import AuditAction, Subject
from ehrenamt.labels import (
    AUDIT_ACTION_LABELS,
    SUBJECT_LABELS,
    action_words,
    state_words,
    subject_words,
)
from ehrenamt.models import UserRole
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, sign_in
from tests.test_cards import approve_without_worker


def test_every_action_and_subject_has_words() -> None:
    # A new AuditAction without words would show its raw name on every page.
    assert set(AUDIT_ACTION_LABELS) == set(AuditAction)
    assert set(SUBJECT_LABELS) == set(Subject)


def test_unknown_names_fall_back_to_the_raw_text(ctx: None) -> None:
    assert action_words("card", "no_such_action") == "no_such_action"
    assert action_words("no_such_subject", "approve") == "Bewilligt"
    assert state_words("card", "melted") == "melted"
    assert state_words("no_such_subject", "x") == "x"
    assert subject_words("thing") == "thing"


def test_an_action_reads_by_its_kind_of_object(ctx: None) -> None:
    assert action_words("card", "create") == "Karte angelegt"
    assert action_words("partner", "create") == "Partner angelegt"
    assert action_words("partner", "approve") == "Registrierung bestätigt"
    assert action_words("application", "approve") == "Bewilligt"


@pytest.mark.parametrize(
    ("language", "approved", "change", "card_change", "card_created"),
    [
        ("de", "Bewilligt", "In Prüfung → Bewilligt", "– → wird erstellt", "Karte angelegt"),
        ("en", "Approved", "Being reviewed → Approved", "– → being made", "Card created"),
    ],
)
def test_histories_show_actions_and_states_in_words(
    client: FlaskClient,
    ctx: None,
    language: str,
    approved: str,
    change: str,
    card_change: str,
    card_created: str,
) -> None:
    office = make_office()
    application = make_application(office, state=ApplicationState.IN_REVIEW)
    card = approve_without_worker(application)
    sign_in(client, make_user(UserRole.CLERK, office))
    headers = {"Accept-Language": language}

    text = page_text(client.get(f"/verwaltung/antrag/{application.public_id}", headers=headers))
    assert approved in text
    assert change in text
    assert "in_review" not in text.split('id="history"')[1]

    text = page_text(client.get(f"/verwaltung/karten/{card.public_id}", headers=headers))
    history = text.split('id="history"')[1]
    assert card_created in history
    assert card_change in history
    assert "issuing" not in history.replace('data-action="', "")


def test_the_applicant_reads_the_actions_in_words(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    applicant = make_user(UserRole.VOLUNTEER)
    application = make_application(office, applicant, state=ApplicationState.IN_REVIEW)
    approve_without_worker(application)
    sign_in(client, applicant)
    text = page_text(
        client.get(f"/konto/antrag/{application.public_id}", headers={"Accept-Language": "en"})
    )
    assert "Approved" in text
    assert ">approve<" not in text
