"""Drafts of the application form: "Entwurf speichern", the mailed link, the account's
"weiter bearbeiten", submitting, expiry, export, erasure and the rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt.extensions import db
from ehrenamt.models import Application, ApplicationDraft, OutboxMessage, UserRole, utcnow
from ehrenamt.privacy import erasure, export_data
from ehrenamt.privacy.retention import DeletionKind, apply_retention
from tests.factories import application_form_data, make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.mailbox import LINK, Mailbox, links_in, path_of
from tests.post_walks import MakeClient
from tests.test_security import limit_of

FORM = "/antrag/"
SAVE = "/antrag/entwurf"
SUBJECT = "Ihr gespeicherter Antrag auf die Ehrenamtskarte"


def _save(client: FlaskClient, data: dict[str, str]) -> TestResponse:
    return post(client, SAVE, data, page=FORM)


def _half_done(office_id: int, email: str) -> dict[str, str]:
    """A form left half done: a name, an address, one organisation's name."""
    return {
        "office": str(office_id),
        "first_name": "Erika",
        "last_name": "Musterfrau",
        "email": email,
        "password": "ein langes Passwort",
        "engagements-0-organisation_name": "TSV Dessau",
        "engagements-0-hours": "6",
        "engagements-0-hours_unit": "week",
    }


def _link_of(email: str) -> str:
    """The draft link of the (only) draft mail queued to ``email``."""
    [message] = [
        m
        for m in db.session.scalars(select(OutboxMessage))
        if m.payload.get("to") == email and m.payload.get("subject") == SUBJECT
    ]
    [link] = [url for url in LINK.findall(message.payload["text"]) if "/antrag/entwurf/" in url]
    return path_of(link)


@pytest.mark.worker
def test_a_half_done_form_is_saved_and_the_mailed_link_fills_it_again(
    client: FlaskClient, make_client: MakeClient, ctx: None, mailbox: Mailbox
) -> None:
    """Saved without the completeness checks; no password kept; the link opens it in
    another browser with everything typed."""
    office = make_office()
    response = _save(client, _half_done(office.id, "halb@example.org"))
    assert response.status_code == 303
    assert response.headers["Location"] == FORM
    draft = db.session.scalars(select(ApplicationDraft)).one()
    assert draft.email == "halb@example.org"
    assert draft.answers["first_name"] == ["Erika"]
    assert "password" not in draft.answers
    assert "ein langes Passwort" not in str(draft.answers)
    assert len(draft.token_hash) == 64
    assert timedelta(days=29) < draft.expires_at - utcnow() <= timedelta(days=30)
    page = page_text(client.get(FORM))
    assert "Ihr Entwurf ist gespeichert" in page
    assert 'value="Erika"' in page

    [mail] = mailbox.wait_for(to="halb@example.org", subject=SUBJECT)
    [link] = [url for url in links_in(mail) if "/antrag/entwurf/" in url]
    assert draft.answers["first_name"][0] not in str(mail)  # the mail carries no answers
    other = make_client()
    opened = other.get(path_of(link))
    assert opened.status_code == 303
    assert opened.headers["Location"] == FORM
    form = page_text(other.get(FORM))
    assert "ist geladen" in form
    for typed in ('value="Erika"', 'value="Musterfrau"', 'value="TSV Dessau"', 'value="6"'):
        assert typed in form
    assert "ein langes Passwort" not in form


def test_a_draft_needs_an_email_address_only(client: FlaskClient, ctx: None) -> None:
    """Without an address: the message at the field, everything typed kept, no draft."""
    office = make_office()
    response = _save(client, _half_done(office.id, ""))
    assert response.status_code == 400
    page = page_text(response)
    assert 'id="error-summary"' in page
    assert 'value="Erika"' in page
    assert db.session.scalars(select(ApplicationDraft)).all() == []
    bad = _save(client, _half_done(office.id, "kaputt"))
    assert bad.status_code == 400


def test_control_characters_in_a_draft_are_refused_at_the_field(
    client: FlaskClient, ctx: None
) -> None:
    """PostgreSQL cannot store a NUL: a message, never a 500."""
    office = make_office()
    data = _half_done(office.id, "nul@example.org") | {"town": "Des\x01sau"}
    response = _save(client, data)
    assert response.status_code == 400
    assert "Bitte ohne Steuerzeichen eingeben." in page_text(response)


def test_saving_again_updates_the_draft_and_mails_once(client: FlaskClient, ctx: None) -> None:
    """The same visitor saving twice: one row, one mail, the link unchanged."""
    office = make_office()
    _save(client, _half_done(office.id, "zweimal@example.org"))
    link = _link_of("zweimal@example.org")
    response = _save(client, _half_done(office.id, "zweimal@example.org") | {"town": "Roßlau"})
    assert response.status_code == 303
    draft = db.session.scalars(select(ApplicationDraft)).one()
    db.session.refresh(draft)
    assert draft.answers["town"] == ["Roßlau"]
    assert _link_of("zweimal@example.org") == link
    assert "Der Link aus unserer E-Mail gilt jetzt" in page_text(client.get(FORM))


