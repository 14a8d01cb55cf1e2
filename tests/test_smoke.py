"""The app starts, pages render in German, and the infrastructure works end to end."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ehrenamt.models import UserRole
from tests.factories import make_office, make_user
from tests.helpers import page_text, sign_in
from tests.mailbox import Mailbox


def test_start_page_is_german(client: FlaskClient, ctx: None) -> None:
    make_office()
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="de">' in page_text(response)
    assert "Karte beantragen" in page_text(response)


@pytest.mark.worker
def test_sign_in_link_mail_arrives_through_worker_and_smtp(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    volunteer = make_user(UserRole.VOLUNTEER)
    from tests.helpers import post

    response = post(client, "/anmelden/link", {"email": volunteer.email}, page="/anmelden/link")
    assert response.status_code == 302
    [mail] = mailbox.wait_for(to=volunteer.email, subject="Anmeldelink")
    assert "/anmelden/link/" in mail.get_body(preferencelist=("plain",)).get_content()


def test_staff_sign_in_with_second_factor(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    clerk = make_user(UserRole.CLERK, office)
    sign_in(client, clerk)
    assert client.get("/verwaltung/").status_code == 200


def test_readme_diagram_is_generated_from_the_workflow_table() -> None:
    """The README shows exactly the diagram the transition table produces."""
    from ehrenamt import ROOT
    from ehrenamt.workflow import mermaid_diagram

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{mermaid_diagram()}\n```" in readme


def test_partner_sign_in_lands_on_a_page_they_may_see(client: FlaskClient, ctx: None) -> None:
    """Signing in must not end on a 403, even for an account without a partner."""
    office = make_office()
    partner = make_user(UserRole.PARTNER, office)
    response = sign_in(client, partner)
    assert response.headers["Location"] == "/partner/"
    assert client.get("/partner/").status_code == 200
