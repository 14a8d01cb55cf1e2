"""Answering a question from the office (issue #14, the applicant): the answer can carry
a file, checked on its bytes; the clerk who asked is told by mail and the queue marks it."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Upload, UserRole
from ehrenamt.workflow import ApplicationState as S
from tests.factories import make_application, make_office, make_user
from tests.helpers import csrf_token, page_text, post, sign_in
from tests.mailbox import Mailbox, links_in, path_of, text_of
from tests.test_review import _state_of, _version_on
from tests.test_uploads import make_pdf


def ask(clerk_client: Any, application_public_id: str, question: str) -> None:
    path = f"/verwaltung/antrag/{application_public_id}"
    version = _version_on(clerk_client, application_public_id)
    response = post(
        clerk_client, f"{path}/rueckfrage", {"version": version, "question": question}, page=path
    )
    assert response.status_code == 302


def answer(client: Any, own: str, text: str, file: tuple[bytes, str] | None = None) -> Any:
    data: dict[str, Any] = {"csrf_token": csrf_token(client, own), "answer": text}
    if file is not None:
        data["proof"] = (io.BytesIO(file[0]), file[1])
    return client.post(f"{own}/antworten", data=data, content_type="multipart/form-data")


@pytest.mark.worker
def test_answer_with_a_file_reaches_the_clerk(
    ctx: None, make_client: Any, mailbox: Mailbox
) -> None:
    office = make_office()
    application = make_application(office, state=S.IN_REVIEW)
    clerk = make_user(UserRole.CLERK, office)
    clerk_client, applicant_client = make_client(), make_client()
    sign_in(clerk_client, clerk)
    sign_in(applicant_client, application.applicant)
    ask(clerk_client, application.public_id, "Bitte die Juleica als Nachweis.")
    own = f"/konto/antrag/{application.public_id}"
    assert 'enctype="multipart/form-data"' in page_text(applicant_client.get(own))

    # A file that only claims to be a PDF is refused at the field; nothing changes.
    fake = answer(applicant_client, own, "Anbei.", (b"MZ\x90\x00 not a pdf", "juleica.pdf"))
    assert fake.status_code == 400
    assert 'id="proof-error"' in page_text(fake)
    assert _state_of(application.id) == S.NEEDS_INFORMATION

    sent = answer(applicant_client, own, "Anbei die Juleica.", (make_pdf(), "juleica.pdf"))

    assert sent.status_code == 302
    assert _state_of(application.id) == S.IN_REVIEW
    db.session.rollback()
    [upload] = db.session.scalars(select(Upload).where(Upload.application_id == application.id))
    assert upload.original_name == "juleica.pdf" and upload.content_type == "application/pdf"
    [mail] = mailbox.wait_for(to=clerk.email, subject="Antwort auf Ihre Rückfrage")
    assert "Datei" in text_of(mail)
    assert f"/verwaltung/antrag/{application.public_id}" in {path_of(u) for u in links_in(mail)}
    assert application.last_name not in text_of(mail)  # no names in the mail
    queue = page_text(clerk_client.get("/verwaltung/"))
    row = queue.split(f"/verwaltung/antrag/{application.public_id}", 1)[1].split("</tr>", 1)[0]
    assert "Antwort eingegangen" in row
    detail = page_text(clerk_client.get(f"/verwaltung/antrag/{application.public_id}"))
    assert "juleica.pdf" in detail

    # Asked again: the marker goes until the next answer.
    ask(clerk_client, application.public_id, "Und die Rückseite?")
    answer(applicant_client, own, "Kommt.")
    assert "Antwort eingegangen" in page_text(clerk_client.get("/verwaltung/"))
