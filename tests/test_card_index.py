"""The card index: what a QR check needs from the database, kept in each process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, update

from ehrenamt.cardformat import card_numbers
from ehrenamt.cards.index import CardIndex
from ehrenamt.cards.production import card_url
from ehrenamt.extensions import db
from ehrenamt.models import Card, CardState
from ehrenamt.verification import check as verification_check
from ehrenamt.verification.results import CheckStatus
from tests.factories import make_application, make_office
from tests.harness import wait_until
from tests.test_cards import _make_active


@pytest.fixture
def index(app: Flask, monkeypatch: pytest.MonkeyPatch) -> CardIndex:
    """A fresh index for this test, reading revocations again after 0.3 s."""
    fresh = CardIndex(size=1000, refresh_seconds=0.3)
    monkeypatch.setitem(app.extensions, "ehrenamt.card_index", fresh)
    return fresh


@pytest.fixture
def statements(app: Flask, ctx: None) -> Iterator[list[str]]:
    """Every SQL statement this test's thread sends on any of the app's engines (the
    in-process Celery worker's threads use the same engines)."""
    sent: list[str] = []
    mine = threading.get_ident()

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == mine:
            sent.append(statement)

    engines = list(db.engines.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    yield sent
    for engine in engines:
        event.remove(engine, "before_cursor_execute", note)


def test_checking_a_card_again_asks_the_database_nothing(
    index: CardIndex, statements: list[str]
) -> None:
    card = _make_active(make_application(make_office()))
    url, card_id = card_url(card.token or b""), card.id
    db.session.rollback()
    assert verification_check.check(url).status == CheckStatus.VALID
    assert statements, "the first check reads the card's id and the revoked numbers"
    statements.clear()
    for _ in range(3):
        result = verification_check.check(url)
        assert (result.status, result.card_id) == (CheckStatus.VALID, card_id)
    assert statements == []


def test_a_revocation_in_another_process_reaches_the_check_within_the_refresh_time(
    index: CardIndex, ctx: None
) -> None:
    card = _make_active(make_application(make_office()))
    url = card_url(card.token or b"")
    assert verification_check.check(url).status == CheckStatus.VALID
    # Another web process revokes it: this process is not told.
    db.session.execute(update(Card).where(Card.id == card.id).values(state=CardState.REVOKED))
    db.session.commit()
    wait_until(
        lambda: verification_check.check(url).status == CheckStatus.REVOKED,
        timeout=5,
        message="the revocation never reached the check",
    )


def test_a_number_the_database_does_not_know_is_asked_again(index: CardIndex, ctx: None) -> None:
    """Not found is not kept: the card may be created a moment later by another process."""
    number = card_numbers.new_card_number()
    assert index.card_id(number) is None
    card = _make_active(make_application(make_office()))  # made "later", given that number
    db.session.execute(update(Card).where(Card.id == card.id).values(number=number))
    db.session.commit()
    assert index.card_id(number) == card.id
