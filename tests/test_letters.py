"""Letters: every notice to a person without e-mail is a letter to print (DIN 5008)."""

from __future__ import annotations

from datetime import timedelta

import pypdfium2 as pdfium
import pytest
from flask import Flask
from flask.testing import FlaskClient
from reportlab.lib.units import mm
from sqlalchemy import select

from ehrenamt.applications import decisions
from ehrenamt.cardformat.letter import (
    NOTE_ZONE_HEIGHT,
    PAGE_HEIGHT,
    LetterContent,
    letters_pdf,
    window_rectangle,
)
from ehrenamt.cards import jobs, print_runs, register
from ehrenamt.cards.validity import today
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Letter,
    OutboxMessage,
    PrintLayout,
    PrintRun,
    PrintRunState,
    RejectionReason,
    User,
    UserRole,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import make_office, make_user
from tests.harness import wait_for_card, wait_until
from tests.helpers import page_text, post, sign_in
from tests.test_paper import enter


def paper_application(client: FlaskClient, clerk: User, **changes: str) -> Application:
    """A paper application without e-mail, its organisation confirmed by the clerk."""
    sign_in(client, clerk)
    assert enter(client, clerk.office, **changes).status_code == 302
    application = db.session.scalars(select(Application)).one()
    engagement = application.engagements[0]
    response = post(
        client,
        f"/verwaltung/antrag/{application.public_id}/organisation",
        {"engagement_id": str(engagement.id), "note": "Am Telefon bestätigt", "override": "1"},
        page=f"/verwaltung/antrag/{application.public_id}",
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == ApplicationState.IN_REVIEW
    return application


def letters() -> list[Letter]:
    db.session.rollback()
    return list(db.session.scalars(select(Letter).order_by(Letter.id)))


def words(pdf: bytes) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each page's text lines with the box they take (PDF points, origin bottom left)."""
    document = pdfium.PdfDocument(pdf)
    found = []
    for page in document:
        text_page = page.get_textpage()
        for index in range(text_page.count_rects()):
            box = text_page.get_rect(index)
            found.append((text_page.get_text_bounded(*box).strip(), box))
    return found


def box_of(pdf: bytes, text: str) -> tuple[float, float, float, float]:
    matches = [box for line, box in words(pdf) if line == text]
    assert matches, f"{text!r} not in {[line for line, _ in words(pdf)]}"
    return matches[0]


@pytest.fixture
def clerk(ctx: None) -> User:
    office = make_office()
    office.postal_address = "Zerbster Straße 1\n06841 Dessau-Roßlau"
    db.session.commit()
    return make_user(UserRole.CLERK, office)


@pytest.mark.worker
def test_paper_application_without_email_goes_to_a_card_by_letters(
    app: Flask, client: FlaskClient, clerk: User
) -> None:
    application = paper_application(client, clerk)
    acting = Acting.staff(clerk)
    decisions.request_information(
        application, acting, application.version, "Seit wann leiten Sie die Gruppe?"
    )
    # The answer comes by phone: the clerk records it, the review resumes.
    response = post(
        client,
        f"/verwaltung/antrag/{application.public_id}/antwort",
        {"version": str(application.version), "answer": "Seit 2019, am Telefon."},
        page=f"/verwaltung/antrag/{application.public_id}",
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == ApplicationState.IN_REVIEW
    assert application.information_answer == "Seit 2019, am Telefon."
    decisions.approve(application, acting, application.version)
    card = register.card_for_application(application.id)
    assert card is not None
    card = wait_for_card(card.id)

    subjects = [letter.subject for letter in letters()]
    assert subjects == [
        "Ihr Antrag auf die Ehrenamtskarte ist eingegangen",
        "Ihr Antrag wird geprüft",
        "Rückfrage zu Ihrem Antrag",
        "Ihr Antrag wird geprüft",
        "Ihr Antrag wurde bewilligt",
        "Ihre Ehrenamtskarte ist da",
    ]
    question, _resumed, approval, issued = letters()[2:]
    assert "Seit wann leiten Sie die Gruppe?" in question.body
    assert "per Post" in approval.body and "Konto" not in approval.body
    assert card.number[:4] in issued.body.replace("-", "") and issued.card_id == card.id
    assert all(letter.address_lines[0] == "Erika Musterfrau" for letter in letters())
    # Nothing went by mail: the person has no address.
    assert not db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.task == "ehrenamt.send_mail")
    ).all()

    # The renewal reminder becomes a letter too.
    card.valid_until = today() + timedelta(days=10)
    db.session.commit()
    assert jobs.remind_expiring() == 1
    assert letters()[-1].subject == "Ihre Ehrenamtskarte läuft bald ab"
    assert "Papierantrag" in letters()[-1].body

    # A print run of the cards whose letter waits sends the card with a cover letter,
    # which replaces the "card is ready" letter once posted.
    assert print_runs.cards_of_letters_waiting(clerk.office_id or 0) == [card.id]
    run = print_runs.create_print_run(acting, card.office_id, [card.id], PrintLayout.SHEET)
    run_id = run.id

    def made() -> PrintRun | None:  # by the test worker
        db.session.rollback()
        found = db.session.get(PrintRun, run_id)
        return found if found is not None and found.state == PrintRunState.READY else None

    print_runs.confirm_posted(acting, wait_until(made, timeout=30))
    waiting = [letter.subject for letter in letters() if letter.printed_at is None]
    assert "Ihre Ehrenamtskarte ist da" not in waiting
    assert print_runs.cards_of_letters_waiting(clerk.office_id or 0) == []


