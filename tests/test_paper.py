"""Paper applications: a clerk types in a signed form, with or without e-mail address."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    ConfirmationState,
    Office,
    OutboxMessage,
    Upload,
    User,
    UserRole,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import application_form_data, make_office, make_user
from tests.helpers import page_text, post, sign_in

#: The smallest file that passes the upload check as a PDF (type and structure).
SCAN = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def paper_form_data(office: Office, **changes: Any) -> dict[str, Any]:
    """A complete paper application: no e-mail, an organisation without address."""
    data: dict[str, Any] = application_form_data(
        office,
        email="",
        password=None,
        proof_token=None,
        **{"engagements-0-contact_email": ""},
    )
    data.update(language="de", scan=(io.BytesIO(SCAN), "antrag.pdf"))
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def enter(client: FlaskClient, office: Office, **changes: Any) -> Any:
    return post(
        client,
        "/antrag/papier",
        paper_form_data(office, **changes),
        page="/antrag/papier",
        content_type="multipart/form-data",
    )


@pytest.fixture
def clerk(ctx: None) -> User:
    return make_user(UserRole.CLERK, make_office())


def test_clerk_enters_paper_application_for_a_person_without_email(
    client: FlaskClient, clerk: User
) -> None:
    sign_in(client, clerk)
    response = enter(client, clerk.office)
    assert response.status_code == 302, page_text(response)[:3000]

    application = db.session.scalars(select(Application)).one()
    assert application.applicant.email is None
    assert application.applicant.password_hash is None
    assert application.entered_by_id == clerk.id
    # Same workflow: waiting for the organisation, whose answer the clerk records.
    assert application.state == ApplicationState.AWAITING_CONFIRMATION
    assert application.engagements[0].contact_email is None
    assert application.engagements[0].confirmation_state == ConfirmationState.NOT_SENT
    # The scan is attached, as stored and checked.
    upload = db.session.scalars(select(Upload)).one()
    assert upload.application_id == application.id and upload.content_type == "application/pdf"
    # The audit names the clerk: the application came on paper.
    first = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
    assert first is not None and first.action == "submit"
    assert first.actor_id == clerk.id and first.actor_role == "clerk"
    assert first.reason == "paper application entered by staff"
    # Nobody is mailed: neither the person nor the organisation has an address.
    assert not db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.task == "ehrenamt.send_mail")
    ).all()

    detail = page_text(client.get(f"/verwaltung/antrag/{application.public_id}"))
    assert "Papierantrag, von der Ausgabestelle erfasst" in detail
    assert "Link erneut senden" not in detail  # no address to send a link to

    # The clerk records the organisation's confirmation with a note: review starts.
    response = post(
        client,
        f"/verwaltung/antrag/{application.public_id}/organisation",
        {
            "engagement_id": str(application.engagements[0].id),
            "note": "Telefonisch bestätigt durch den Vorsitzenden",
            "override": "1",
        },
        page=f"/verwaltung/antrag/{application.public_id}",
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == ApplicationState.IN_REVIEW


def test_an_organisation_with_an_address_is_asked_by_mail(client: FlaskClient, clerk: User) -> None:
    sign_in(client, clerk)
    response = enter(
        client,
        clerk.office,
        email="Erika.Paper@example.org",
        **{"engagements-0-contact_email": "vorstand@tsv.example.org"},
    )
    assert response.status_code == 302
    application = db.session.scalars(select(Application)).one()
    assert application.applicant.email == "erika.paper@example.org"
    assert application.engagements[0].confirmation_state == ConfirmationState.PENDING
    recipients = {
        m.payload["to"]
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == "ehrenamt.send_mail")
        )
    }
    # The organisation gets its link, the applicant the notice of receipt by mail.
    assert recipients == {"vorstand@tsv.example.org", "erika.paper@example.org"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scan": (io.BytesIO(b"just text, no PDF"), "antrag.pdf")}, "PDF-, JPEG- oder PNG"),
        ({"scan": None}, "unterschriebenen Antrag als Scan"),
        ({"consent": None}, "Ohne unterschriebene Einwilligung"),
        ({"engagements-0-contact_name": ""}, "Bitte ausfüllen"),
    ],
)
def test_bad_paper_form_is_refused_at_the_field(
    client: FlaskClient, clerk: User, changes: dict[str, Any], message: str
) -> None:
    sign_in(client, clerk)
    response = enter(client, clerk.office, **changes)
    assert response.status_code == 400
    assert message in page_text(response)
    assert db.session.scalars(select(Application)).all() == []
    assert db.session.scalars(select(Upload)).all() == []


def test_the_same_person_without_email_is_found_again(client: FlaskClient, clerk: User) -> None:
    """A second paper application (after a decision) belongs to the same person."""
    sign_in(client, clerk)
    assert enter(client, clerk.office).status_code == 302
    first = db.session.scalars(select(Application)).one()
    first.state = ApplicationState.REJECTED
    db.session.commit()
    assert enter(client, clerk.office).status_code == 302
    applicants = set(db.session.scalars(select(Application.applicant_id)))
    assert applicants == {first.applicant_id}
    assert db.session.scalars(select(User).where(User.email.is_(None))).all() == [first.applicant]


def test_an_open_application_is_not_entered_twice(client: FlaskClient, clerk: User) -> None:
    sign_in(client, clerk)
    assert enter(client, clerk.office).status_code == 302
    response = enter(client, clerk.office)
    assert response.status_code == 302
    assert len(db.session.scalars(select(Application)).all()) == 1
    assert len(db.session.scalars(select(Upload)).all()) == 1


def test_only_staff_enter_paper_applications(app: Flask, client: FlaskClient, ctx: None) -> None:
    make_office()
    volunteer = make_user(UserRole.VOLUNTEER)
    sign_in(client, volunteer)
    assert client.get("/antrag/papier").status_code in (403, 404)
    assert client.get("/antrag/").status_code == 200


def test_staff_still_cannot_use_the_online_form(client: FlaskClient, clerk: User) -> None:
    sign_in(client, clerk)
    assert client.get("/antrag/").status_code == 403
    assert client.get("/antrag/papier").status_code == 200
