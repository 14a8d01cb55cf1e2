"""The programme administrator: creates offices in the browser (the same service as the
CLI), chooses the office she works in, and there acts as its admin; other offices'
objects stay 404 until she switches, and normal staff never see another office."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.core.audit import AuditAction
from ehrenamt.extensions import db
from ehrenamt.models import Application, AuditEntry, Office, User, UserRole
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.test_staff import reload

NEW_OFFICE = {
    "name": "Landkreis Wittenberg",
    "slug": "lk-wittenberg",
    "contact_email": "Karte@Wittenberg.example.org",
    "postcodes": "06886  06889",
    "preset": "bayern",
}


def programme_admin(office: Office | None = None) -> User:
    return make_user(UserRole.PROGRAMME_ADMIN, office)


def create(client: FlaskClient, **changes: str):  # type: ignore[no-untyped-def]
    return post(
        client, "/programm/aemter/neu", {**NEW_OFFICE, **changes}, page="/programm/aemter/neu"
    )


def switch(client: FlaskClient, office: Office | int):  # type: ignore[no-untyped-def]
    office_id = office if isinstance(office, int) else office.id
    return post(
        client, "/programm/amt-wechseln", {"office_id": str(office_id)}, page="/programm/aemter"
    )


def test_programme_admin_without_an_office_is_sent_to_choose_one(
    client: FlaskClient, ctx: None
) -> None:
    admin = programme_admin()
    response = sign_in(client, admin)
    assert response.headers["Location"] == "/programm/aemter"
    for page in ("/verwaltung/", "/verwaltung/mitarbeitende/", "/verwaltung/einstellungen/regeln"):
        assert client.get(page).headers["Location"] == "/programm/aemter", page


def test_programme_admin_creates_an_office_like_the_cli(client: FlaskClient, ctx: None) -> None:
    admin = programme_admin()
    sign_in(client, admin)
    assert create(client).status_code == 302
    office = db.session.scalar(select(Office).where(Office.slug == "lk-wittenberg"))
    assert office is not None
    assert office.name == "Landkreis Wittenberg"
    assert office.contact_email == "karte@wittenberg.example.org"
    assert office.postcodes == "06886 06889"
    assert office.rules.preset == "bayern"
    assert "Landkreis Wittenberg" in page_text(client.get("/programm/aemter"))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.subject_type == "office"))
    assert entry is not None and entry.action == AuditAction.CREATE_OFFICE
    assert entry.actor_id == admin.id and entry.office_id == office.id


@pytest.mark.parametrize(
    ("field", "value"),
    [("slug", "Mit Leerzeichen"), ("slug", ""), ("name", ""), ("contact_email", "nope"),
     ("postcodes", "0688"), ("preset", "atlantis")],
)  # fmt: skip
def test_bad_office_input_is_refused_at_the_field(
    client: FlaskClient, ctx: None, field: str, value: str
) -> None:
    sign_in(client, programme_admin())
    response = create(client, **{field: value})
    assert response.status_code == 400
    assert f'id="{field}-error"' in page_text(response)
    assert 'value="Landkreis Wittenberg"' in page_text(response) or field == "name"
    assert db.session.scalar(select(Office).where(Office.name == "Landkreis Wittenberg")) is None


def test_a_slug_in_use_is_refused(client: FlaskClient, ctx: None) -> None:
    make_office(slug="lk-wittenberg")
    sign_in(client, programme_admin())
    response = create(client)
    assert response.status_code == 400 and "schon ein anderes Amt" in page_text(response)


@pytest.mark.parametrize("role", ["volunteer", "partner", "clerk", "admin"])
def test_only_the_programme_admin_reaches_the_programme_pages(
    client: FlaskClient, ctx: None, role: str
) -> None:
    office = make_office()
    sign_in(client, make_user(UserRole(role), office))
    assert client.get("/programm/aemter").status_code == 403
    assert client.get("/programm/aemter/neu").status_code == 403
    assert create(client).status_code == 403
    other = make_office()
    assert switch(client, other).status_code == 403
    assert db.session.scalar(select(Office).where(Office.slug == "lk-wittenberg")) is None


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, ctx: None) -> None:
    assert client.get("/programm/aemter").headers["Location"].startswith("/anmelden")


def test_she_works_in_the_office_she_switched_to(client: FlaskClient, ctx: None) -> None:
    """As admin of the chosen office; the other office's objects are 404 until she switches."""
    first, second = make_office(), make_office()
    here = make_application(first)
    there = make_application(second)
    admin = programme_admin(first)
    sign_in(client, admin)
    assert client.get(f"/verwaltung/antrag/{here.public_id}").status_code == 200
    assert client.get(f"/verwaltung/antrag/{there.public_id}").status_code == 404
    assert client.get("/verwaltung/einstellungen/regeln").status_code == 200
    assert switch(client, second).status_code == 302
    assert reload(admin).office_id == second.id
    assert client.get(f"/verwaltung/antrag/{here.public_id}").status_code == 404
    assert client.get(f"/verwaltung/antrag/{there.public_id}").status_code == 200
    response = post(
        client,
        f"/verwaltung/antrag/{there.public_id}/bewilligen",
        {"version": str(there.version), "note": "passt"},
        page=f"/verwaltung/antrag/{there.public_id}",
    )
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Application, there.id).state == ApplicationState.APPROVED  # type: ignore[union-attr]
    audit = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor_id == admin.id).order_by(AuditEntry.id)
    ).all()
    # The approval makes the card too (created in her name).
    assert audit[:2] == [AuditAction.SWITCH_OFFICE, AuditAction.APPROVE]


@pytest.mark.parametrize("office_id", ["999999999", "abc", "", "-1"])
def test_switching_to_an_unknown_office_changes_nothing(
    client: FlaskClient, ctx: None, office_id: str
) -> None:
    office = make_office()
    admin = programme_admin(office)
    sign_in(client, admin)
    response = post(
        client, "/programm/amt-wechseln", {"office_id": office_id}, page="/programm/aemter"
    )
    assert response.status_code in (400, 404)
    assert reload(admin).office_id == office.id


def test_office_admins_do_not_see_or_change_the_programme_admin(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    boss = programme_admin(office)
    sign_in(client, admin)
    assert boss.email not in page_text(client.get("/verwaltung/mitarbeitende/"))
    assert client.get(f"/verwaltung/mitarbeitende/{boss.id}").status_code == 404


def test_the_cli_creates_a_programme_admin(app: Flask, ctx: None) -> None:
    office = make_office()
    result = app.test_cli_runner().invoke(
        args=["ehrenamt", "create-staff", "--email", "land@example.org", "--office", office.slug,
              "--role", "programme_admin", "--password", "a long enough password"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "land@example.org"))
    assert user is not None and user.role == UserRole.PROGRAMME_ADMIN
