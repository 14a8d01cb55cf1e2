"""The office admin's staff page: the list, invitations, roles, deactivation, the second
factor, the last admin, and who may see and do any of it."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.accounts import recovery_codes
from ehrenamt.core import security
from ehrenamt.core.audit import AuditAction
from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, LinkPurpose, OneTimeLink, OutboxMessage, User, UserRole
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.helpers import deactivate_each_other_at_once, page_text, post, sign_in
from tests.test_auth import is_signed_in_as_staff, password_step

NEW_PASSWORD = "a long new passphrase"


def mails_to(email: str) -> list[dict[str, Any]]:
    """The mails queued for ``email`` (payloads of the outbox), oldest first."""
    db.session.rollback()
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [m.payload for m in messages if m.payload.get("to") == email]


def link_in(mail: dict[str, Any], path: str) -> str:
    """The path of the link in a mail's text that starts with ``path``."""
    match = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]+)", mail["text"])
    assert match, mail["text"]
    return match.group(1)


def audit_actions(user: User) -> list[str]:
    """The audit rows about ``user``'s account, oldest first."""
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "user", AuditEntry.subject_id == user.id)
            .order_by(AuditEntry.id)
        )
    )


def signed_in_admin(client: FlaskClient) -> User:
    """An admin of a new office, signed in with ``client``."""
    admin = make_user(UserRole.ADMIN, make_office())
    sign_in(client, admin)
    return admin


def reload(user: User) -> User:
    db.session.rollback()
    db.session.refresh(user)
    return user


# --- the list -------------------------------------------------------------------------


def test_staff_page_lists_the_office_staff_only(client: FlaskClient, ctx: None) -> None:
    admin = signed_in_admin(client)
    assert admin.office is not None
    clerk = make_user(UserRole.CLERK, admin.office, totp=False)
    elsewhere = make_user(UserRole.CLERK, make_office())
    programme_admin = make_user(UserRole.PROGRAMME_ADMIN, admin.office)
    volunteer = make_user(UserRole.VOLUNTEER)
    response = client.get("/verwaltung/mitarbeitende/")
    assert response.status_code == 200
    text = page_text(response)
    assert clerk.email in text and admin.email in text
    for absent in (elsewhere, programme_admin, volunteer):
        assert absent.email not in text
    row = text[text.index(clerk.email) :].split("</tr>")[0]
    assert "Sachbearbeitung" in row and "noch nie" in row and "nicht eingerichtet" in row
    own_row = text[text.index(admin.email) :].split("</tr>")[0]
    assert "Administration" in own_row and "aktiv" in own_row and "noch nie" not in own_row


