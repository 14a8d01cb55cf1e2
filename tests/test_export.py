"""Data export (DSGVO Art. 15/20): everything stored about a volunteer, and nothing of
anyone else; only to its owner, after a recent sign-in, until it expires."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.accounts import links
from ehrenamt.cards import production
from ehrenamt.core import mail, uploads
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    Card,
    DataExport,
    ExportState,
    LinkPurpose,
    OutboxMessage,
    User,
    UserRole,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.privacy import export as data_export
from ehrenamt.privacy import name_change
from ehrenamt.privacy.retention import DeletionKind, apply_retention
from ehrenamt.workflow import ApplicationState
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.mailbox import Mailbox, links_in, path_of
from tests.test_cards import approve_without_worker
from tests.test_uploads import make_pdf
from tests.test_verify_pages import make_partner


@dataclass
class Person:
    """A volunteer with every kind of data, and the values that identify it."""

    user: User
    card: Card
    upload_bytes: bytes
    values: list[str]


def make_person(tag: str, birth: date, pdf_size: int) -> Person:
    """Two applications (one rejected after a question and answer, with an upload; one
    approved with a card), check records of the card, mails to the person."""
    office = make_office()
    user = make_user(UserRole.VOLUNTEER, email=f"{tag}@example.org")
    first = make_application(
        office,
        user,
        state=ApplicationState.REJECTED,
        first_name=f"{tag.title()}vorname",
        last_name=f"{tag.title()}nachname",
        birth_date=birth,
        organisation=f"Verein {tag}",
    )
    first.information_request = f"Frage an {tag}"
    first.information_answer = f"<script>alert('{tag}')</script> Antwort von {tag}"
    content = make_pdf(pdf_size)
    upload = uploads.store_upload(io.BytesIO(content), f"nachweis-{tag}.pdf")
    upload.application_id = first.id
    first.engagements[0].answer_comment = f"Bestätigt für {tag}"
    db.session.commit()
    second = make_application(
        office,
        user,
        state=ApplicationState.IN_REVIEW,
        first_name=f"{tag.title()}vorname",
        last_name=f"{tag.title()}nachname",
        birth_date=birth,
        organisation=f"Feuerwehr {tag}",
    )
    card = approve_without_worker(second)
    assert production.produce(card.id) == production.Produced.MADE
    partner = make_partner(office)
    partner.name = f"Museum {tag}"
    for result in ("valid", "valid"):
        db.session.add(
            Verification(
                partner_id=partner.id,
                channel=VerificationChannel.PAGE,
                result=result,
                card_id=card.id,
                benefit_id=partner.benefits[0].id,
            )
        )
    db.session.add(
        OutboxMessage(
            task=mail.SEND_MAIL_TASK,
            payload={"to": user.email, "subject": f"Nachricht an {tag}"},
            completed_at=utcnow(),
        )
    )
    db.session.commit()
    name_change.request_name_change(user, "Neuvorname", f"Neu{tag}", f"Heirat {tag}")
    db.session.refresh(card)
    return Person(
        user,
        card,
        content,
        [
            user.email,
            f"{tag.title()}vorname",
            f"{tag.title()}nachname",
            birth.isoformat(),
            f"Verein {tag}",
            f"Feuerwehr {tag}",
            f"Antwort von {tag}",
            f"Frage an {tag}",
            f"nachweis-{tag}",
            f"Bestätigt für {tag}",
            f"Museum {tag}",
            f"Nachricht an {tag}",
            card.number,
            first.public_id,
            second.public_id,
            f"Heirat {tag}",
        ],
    )


def download(client: FlaskClient) -> zipfile.ZipFile:
    """Ask for an export and download it (small: built in the request)."""
    response = post(client, "/konto/daten/export", page="/konto/")
    assert response.status_code == 302
    assert "/konto/daten/export/" in response.headers["Location"]
    with client.get(response.headers["Location"]) as archive:
        assert archive.status_code == 200, page_text(archive)[:500]
        assert archive.mimetype == "application/zip"
        assert "attachment" in archive.headers["Content-Disposition"]
        return zipfile.ZipFile(io.BytesIO(archive.data))


def status_of(client: FlaskClient, url: str) -> int:
    """The status of a GET, its file closed."""
    with client.get(url) as response:
        return response.status_code


def test_the_export_holds_every_kind_of_data_and_nothing_of_another_person(
    client: FlaskClient, ctx: None
) -> None:
    anna = make_person("anna", date(1980, 5, 17), 900)
    bert = make_person("bert", date(1981, 6, 18), 1100)
    sign_in(client, anna.user)

    archive = download(client)
    names = archive.namelist()
    data = json.loads(archive.read(data_export.JSON_NAME))
    summary = archive.read(data_export.SUMMARY_NAME).decode()

    assert data["account"]["email"] == "anna@example.org"
    assert data["account"]["has_password"] is True
    assert "password_hash" not in json.dumps(data)
    applications = data["applications"]
    assert [a["state"] for a in applications] == ["rejected", "approved"]
    rejected, approved = applications
    assert rejected["birth_date"] == "1980-05-17"
    assert rejected["information_answer"].endswith("Antwort von anna")
    assert rejected["engagements"][0]["organisation_name"] == "Verein anna"
    assert rejected["engagements"][0]["confirmation_state"] == "confirmed"
    assert rejected["engagements"][0]["answer_comment"] == "Bestätigt für anna"
    assert approved["engagements"][0]["organisation_name"] == "Feuerwehr anna"
    assert [(n["state"], n["last_name"]) for n in approved["name_changes"]] == [
        ("pending", "Neuanna")
    ]
    assert [action["action"] for action in approved["history"]] == [
        "approve",
        "request_name_change",
    ]
    # The upload, byte for byte, under the name the JSON gives.
    (proof,) = rejected["uploads"]
    assert proof["original_name"] == "nachweis-anna.pdf"
    assert archive.read(proof["file"]) == anna.upload_bytes
    (card,) = data["cards"]
    assert card["number"] == anna.card.number
    assert card["state"] == "active"
    assert {"create", "issue"} <= {row["action"] for row in card["history"]}
    assert all(row["by"] for row in card["history"])
    assert [(c["result"], c["partner"]) for c in card["checks"]] == [
        ("valid", "Museum anna"),
        ("valid", "Museum anna"),
    ]
    assert set(card["files"]) <= set(names) and len(card["files"]) == 2
    assert {"to": "anna@example.org", "subject": "Nachricht an anna"}.items() <= next(
        m for m in data["mails"] if m["subject"] == "Nachricht an anna"
    ).items()
    assert all(m["to"] == "anna@example.org" for m in data["mails"])

    # The readable summary shows the same, escaped.
    assert "Feuerwehr anna" in summary and "Museum anna" in summary
    assert "<script>" not in summary
    assert "&lt;script&gt;alert(" in summary

    # Nothing of Bert, in any file of the archive.
    everything = b"".join(archive.read(name) for name in names)
    text = everything.decode("utf-8", errors="replace")
    for value in bert.values:
        assert value not in text, value
    assert bert.upload_bytes not in everything
    for value in anna.values:
        assert value in text, value


def test_only_the_owner_can_download(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    anna = make_person("anna", date(1980, 5, 17), 900)
    bert = make_person("bert", date(1981, 6, 18), 1100)
    anna_client, bert_client = make_client(), make_client()
    sign_in(anna_client, anna.user)
    response = post(anna_client, "/konto/daten/export", page="/konto/")
    url = response.headers["Location"]
    sign_in(bert_client, bert.user)
    assert bert_client.get(url).status_code == 404
    assert make_client().get(url).status_code == 302  # anonymous: to the sign-in page
    clerk = make_user(UserRole.CLERK, anna.card.office)
    clerk_client = make_client()
    sign_in(clerk_client, clerk)
    assert clerk_client.get(url).status_code == 403
    assert status_of(anna_client, url) == 200


def test_a_stale_sign_in_must_give_the_password_again(client: FlaskClient, ctx: None) -> None:
    anna = make_person("anna", date(1980, 5, 17), 900)
    sign_in(client, anna.user)
    url = post(client, "/konto/daten/export", page="/konto/").headers["Location"]
    with client.session_transaction() as session:
        session["authenticated_at"] -= 11 * 60
    response = client.get(url)
    assert response.status_code == 302
    assert "/konto/bestaetigen" in response.headers["Location"]
    page = response.headers["Location"]
    wrong = post(client, page, {"password": "falsch"}, page=page)
    assert wrong.status_code == 400
    assert "Das Passwort ist falsch." in page_text(wrong)
    assert client.get(url).status_code == 302
    right = post(client, page, {"password": PASSWORD}, page=page)
    assert right.status_code == 302 and right.headers["Location"] == url
    assert status_of(client, url) == 200


def test_without_a_password_a_fresh_sign_in_link_is_offered(client: FlaskClient, ctx: None) -> None:
    user = make_user(UserRole.VOLUNTEER, password=None)
    sign_in_link_mails = select(OutboxMessage).where(
        OutboxMessage.payload["to"].as_string() == user.email
    )
    token = links.issue_link(user, LinkPurpose.SIGN_IN, timedelta(minutes=5))
    db.session.commit()
    link_page = f"/anmelden/link/{token}"
    assert post(client, link_page, page=link_page).status_code == 302
    with client.session_transaction() as session:
        session["authenticated_at"] -= 11 * 60
    page = client.get("/konto/bestaetigen")
    assert page.status_code == 200 and "Anmeldelink senden" in page_text(page)
    response = post(client, "/konto/bestaetigen", {"link-submit": "1"}, page="/konto/bestaetigen")
    assert response.status_code == 302
    db.session.rollback()
    assert len(db.session.scalars(sign_in_link_mails).all()) == 1


def test_an_expired_export_is_refused_and_deleted(client: FlaskClient, ctx: None) -> None:
    anna = make_person("anna", date(1980, 5, 17), 900)
    sign_in(client, anna.user)
    url = post(client, "/konto/daten/export", page="/konto/").headers["Location"]
    kept = data_export.request_export(anna.user)
    export = db.session.scalar(select(DataExport).where(DataExport.id != kept.id))
    assert export is not None
    path = data_export.path_of(export)
    assert path.exists()
    export.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(url).status_code == 404
    assert apply_retention()[(None, DeletionKind.DATA_EXPORTS)] == 1
    assert not path.exists()
    assert db.session.scalars(select(DataExport)).all() == [kept]
    assert data_export.path_of(kept).exists()
    assert (None, DeletionKind.DATA_EXPORTS) not in apply_retention()


@pytest.mark.worker
def test_a_large_export_is_built_by_the_worker_and_its_link_mailed(
    app: Flask, client: FlaskClient, ctx: None, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "EXPORT_WORKER_THRESHOLD_BYTES", 100)
    anna = make_person("anna", date(1980, 5, 17), 900)
    sign_in(client, anna.user)
    response = post(client, "/konto/daten/export", page="/konto/", follow_redirects=True)
    assert "Sie erhalten eine E-Mail" in page_text(response)
    (message,) = mailbox.wait_for(to="anna@example.org", subject="Ihre Daten")
    (link,) = [url for url in links_in(message) if "/konto/daten/export/" in url]
    with client.get(path_of(link)) as archive:
        assert archive.status_code == 200
        data = json.loads(zipfile.ZipFile(io.BytesIO(archive.data)).read(data_export.JSON_NAME))
    assert data["cards"][0]["number"] == anna.card.number
    # A second delivery of the task builds nothing more and mails nothing more.
    db.session.rollback()
    export = db.session.scalar(select(DataExport))
    assert export is not None and export.state == ExportState.READY
    assert data_export.build(export.id) is False


def test_asking_twice_while_one_is_built_gives_the_same_export(
    app: Flask, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "EXPORT_WORKER_THRESHOLD_BYTES", 100)
    anna = make_person("anna", date(1980, 5, 17), 900)
    first = data_export.request_export(anna.user)
    assert first.state == ExportState.PENDING
    assert data_export.request_export(anna.user).id == first.id
    assert db.session.scalar(select(db.func.count()).select_from(Application)) == 2
