"""Print runs: cards with cover letters in one PDF, imposed, decodable, posted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pypdfium2 as pdfium
import pytest
from flask import Flask
from flask.testing import FlaskClient
from reportlab.lib.units import mm
from sqlalchemy import select

from ehrenamt.applications import decisions
from ehrenamt.cardformat.layout import CARD_HEIGHT, CARD_WIDTH
from ehrenamt.cardformat.letter import NOTE_ZONE_HEIGHT, window_rectangle
from ehrenamt.cards import lifecycle, print_runs, production
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import NotPermitted
from ehrenamt.extensions import db
from ehrenamt.models import (
    Card,
    CardState,
    Office,
    PrintLayout,
    PrintRun,
    PrintRunState,
    User,
    UserRole,
)
from ehrenamt.workflow import Action, Actor
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, post, qr_texts, sign_in

#: As an imported card could carry it (the form limits a name to 100 characters).
LONG_NAME = "Maximiliane Wilhelmine Friederike Charlotte von Hohenzollern-Sigmaringen-Hechingen"


def active_card(
    office: Office, *, last_name: str | None = None, holder: User | None = None
) -> Card:
    """An approved application's card, signed and rendered here (no worker needed)."""
    application = make_application(office, holder, last_name=last_name)
    clerk = make_user(UserRole.CLERK, office)
    acting = Acting.user_as(clerk, Actor.CLERK)
    decisions.transition(application, Action.APPROVE, acting)
    card = lifecycle.create_for_approval(application, acting)
    db.session.info.pop("ehrenamt.outbox.new", None)
    db.session.commit()
    assert production.produce(card.id) == production.Produced.MADE
    db.session.refresh(card)
    return card


@contextmanager
def opened(pdf: bytes) -> Iterator[pdfium.PdfDocument]:
    document = pdfium.PdfDocument(pdf)
    try:
        yield document
    finally:
        document.close()


def page_lines(page: pdfium.PdfPage) -> list[tuple[str, tuple[float, float, float, float]]]:
    text_page = page.get_textpage()
    return [
        (text_page.get_text_bounded(*text_page.get_rect(i)).strip(), text_page.get_rect(i))
        for i in range(text_page.count_rects())
    ]


def squeezed(lines: list[str]) -> str:
    return "".join(char for char in "".join(lines) if char.isalnum())


def made_run(clerk: User, cards: list[Card], layout: PrintLayout) -> PrintRun:
    run = print_runs.create_print_run(
        Acting.staff(clerk), clerk.office_id or 0, [c.id for c in cards], layout
    )
    assert print_runs.make_print_run(run.id)
    assert not print_runs.make_print_run(run.id)  # a second delivery does nothing
    db.session.refresh(run)
    assert run.state == PrintRunState.READY and run.pdf is not None
    return run


@pytest.fixture
def office(ctx: None) -> Office:
    office = make_office()
    office.postal_address = "Zerbster Straße 1\n06841 Dessau-Roßlau"
    db.session.commit()
    return office


def test_sheets_of_ten_with_letters_and_every_qr_decodes(office: Office) -> None:
    cards = [active_card(office) for _ in range(11)]
    cards.append(active_card(office, last_name=LONG_NAME))
    clerk = make_user(UserRole.CLERK, office)
    run = made_run(clerk, cards, PrintLayout.SHEET)
    assert run.pdf is not None
    # Per group of up to ten: the letters, the fronts, the backs.
    assert run.pages == 12 + 2 * 2
    with opened(run.pdf) as document:
        assert len(document) == 16
        letters = [*range(0, 10), *range(12, 14)]
        fronts, backs = [10, 14], [11, 15]
        left, bottom, right, top = window_rectangle()
        for number, card in zip(letters, cards, strict=True):
            lines = page_lines(document[number])
            window = [
                text
                for text, (x0, y0, x1, y1) in lines
                if left <= x0 and x1 <= right and bottom <= y0 and y1 <= top - NOTE_ZONE_HEIGHT
            ]
            # The holder's address in the window, in the order of the cards (a name too
            # long for a line wraps, after a space or a hyphen, which pdfium's text
            # extraction drops at a line's end).
            expected = [card.application.full_name, "Hauptstraße 1", "06844 Dessau-Roßlau"]
            assert squeezed(window) == squeezed(expected)
        for number in fronts + backs:
            width, height = document[number].get_size()
            assert (width, height) == pytest.approx((210 * mm, 297 * mm), abs=0.5)
        decoded: list[str] = []
        for number in backs:
            image = document[number].render(scale=300 / 72).to_pil()
            decoded += qr_texts(image)
        front_text = " ".join(text for number in fronts for text, _ in page_lines(document[number]))
    assert sorted(decoded) == sorted(production.card_url(c.token or b"") for c in cards)
    # The long name shrinks or wraps on the card, never cut: every word is printed.
    assert all(word in front_text for word in LONG_NAME.split())