def test_staff_page_is_paged_in_the_database(
    app: Flask, client: FlaskClient, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    admin = signed_in_admin(client)
    others = [make_user(UserRole.CLERK, admin.office) for _ in range(3)]
    first = page_text(client.get("/verwaltung/mitarbeitende/"))
    second = page_text(client.get("/verwaltung/mitarbeitende/?page=2"))
    shown = [u.email for u in [admin, *others] if u.email in first]
    assert len(shown) == 2 and 'rel="next"' in first
    assert len([u for u in [admin, *others] if u.email in second]) == 2
    assert 'rel="next"' not in second
    assert client.get("/verwaltung/mitarbeitende/?page=x").status_code == 200


# --- who may ---------------------------------------------------------------------------

STAFF_VIEWS = [
    ("get", "/verwaltung/mitarbeitende/"),
    ("get", "/verwaltung/mitarbeitende/{id}"),
    ("post", "/verwaltung/mitarbeitende/einladen"),
    ("post", "/verwaltung/mitarbeitende/{id}/rolle"),
    ("post", "/verwaltung/mitarbeitende/{id}/deaktivieren"),
    ("post", "/verwaltung/mitarbeitende/{id}/reaktivieren"),
    ("post", "/verwaltung/mitarbeitende/{id}/zweiter-faktor"),
    ("post", "/verwaltung/mitarbeitende/{id}/einladung"),
]


def _request(client: FlaskClient, method: str, path: str) -> Any:
    if method == "get":
        return client.get(path)
    data = {"email": "x@example.org", "display_name": "X", "role": "admin"}
    return post(client, path, data, page="/")


@pytest.mark.parametrize(("method", "path"), STAFF_VIEWS)
@pytest.mark.parametrize("who", ["anonymous", "volunteer", "partner", "clerk"])
def test_only_admins_reach_the_staff_pages(
    client: FlaskClient, ctx: None, method: str, path: str, who: str
) -> None:
    """Anonymous visitors are sent to sign in; a clerk, partner or volunteer gets 403."""
    office = make_office()
    member = make_user(UserRole.CLERK, office)
    if who != "anonymous":
        sign_in(client, make_user(UserRole(who), office))
    response = _request(client, method, path.format(id=member.id))
    if who == "anonymous":
        assert response.status_code in (302, 400)
        if response.status_code == 302:
            assert "/anmelden" in response.headers["Location"]
    else:
        assert response.status_code == 403
    assert reload(member).active and reload(member).role == UserRole.CLERK
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


@pytest.mark.parametrize(("method", "path"), [v for v in STAFF_VIEWS if "{id}" in v[1]])
def test_another_office_staff_member_does_not_exist(
    client: FlaskClient, ctx: None, method: str, path: str
) -> None:
    """An admin of office A gets 404 for office B's staff, and changes nothing."""
    signed_in_admin(client)
    member = make_user(UserRole.ADMIN, make_office())
    make_user(UserRole.ADMIN, member.office)
    assert _request(client, method, path.format(id=member.id)).status_code == 404
    member = reload(member)
    assert member.active and member.role == UserRole.ADMIN and member.totp_secret


def test_volunteer_and_partner_accounts_are_no_staff_member(client: FlaskClient, ctx: None) -> None:
    admin = signed_in_admin(client)
    partner = make_user(UserRole.PARTNER, admin.office)
    assert client.get(f"/verwaltung/mitarbeitende/{partner.id}").status_code == 404
    assert client.get("/verwaltung/mitarbeitende/999999999").status_code == 404


# --- inviting ---------------------------------------------------------------------------


def invite(client: FlaskClient, email: str, role: str = "clerk", name: str = "Clara Clerk") -> Any:
    return post(
        client,
        "/verwaltung/mitarbeitende/einladen",
        {"display_name": name, "email": email, "role": role},
        page="/verwaltung/mitarbeitende/",
    )


def test_invitation_creates_the_account_and_mails_a_hashed_link(
    client: FlaskClient, ctx: None
) -> None:
    admin = signed_in_admin(client)
    response = invite(client, "Clara@Example.org", role="admin")
    assert response.status_code == 302
    invited = db.session.scalar(select(User).where(User.email == "clara@example.org"))
    assert invited is not None
    assert invited.role == UserRole.ADMIN and invited.office_id == admin.office_id
    assert invited.password_hash is None and invited.totp_secret is None
    [mail] = mails_to("clara@example.org")
    assert "Einladung" in mail["subject"]
    token = link_in(mail, "/einladung/").rsplit("/", 1)[1]
    stored = db.session.scalar(select(OneTimeLink).where(OneTimeLink.user_id == invited.id))
    assert stored is not None and stored.purpose == LinkPurpose.INVITATION
    assert stored.token_hash == security.hash_token(token) != token
    assert audit_actions(invited) == [AuditAction.INVITE_STAFF]


@pytest.mark.parametrize(
    ("email", "name", "role"),
    [("not-an-address", "N", "clerk"), ("", "N", "clerk"), ("n@example.org", "", "clerk"),
     ("n@example.org", "N", "programme_admin"), ("n@example.org", "N", "volunteer")],
)  # fmt: skip
def test_bad_invitations_are_refused_at_the_field(
    client: FlaskClient, ctx: None, email: str, name: str, role: str
) -> None:
    signed_in_admin(client)
    response = invite(client, email, role=role, name=name)
    assert response.status_code == 400
    assert 'class="error"' in page_text(response)
    assert db.session.scalar(select(User).where(User.email == "n@example.org")) is None


def test_an_address_with_an_account_is_refused(client: FlaskClient, ctx: None) -> None:
    signed_in_admin(client)
    volunteer = make_user(UserRole.VOLUNTEER)
    response = invite(client, volunteer.email)
    assert response.status_code == 400
    assert "gibt es schon ein Konto" in page_text(response)
    assert reload(volunteer).role == UserRole.VOLUNTEER


def test_invited_clerk_sets_password_enrols_and_sees_only_her_office(
    make_client, ctx: None
) -> None:  # type: ignore[no-untyped-def]
    admin_client = make_client()
    admin = signed_in_admin(admin_client)
    assert admin.office is not None
    own = make_application(admin.office)
    foreign = make_application(make_office())
    invite(admin_client, "clara@example.org")
    path = link_in(mails_to("clara@example.org")[0], "/einladung/")

    clerk_client = make_client()
    assert "Passwort" in page_text(clerk_client.get(path)), "the GET shows the form only"
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post(clerk_client, path, data, page=path).status_code == 302
    assert post(make_client(), path, data, page=path).status_code == 410, "used once"

    response = password_step(clerk_client, "clara@example.org", NEW_PASSWORD)
    assert response.headers["Location"] == "/anmelden/authenticator-einrichten"
    page = page_text(clerk_client.get("/anmelden/authenticator-einrichten"))
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    enrolled = post(
        clerk_client,
        "/anmelden/authenticator-einrichten",
        {"code": pyotp.TOTP(secret).now()},
        page="/anmelden/authenticator-einrichten",
    )
    assert len(re.findall(r"<li><code>", page_text(enrolled))) == 10
    assert is_signed_in_as_staff(clerk_client)
    assert own.public_id in page_text(clerk_client.get("/verwaltung/"))
    assert clerk_client.get(f"/verwaltung/antrag/{own.public_id}").status_code == 200
    assert clerk_client.get(f"/verwaltung/antrag/{foreign.public_id}").status_code == 404
    assert clerk_client.get("/verwaltung/mitarbeitende/").status_code == 403
    clerk = db.session.scalar(select(User).where(User.email == "clara@example.org"))
    assert clerk is not None and clerk.last_sign_in_at is not None
    assert recovery_codes.unused_count(clerk) == 10


# --- changes ----------------------------------------------------------------------------


def act(client: FlaskClient, member: User, action: str, **data: str) -> Any:
    return post(
        client,
        f"/verwaltung/mitarbeitende/{member.id}/{action}",
        data,
        page=f"/verwaltung/mitarbeitende/{member.id}",
    )


def test_role_change_is_audited_and_mailed(client: FlaskClient, ctx: None) -> None:
    admin = signed_in_admin(client)
    clerk = make_user(UserRole.CLERK, admin.office)
    assert act(client, clerk, "rolle", role="admin").status_code == 302
    assert reload(clerk).role == UserRole.ADMIN
    assert act(client, clerk, "rolle", role="clerk").status_code == 302
    assert reload(clerk).role == UserRole.CLERK
    assert audit_actions(clerk) == [AuditAction.CHANGE_ROLE, AuditAction.CHANGE_ROLE]
    texts = [m["text"] for m in mails_to(clerk.email)]
    assert "Administration" in texts[0] and "Sachbearbeitung" in texts[1]
    assert act(client, clerk, "rolle", role="programme_admin").status_code == 400
    assert reload(clerk).role == UserRole.CLERK


def test_deactivation_ends_sessions_and_reactivation_allows_sign_in(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    admin_client, clerk_client = make_client(), make_client()
    admin = signed_in_admin(admin_client)
    clerk = make_user(UserRole.CLERK, admin.office)
    sign_in(clerk_client, clerk)
    assert is_signed_in_as_staff(clerk_client)
    assert act(admin_client, clerk, "deaktivieren").status_code == 302
    assert not is_signed_in_as_staff(clerk_client), "her session ended"
    assert password_step(make_client(), clerk.email).status_code == 200, "cannot sign in"
    assert "aktivieren" in page_text(admin_client.get(f"/verwaltung/mitarbeitende/{clerk.id}"))
    assert act(admin_client, clerk, "reaktivieren").status_code == 302
    sign_in(make_client(), reload(clerk))
    assert audit_actions(clerk) == [AuditAction.DEACTIVATE, AuditAction.REACTIVATE]
    subjects = [m["text"] for m in mails_to(clerk.email)]
    assert "deaktiviert" in subjects[0] and "wieder freigeschaltet" in subjects[1]


def test_reset_second_factor_forces_enrolment(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    admin_client, clerk_client = make_client(), make_client()
    admin = signed_in_admin(admin_client)
    clerk = make_user(UserRole.CLERK, admin.office)
    recovery_codes.replace_codes(clerk)
    db.session.commit()
    sign_in(clerk_client, clerk)
    assert act(admin_client, clerk, "zweiter-faktor").status_code == 302
    assert not is_signed_in_as_staff(clerk_client), "her session ended"
    clerk = reload(clerk)
    assert clerk.totp_secret is None and recovery_codes.unused_count(clerk) == 0
    response = password_step(make_client(), clerk.email)
    assert response.headers["Location"] == "/anmelden/authenticator-einrichten"
    assert audit_actions(clerk) == [AuditAction.RESET_SECOND_FACTOR]
    assert "zweiter Faktor wurde zurückgesetzt" in mails_to(clerk.email)[0]["text"]


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    client: FlaskClient, ctx: None
) -> None:
    """Acting through the programme admin (the office's only other admin-capable user)."""
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    make_user(UserRole.ADMIN, office).active = False  # an inactive admin does not count
    db.session.commit()
    sign_in(client, make_user(UserRole.PROGRAMME_ADMIN, office))
    for action, data in (("deaktivieren", {}), ("rolle", {"role": "clerk"})):
        response = act(client, admin, action, **data)
        assert response.status_code == 409
        assert "letzte aktive Administration" in page_text(response)
    admin = reload(admin)
    assert admin.active and admin.role == UserRole.ADMIN
    assert audit_actions(admin) == [] and mails_to(admin.email) == []
    # With a second admin, the first can go.
    make_user(UserRole.ADMIN, office)
    assert act(client, admin, "deaktivieren").status_code == 302


def test_an_admin_cannot_change_their_own_account(client: FlaskClient, ctx: None) -> None:
    admin = signed_in_admin(client)
    make_user(UserRole.ADMIN, admin.office)
    page = page_text(client.get(f"/verwaltung/mitarbeitende/{admin.id}"))
    assert "zweiter-faktor" not in page and "Ihr eigenes Konto" in page
    for action, data in (
        ("deaktivieren", {}),
        ("rolle", {"role": "clerk"}),
        ("zweiter-faktor", {}),
    ):
        response = act(client, admin, action, **data)
        assert response.status_code == 409
        assert "Ihr eigenes Konto" in page_text(response)
    admin = reload(admin)
    assert admin.active and admin.role == UserRole.ADMIN and admin.totp_secret


def test_staff_actions_need_the_csrf_token(client: FlaskClient, ctx: None) -> None:
    admin = signed_in_admin(client)
    clerk = make_user(UserRole.CLERK, admin.office)
    response = client.post(f"/verwaltung/mitarbeitende/{clerk.id}/deaktivieren")
    assert response.status_code == 400
    assert reload(clerk).active


def test_password_of_the_invited_is_checked_at_the_field(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    admin_client = make_client()
    signed_in_admin(admin_client)
    invite(admin_client, "clara@example.org")
    path = link_in(mails_to("clara@example.org")[0], "/einladung/")
    client = make_client()
    short = post(client, path, {"password": "short", "confirm": "short"}, page=path)
    assert short.status_code == 400 and "Mindestens 10 Zeichen" in page_text(short)
    other = post(client, path, {"password": PASSWORD, "confirm": PASSWORD + "x"}, page=path)
    assert other.status_code == 400 and "stimmen nicht überein" in page_text(other)
    assert (
        post(client, path, {"password": PASSWORD, "confirm": PASSWORD}, page=path).status_code
        == 302
    )


def test_two_admins_removing_each_other_at_once_leave_one(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    """Both pages were loaded while each was still an admin; the office row lock serves
    the two deactivations one after the other, and the second is refused."""
    office = make_office()
    first, second = make_user(UserRole.ADMIN, office), make_user(UserRole.ADMIN, office)
    statuses = deactivate_each_other_at_once(
        make_client, first, second, "/verwaltung/mitarbeitende"
    )
    db.session.rollback()
    active = [u for u in (reload(first), reload(second)) if u.active]
    assert len(active) == 1, statuses
    # The loser is either refused as the last admin or was already signed out (302 to
    # the sign-in page) by the winner's deactivation.
    assert 302 in statuses
