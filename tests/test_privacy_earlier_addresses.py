"""Mails sent to a volunteer before an e-mail change went to the old address: the change
keeps that address (as long as such mails are kept), the export shows those mails, an
erasure deletes them, and a later owner of the address gets nothing of them."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.core import mail
from ehrenamt.extensions import db
from ehrenamt.models import EmailChange, OutboxMessage, UserRole, utcnow
from ehrenamt.privacy import erasure
from ehrenamt.privacy import export as data_export
from ehrenamt.privacy.retention import DeletionKind, apply_retention
from tests.factories import make_office, make_user
from tests.helpers import page_text, sign_in
from tests.privacy_data import text_columns_containing
from tests.test_export import download
from tests.test_privacy_correction import ask_for, change_link, reload, use

DAY = timedelta(days=1)


def sent(to: str, subject: str) -> None:
    """A mail in the outbox, as one sent earlier (recipient and subject kept)."""
    db.session.add(
        OutboxMessage(
            task=mail.SEND_MAIL_TASK, payload={"to": to, "subject": subject}, completed_at=utcnow()
        )
    )
    db.session.commit()


def change_address(client: FlaskClient, new: str) -> None:
    """Ask for ``new`` and use the link mailed there, as the volunteer does."""
    assert ask_for(client, new) == 302
    assert use(client, change_link(new)) == 302


def test_the_export_holds_mails_to_earlier_addresses_while_they_were_hers(
    client: FlaskClient, ctx: None
) -> None:
    anna = make_user(UserRole.VOLUNTEER, email="anna.alt@example.org")
    sign_in(client, anna)
    sent("anna.alt@example.org", "Vor der ersten Änderung")
    change_address(client, "anna.mitte@example.org")
    sent("anna.mitte@example.org", "Zwischen den Änderungen")
    change_address(client, "anna.neu@example.org")
    sent("anna.neu@example.org", "Nach den Änderungen")
    # Someone else has Anna's first address now: those mails are not Anna's.
    sent("anna.alt@example.org", "An die nächste Person")

    data = json.loads(download(client).read(data_export.JSON_NAME))

    subjects = {(m["to"], m["subject"]) for m in data["mails"]}
    assert {
        ("anna.alt@example.org", "Vor der ersten Änderung"),
        # The notice of each change to the address it replaced, the link to the new one.
        ("anna.alt@example.org", "Ihre E-Mail-Adresse soll geändert werden"),
        ("anna.mitte@example.org", "Bitte bestätigen Sie Ihre neue E-Mail-Adresse"),
        ("anna.mitte@example.org", "Zwischen den Änderungen"),
        ("anna.mitte@example.org", "Ihre E-Mail-Adresse soll geändert werden"),
        ("anna.neu@example.org", "Bitte bestätigen Sie Ihre neue E-Mail-Adresse"),
        ("anna.neu@example.org", "Nach den Änderungen"),
    } <= subjects
    assert ("anna.alt@example.org", "An die nächste Person") not in subjects
    assert [(c["old_email"], c["new_email"]) for c in data["email_changes"]] == [
        ("anna.alt@example.org", "anna.mitte@example.org"),
        ("anna.mitte@example.org", "anna.neu@example.org"),
    ]


def test_an_erasure_deletes_mails_to_earlier_addresses(client: FlaskClient, ctx: None) -> None:
    anna = make_user(UserRole.VOLUNTEER, email="anna.alt@example.org")
    sign_in(client, anna)
    sent("anna.alt@example.org", "Vor der Änderung")
    change_address(client, "anna.neu@example.org")
    person = reload(anna)

    erasure.erase_person(person, erasure.self_acting(person), self_request=True)

    assert text_columns_containing("anna.alt@example.org") == []
    assert text_columns_containing("anna.neu@example.org") == []


def test_a_change_keeps_the_old_address_as_long_as_mails_to_it(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    """A used change stays SENT_MAIL_RETENTION_DAYS and a day; then the job deletes it, as
    it deletes the mails to the old address; an unused link goes a day after expiring."""
    anna = make_user(UserRole.VOLUNTEER, email="anna.alt@example.org")
    sign_in(client, anna)
    change_address(client, "anna.neu@example.org")
    change = db.session.scalar(select(EmailChange))
    assert change is not None and change.old_email == "anna.alt@example.org"
    assert change.used_at is not None
    kept_until = change.used_at + app.config["SENT_MAIL_RETENTION_DAYS"] * DAY + DAY

    assert (None, DeletionKind.EMAIL_CHANGES) not in apply_retention(utcnow() + 2 * DAY)
    before_end = apply_retention(kept_until - timedelta(hours=1))
    assert (None, DeletionKind.EMAIL_CHANGES) not in before_end
    after_end = apply_retention(kept_until + timedelta(hours=1))
    assert after_end[(None, DeletionKind.EMAIL_CHANGES)] == 1
    assert db.session.scalar(select(EmailChange)) is None
    assert (None, DeletionKind.EMAIL_CHANGES) not in apply_retention(kept_until + DAY)


def test_the_privacy_page_and_the_admin_state_how_long_the_old_address_is_kept(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    days = app.config["SENT_MAIL_RETENTION_DAYS"] + 1
    text = page_text(client.get(f"/datenschutz/{office.slug}"))
    assert f"Nach einer Änderung Ihre frühere E-Mail-Adresse: {days} Tage" in text
    sign_in(client, make_user(UserRole.ADMIN, office))
    text = page_text(client.get("/verwaltung/einstellungen/aufbewahrung"))
    assert f"benutzt mit der früheren Adresse {days} Tage nach der Änderung" in text