def test_submitting_the_continued_draft_deletes_it(
    client: FlaskClient, make_client: MakeClient, ctx: None
) -> None:
    """Opened from the link, completed and sent: the application exists, the draft not."""
    office = make_office()
    data = application_form_data(office)
    _save(client, {k: v for k, v in data.items() if k != "consent"})
    other = make_client()
    other.get(_link_of(data["email"]))
    response = post(other, FORM, data, page=FORM)
    assert response.status_code == 302, page_text(response)[:2000]
    assert db.session.scalars(select(Application)).one().first_name == "Erika"
    assert db.session.scalars(select(ApplicationDraft)).all() == []
    # The link is dead now.
    stale = other.get(_link_of(data["email"]))
    assert stale.status_code == 303
    assert "abgelaufen oder ungültig" in page_text(other.get(FORM))


def test_an_expired_or_unknown_link_says_so(
    client: FlaskClient, make_client: MakeClient, ctx: None
) -> None:
    office = make_office()
    _save(client, _half_done(office.id, "alt@example.org"))
    link = _link_of("alt@example.org")
    draft = db.session.scalars(select(ApplicationDraft)).one()
    draft.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    for path in (link, "/antrag/entwurf/unbekannt"):
        fresh = make_client()
        assert fresh.get(path).status_code == 303
        page = page_text(fresh.get(FORM))
        assert "abgelaufen oder ungültig" in page
        assert 'value="Erika"' not in page


def test_the_account_lists_own_drafts_and_continues_them(
    client: FlaskClient, make_client: MakeClient, ctx: None
) -> None:
    """A signed-in applicant's draft is in the account; another volunteer gets a 404."""
    office = make_office()
    volunteer = make_user(UserRole.VOLUNTEER)
    sign_in(client, volunteer)
    _save(client, _half_done(office.id, volunteer.email or ""))
    draft = db.session.scalars(select(ApplicationDraft)).one()
    assert draft.user_id == volunteer.id
    account = page_text(client.get("/konto/"))
    assert "Gespeicherte Entwürfe" in account
    assert "weiter bearbeiten" in account
    assert f"/antrag/entwurf/konto/{draft.id}" in account

    other = make_client()
    sign_in(other, make_user(UserRole.VOLUNTEER))
    assert other.get(f"/antrag/entwurf/konto/{draft.id}").status_code == 404
    assert "Gespeicherte Entwürfe" not in page_text(other.get("/konto/"))

    # A draft saved signed out to the account's confirmed address is listed as well.
    _save(make_client(), _half_done(office.id, (volunteer.email or "").upper()))
    assert page_text(client.get("/konto/")).count("weiter bearbeiten") == 2

    again = make_client()
    sign_in(again, volunteer)
    assert again.get(f"/antrag/entwurf/konto/{draft.id}").status_code == 303
    assert 'value="Musterfrau"' in page_text(again.get(FORM))


def test_retention_deletes_expired_drafts(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    _save(client, _half_done(office.id, "weg@example.org"))
    draft = db.session.scalars(select(ApplicationDraft)).one()
    expires = draft.expires_at
    assert DeletionKind.APPLICATION_DRAFTS not in {k for _o, k in apply_retention(expires)}
    counts = apply_retention(expires + timedelta(minutes=1))
    assert counts[(None, DeletionKind.APPLICATION_DRAFTS)] == 1
    assert db.session.scalars(select(ApplicationDraft)).all() == []


def test_export_and_erasure_include_drafts_by_account_or_address(
    client: FlaskClient, make_client: MakeClient, ctx: None
) -> None:
    """A draft saved signed out to the person's address is theirs as well; someone
    else's draft is neither exported nor deleted."""
    office = make_office()
    volunteer = make_user(UserRole.VOLUNTEER, email="person@example.org")
    _save(client, _half_done(office.id, "Person@Example.org"))
    _save(make_client(), _half_done(office.id, "fremd@example.org"))

    document = export_data.collect(volunteer, utcnow()).document
    [exported] = document["drafts"]
    assert exported["email"] == "person@example.org"
    assert exported["answers"]["last_name"] == ["Musterfrau"]

    erasure.erase_person(volunteer, erasure.self_acting(volunteer), self_request=True)
    [left] = db.session.scalars(select(ApplicationDraft)).all()
    assert left.email == "fremd@example.org"


def test_saving_drafts_is_limited_per_client(
    app: Flask, client: FlaskClient, make_client: MakeClient, ctx: None
) -> None:
    """Each save may mail a stranger's address: past the limit, a 429 and no mail."""
    office = make_office()
    limit = limit_of(app, "RATELIMIT_DRAFT")
    for n in range(limit):
        fresh = make_client()
        response = _save(fresh, _half_done(office.id, f"viele{n}@example.org"))
        assert response.status_code == 303, n
    response = _save(client, _half_done(office.id, "zuviel@example.org"))
    assert response.status_code == 429
    assert "Zu viele Versuche" in page_text(response)
    assert len(db.session.scalars(select(ApplicationDraft)).all()) == limit