def test_rejection_letter_carries_the_reason_in_the_holders_language(
    client: FlaskClient, clerk: User
) -> None:
    application = paper_application(client, clerk, language="en")
    decisions.reject(
        application,
        Acting.staff(clerk),
        application.version,
        RejectionReason.TOO_FEW_HOURS,
        "Nur 2 Stunden im Monat.",
    )
    rejection = letters()[-1]
    assert rejection.language == "en"
    assert rejection.subject == "Your application has been rejected"
    assert "Nur 2 Stunden im Monat." in rejection.body


def test_staff_download_the_waiting_letters_and_mark_them_printed(
    client: FlaskClient, clerk: User
) -> None:
    paper_application(client, clerk)
    waiting = letters()
    assert len(waiting) == 2  # received, in review
    page = page_text(client.get("/verwaltung/briefe/"))
    assert "Erika Musterfrau" in page and "Briefe im nächsten Druck: 2" in page

    response = client.get(f"/verwaltung/briefe/druck.pdf?bis={waiting[-1].id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert len(pdfium.PdfDocument(response.data)) == 2

    post(
        client,
        "/verwaltung/briefe/gedruckt",
        {"up_to": str(waiting[-1].id)},
        page="/verwaltung/briefe/",
    )
    assert all(letter.printed_at is not None for letter in letters())
    assert "Keine Briefe warten." in page_text(client.get("/verwaltung/briefe/"))
    # A printed letter can still be printed again, one by one.
    again = client.get(f"/verwaltung/briefe/{waiting[0].public_id}.pdf")
    assert again.status_code == 200


def test_another_offices_letters_are_not_found(
    app: Flask,
    make_client,
    clerk: User,  # type: ignore[no-untyped-def]
) -> None:
    client = make_client()
    paper_application(client, clerk)
    letter = letters()[0]
    other = make_user(UserRole.CLERK, make_office())
    stranger = make_client()
    sign_in(stranger, other)
    assert stranger.get(f"/verwaltung/briefe/{letter.public_id}.pdf").status_code == 404
    assert stranger.get(f"/verwaltung/briefe/druck.pdf?bis={letter.id}").status_code == 404
    post(
        stranger,
        "/verwaltung/briefe/gedruckt",
        {"up_to": str(letter.id)},
        page="/verwaltung/briefe/",
    )
    assert letters()[0].printed_at is None
    assert "Erika" not in page_text(stranger.get("/verwaltung/briefe/"))


def test_the_address_lies_in_the_window_field(client: FlaskClient, clerk: User) -> None:
    paper_application(client, clerk)
    response = client.get(f"/verwaltung/briefe/{letters()[0].public_id}.pdf")
    pdf = response.data
    left, bottom, right, top = window_rectangle()
    # The window is 20 mm from the left and 45 mm from the top, 85 × 45 mm.
    assert (left, PAGE_HEIGHT - top) == pytest.approx((20 * mm, 45 * mm))
    assert (right - left, top - bottom) == pytest.approx((85 * mm, 45 * mm))
    address_top = top - NOTE_ZONE_HEIGHT
    for line in ("Erika Musterfrau", "Zerbster Straße 4", "06844 Dessau-Roßlau"):
        x0, y0, x1, y1 = box_of(pdf, line)
        assert left <= x0 and x1 <= right and bottom <= y0 and y1 <= address_top, line
    # The return line sits in the Vermerkzone above the address, inside the window.
    return_line = f"{clerk.office.name} · Zerbster Straße 1 · 06841 Dessau-Roßlau"
    x0, y0, x1, y1 = box_of(pdf, return_line)
    assert left <= x0 and x1 <= right and address_top <= y0 and y1 <= top
    # Nothing else shows through the window.
    inside = [
        line
        for line, (x0, y0, x1, y1) in words(pdf)
        if x0 < right and x1 > left and y0 < top and y1 > bottom
    ]
    assert len(inside) == 4, inside


def test_a_long_address_shrinks_to_the_window_and_long_bodies_continue() -> None:
    long_street = "Am Großen Langen Weg zum Hinteren Oberen Friedhof der Gemeinde 123a"
    content = LetterContent(
        sender_lines=("Stadt Test",),
        recipient_lines=(
            "Maximiliane Wilhelmine von und zu Hohenzollern-Sigmaringen",
            long_street,
            "06844 Dessau-Roßlau",
        ),
        date_caption="Datum",
        date_text="4. Dezember 2026",
        subject="Betreff",
        body="\n".join(f"Absatz {n} mit etwas Text." for n in range(60)),
    )
    pdf = letters_pdf([content])
    assert len(pdfium.PdfDocument(pdf)) == 2
    left, bottom, right, top = window_rectangle()
    # Wrapped (not cut): every word of the street is in the window, nothing outside it.
    inside = " ".join(
        line
        for line, (x0, y0, x1, y1) in words(pdf)
        if left <= x0 and x1 <= right and bottom <= y0 and y1 <= top
    )
    assert all(word in inside.split() for word in long_street.split())
    assert "Maximiliane Wilhelmine von und zu Hohenzollern-Sigmaringen" in inside


def test_the_office_admin_sets_the_sender_address(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    sign_in(client, admin)
    response = post(
        client,
        "/verwaltung/einstellungen/amt",
        {
            "name": office.name,
            "contact_email": office.contact_email,
            "postal_address": "Amt für Ehrenamt\r\n\r\nZerbster Straße 4\r\n06844 Dessau-Roßlau",
        },
        page="/verwaltung/einstellungen/amt",
    )
    assert response.status_code == 302
    db.session.refresh(office)
    assert office.postal_address == "Amt für Ehrenamt\nZerbster Straße 4\n06844 Dessau-Roßlau"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "office")).one()
    assert entry.action == "update_office" and entry.actor_id == admin.id
    # A clerk may not change it.
    clerk_client = client.application.test_client()
    sign_in(clerk_client, make_user(UserRole.CLERK, office))
    response = post(
        clerk_client,
        "/verwaltung/einstellungen/amt",
        {"name": office.name, "contact_email": office.contact_email, "postal_address": "Anderswo"},
        page="/verwaltung/briefe/",
    )
    assert response.status_code in (403, 404)
    db.session.refresh(office)
    assert "Anderswo" not in office.postal_address
