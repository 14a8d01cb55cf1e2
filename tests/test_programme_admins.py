"""The programme's administrators, run in the browser by one another: invite (the link
sets a password, TOTP at the first sign-in), deactivate with the last-admin protection,
reactivate, reset the second factor; audited in the programme's log, mailed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.accounts import programme_admins, staff
from ehrenamt.core.audit import AuditAction
from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, User, UserRole
from tests.factories import make_office, make_user
from tests.helpers import deactivate_each_other_at_once, page_text, post, sign_in
from tests.test_auth import password_step
from tests.test_staff import (
    NEW_PASSWORD,
    audit_actions,
    link_in,
    mails_to,
    reload,
)
from tests.test_staff_invitation import age_invitation_links

INDEX = "/programm/administration/"


def _admin(office: bool = True) -> User:
    return make_user(UserRole.PROGRAMME_ADMIN, make_office() if office else None)


def _act(client: FlaskClient, member: User, action: str) -> Any:
    path = f"/programm/administration/{member.id}"
    return post(client, f"{path}/{action}", page=path)


def _invite(client: FlaskClient, email: str, name: str = "Petra Programm") -> Any:
    return post(
        client,
        "/programm/administration/einladen",
        {"email": email, "display_name": name},
        page=INDEX,
    )


def test_an_invited_programme_admin_sets_a_password_and_enrols(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    inviter = _admin()
    client = make_client()
    sign_in(client, inviter)
    assert _invite(client, "Petra@Example.org").status_code == 302
    petra = db.session.scalar(select(User).where(User.email == "petra@example.org"))
    assert petra is not None and petra.role == UserRole.PROGRAMME_ADMIN
    assert petra.office_id is None and petra.password_hash is None
    [mail] = mails_to("petra@example.org")
    assert "Programmadministration" in mail["text"]
    path = link_in(mail, "/einladung/")
    new_client = make_client()
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post(new_client, path, data, page=path).status_code == 302
    response = password_step(new_client, "petra@example.org", NEW_PASSWORD)
    assert response.headers["Location"] == "/anmelden/authenticator-einrichten"
    assert audit_actions(petra) == [AuditAction.INVITE_STAFF]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.subject_id == petra.id))
    assert entry is not None and entry.office_id is None and entry.actor_id == inviter.id
    # The programme's log shows the row (it belongs to no office), linked to her page.
    text = page_text(client.get("/programm/protokoll"))
    assert f'href="/programm/administration/{petra.id}"' in text
    assert "petra@example.org" in page_text(client.get(INDEX))


@pytest.mark.parametrize(
    ("email", "name"), [("not-an-address", "N"), ("", "N"), ("n@example.org", "")]
)
def test_bad_invitations_are_told_at_the_field(
    client: FlaskClient, ctx: None, email: str, name: str
) -> None:
    sign_in(client, _admin())
    response = _invite(client, email, name)
    assert response.status_code == 400
    assert 'class="error"' in page_text(response)
    assert db.session.scalar(select(User).where(User.email == "n@example.org")) is None


def test_an_address_with_an_account_is_refused(client: FlaskClient, ctx: None) -> None:
    sign_in(client, _admin())
    clerk = make_user(UserRole.CLERK, make_office())
    response = _invite(client, clerk.email or "")
    assert response.status_code == 400 and "gibt es schon ein Konto" in page_text(response)
    assert reload(clerk).role == UserRole.CLERK


def _only_these_active(*admins: User) -> None:
    """Every other programme admin of the database inactive (tests share it)."""
    db.session.execute(
        User.__table__.update()
        .where(
            User.role == UserRole.PROGRAMME_ADMIN,
            User.id.not_in([admin.id for admin in admins]),
        )
        .values(active=False)
    )
    db.session.commit()


def test_deactivation_is_audited_mailed_and_not_of_herself(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    first, second = _admin(), _admin()
    client = make_client()
    sign_in(client, first)
    own = _act(client, first, "deaktivieren")
    assert own.status_code == 409 and "eigenes Konto" in page_text(own)
    assert reload(first).active
    assert _act(client, second, "deaktivieren").status_code == 302
    assert not reload(second).active
    assert AuditAction.DEACTIVATE in audit_actions(second)
    assert any("deaktiviert" in mail["text"] for mail in mails_to(second.email or ""))
    assert client.get("/programm/uebersicht").status_code == 200


def test_the_last_active_programme_admin_cannot_be_deactivated(ctx: None) -> None:
    """The acting one was deactivated a moment ago (another tab, the CLI): the other is
    the last active one and stays."""
    acting, last = _admin(), _admin()
    _only_these_active(last)
    with pytest.raises(staff.LastAdmin):
        programme_admins.deactivate(reload(acting), last)
    assert reload(last).active
    assert AuditAction.DEACTIVATE not in audit_actions(last)


def test_two_removing_each_other_at_once_leave_one(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    first, second = _admin(), _admin()
    _only_these_active(first, second)
    statuses = deactivate_each_other_at_once(make_client, first, second, "/programm/administration")
    active = [admin for admin in (reload(first), reload(second)) if admin.active]
    assert len(active) == 1, statuses


def test_reactivate_and_reset_second_factor(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    first, second = _admin(), _admin()
    client = make_client()
    sign_in(client, first)
    assert _act(client, second, "deaktivieren").status_code == 302
    assert _act(client, second, "reaktivieren").status_code == 302
    assert reload(second).active
    assert _act(client, second, "zweiter-faktor").status_code == 302
    assert reload(second).totp_secret is None
    response = password_step(make_client(), second.email or "", "correct horse battery staple")
    assert response.headers["Location"] == "/anmelden/authenticator-einrichten"
    assert audit_actions(second)[-3:] == [
        AuditAction.DEACTIVATE,
        AuditAction.REACTIVATE,
        AuditAction.RESET_SECOND_FACTOR,
    ]


VIEWS = [
    ("get", INDEX),
    ("get", "/programm/administration/{id}"),
    ("post", "/programm/administration/einladen"),
    ("post", "/programm/administration/{id}/deaktivieren"),
    ("post", "/programm/administration/{id}/reaktivieren"),
    ("post", "/programm/administration/{id}/zweiter-faktor"),
    ("post", "/programm/administration/{id}/einladung"),
]


@pytest.mark.parametrize(("method", "path"), VIEWS)
@pytest.mark.parametrize("who", ["anonymous", "volunteer", "partner", "clerk", "admin"])
def test_only_programme_admins_reach_the_page(
    client: FlaskClient, ctx: None, method: str, path: str, who: str
) -> None:
    member = _admin()
    if who != "anonymous":
        sign_in(client, make_user(UserRole(who), make_office()))
    path = path.format(id=member.id)
    data = {"email": "x@example.org", "display_name": "X"}
    response = client.get(path) if method == "get" else post(client, path, data, page="/")
    if who == "anonymous":
        assert response.headers["Location"].startswith("/anmelden")
    else:
        assert response.status_code == 403
    assert reload(member).active and reload(member).totp_secret is not None
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_an_office_staff_member_is_no_programme_admin_here(client: FlaskClient, ctx: None) -> None:
    sign_in(client, _admin())
    admin = make_user(UserRole.ADMIN, make_office())
    assert client.get(f"/programm/administration/{admin.id}").status_code == 404
    assert _act(client, admin, "deaktivieren").status_code == 404
    assert reload(admin).active


def test_the_buttons_need_the_csrf_token(client: FlaskClient, ctx: None) -> None:
    sign_in(client, _admin())
    other = _admin()
    response = client.post(f"/programm/administration/{other.id}/deaktivieren")
    assert response.status_code == 400
    assert reload(other).active


def test_an_invitation_is_sent_again_and_the_old_link_dies(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    sign_in(client, _admin())
    assert _invite(client, "petra@example.org").status_code == 302
    petra = db.session.scalar(select(User).where(User.email == "petra@example.org"))
    assert petra is not None
    old = link_in(mails_to("petra@example.org")[0], "/einladung/")
    too_soon = _act(client, petra, "einladung")
    assert too_soon.status_code == 409 and "weniger als 10 Minuten" in page_text(too_soon)
    age_invitation_links(petra, timedelta(days=1))
    assert _act(client, petra, "einladung").status_code == 302
    new = link_in(mails_to("petra@example.org")[1], "/einladung/")
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post(make_client(), old, data, page=old).status_code == 410
    assert post(make_client(), new, data, page=new).status_code == 302
    assert audit_actions(petra) == [AuditAction.INVITE_STAFF, AuditAction.RESEND_INVITATION]
    assert "Einladung erneut senden" not in page_text(
        client.get(f"/programm/administration/{petra.id}")
    )