def test_one_card_per_page_for_card_printers(office: Office) -> None:
    cards = [active_card(office) for _ in range(3)]
    run = made_run(make_user(UserRole.CLERK, office), cards, PrintLayout.CARD_PRINTER)
    assert run.pdf is not None and run.pages == 9
    with opened(run.pdf) as document:
        sizes = [document[n].get_size() for n in range(9)]
        for n in range(3):
            assert sizes[3 * n] == pytest.approx((210 * mm, 297 * mm), abs=0.5)
            assert sizes[3 * n + 1] == pytest.approx((CARD_WIDTH, CARD_HEIGHT), abs=0.5)
        decoded = [
            text
            for n in range(3)
            for text in qr_texts(document[3 * n + 2].render(scale=600 / 72).to_pil())
        ]
    assert decoded == [production.card_url(c.token or b"") for c in cards]


def test_a_card_of_another_office_refuses_the_run(office: Office) -> None:
    own = active_card(office)
    foreign = active_card(make_office())
    clerk = make_user(UserRole.CLERK, office)
    with pytest.raises(NotPermitted):
        print_runs.create_print_run(
            Acting.staff(clerk), office.id, [own.id, foreign.id], PrintLayout.SHEET
        )
    assert db.session.scalars(select(PrintRun)).all() == []


def test_a_card_still_issuing_is_named_in_the_refusal(office: Office) -> None:
    ready = active_card(office)
    issuing = active_card(office)
    issuing.state = CardState.ISSUING
    db.session.commit()
    clerk = make_user(UserRole.CLERK, office)
    with pytest.raises(print_runs.PrintRunRefused, match="noch erstellt") as refused:
        print_runs.create_print_run(
            Acting.staff(clerk), office.id, [ready.id, issuing.id], PrintLayout.SHEET
        )
    assert issuing.number in refused.value.message
    assert db.session.scalars(select(PrintRun)).all() == []


def wait_for_run(client: FlaskClient, public_id: str, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/verwaltung/briefe/druckauftrag/{public_id}.json").json
        assert status is not None
        if status["state"] != "queued":
            return status
        time.sleep(0.2)
    raise AssertionError("the print run was not made in time")


@pytest.mark.worker
def test_staff_start_a_run_see_it_made_download_and_confirm_posting(
    app: Flask,
    make_client,
    office: Office,  # type: ignore[no-untyped-def]
) -> None:
    holder = make_user(UserRole.VOLUNTEER)
    cards = [active_card(office, holder=holder), active_card(office)]
    clerk = make_user(UserRole.CLERK, office)
    client = make_client()
    sign_in(client, clerk)
    response = post(
        client,
        "/verwaltung/briefe/druckauftrag",
        {"source": "register", "text": "", "state": "active", "layout": "sheet"},
        page="/verwaltung/briefe/druckauftrag",
    )
    assert response.status_code == 302, page_text(response)[:2000]
    public_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert "Fortschritt" in page_text(client.get(f"/verwaltung/briefe/druckauftrag/{public_id}"))
    status = wait_for_run(client, public_id)
    assert status == {"state": "ready", "done": 2, "size": 2, "pages": 4, "complete": True}
    download = client.get(f"/verwaltung/briefe/druckauftrag/{public_id}.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"

    # Another office's staff cannot see or download it.
    stranger = make_client()
    sign_in(stranger, make_user(UserRole.CLERK, make_office()))
    assert stranger.get(f"/verwaltung/briefe/druckauftrag/{public_id}.pdf").status_code == 404
    assert stranger.get(f"/verwaltung/briefe/druckauftrag/{public_id}.json").status_code == 404

    post(
        client,
        f"/verwaltung/briefe/druckauftrag/{public_id}/versandt",
        {},
        page=f"/verwaltung/briefe/druckauftrag/{public_id}",
    )
    db.session.rollback()
    assert all(db.session.get(Card, c.id).posted_at is not None for c in cards)  # type: ignore[union-attr]
    assert client.get(f"/verwaltung/briefe/druckauftrag/{public_id}.pdf").status_code == 404
    volunteer = make_client()
    sign_in(volunteer, holder)
    assert "Per Post an Sie versandt am" in page_text(volunteer.get("/konto/"))


def test_a_run_with_a_card_still_issuing_shows_the_message_at_the_form(
    client: FlaskClient, office: Office
) -> None:
    card = active_card(office)
    card.state = CardState.ISSUING
    db.session.commit()
    sign_in(client, make_user(UserRole.CLERK, office))
    response = post(
        client,
        "/verwaltung/briefe/druckauftrag",
        {"source": "register", "text": "", "state": "issuing", "layout": "sheet"},
        page="/verwaltung/briefe/druckauftrag",
    )
    assert response.status_code == 400
    assert "werden noch erstellt" in page_text(response)


def test_malformed_names_are_not_found(client: FlaskClient, office: Office) -> None:
    """A NUL (PostgreSQL refuses it in a query) or a number too big names nothing."""
    sign_in(client, make_user(UserRole.CLERK, office))
    for path in (
        "/verwaltung/briefe/abc%00.pdf",
        "/verwaltung/briefe/druckauftrag/ab%00c.json",
        "/verwaltung/briefe/druck.pdf?bis=99999999999999999999999",
    ):
        assert client.get(path).status_code == 404, path
    response = post(
        client,
        "/verwaltung/briefe/druckauftrag",
        {"source": "batch", "batch": "a\x00b", "state": "active", "layout": "sheet"},
        page="/verwaltung/briefe/druckauftrag",
    )
    assert response.status_code == 404
