"""A registering partner's e-mail address is confirmed by link before the directory lists
it (issue #14): used and expired links, staff's view, asking again, retention."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    LinkPurpose,
    OneTimeLink,
    Partner,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.partners import registration as partners_registration
from ehrenamt.privacy.retention import apply_retention
from ehrenamt.workflow import Actor
from tests.factories import make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.test_partner_form import (
    PROFILE,
    confirmation_paths,
    profile_data,
    registered_partner,
)
from tests.test_partners import make_partner


def _approve(partner: Partner) -> None:
    staff = make_user(UserRole.CLERK, partner.office)
    partners_registration.approve_partner(partner, Acting.user_as(staff, Actor.CLERK))


def _listed_names(client: FlaskClient) -> str:
    return page_text(client.get("/verguenstigungen/"))


def test_an_unconfirmed_partner_is_not_listed_until_the_link_is_used(
    client: FlaskClient, ctx: None
) -> None:
    partner = registered_partner(client)
    _approve(partner)
    db.session.refresh(partner)
    assert partner.email_confirmed_at is None
    assert not any(b.published for b in partner.benefits)
    assert "Kino am Markt" not in _listed_names(client)

    [path] = confirmation_paths("kino@example.org")
    page = page_text(client.get(path))
    assert "Weiter" in page  # a mail scanner's GET uses nothing up
    response = post(client, path, {}, page=path)
    assert response.status_code == 302
    assert "bestätigt" in page_text(client.get(response.headers["Location"]))

    db.session.refresh(partner)
    assert partner.email_confirmed_at is not None
    assert all(b.published for b in partner.benefits)
    assert "Kino am Markt" in _listed_names(client)


def test_a_confirmed_partner_waits_for_the_office_to_approve(
    client: FlaskClient, ctx: None
) -> None:
    partner = registered_partner(client)
    [path] = confirmation_paths("kino@example.org")
    assert post(client, path, {}, page=path).status_code == 302
    db.session.refresh(partner)
    assert partner.email_confirmed_at is not None
    assert "Kino am Markt" not in _listed_names(client)
    _approve(partner)
    assert "Kino am Markt" in _listed_names(client)


def test_a_link_used_twice_says_so(client: FlaskClient, ctx: None) -> None:
    registered_partner(client)
    [path] = confirmation_paths("kino@example.org")
    assert post(client, path, {}, page=path).status_code == 302
    again = post(client, path, {}, page=path)
    assert again.status_code == 410
    assert "Dieser Link wurde bereits verwendet." in page_text(again)


def test_an_expired_link_says_so(client: FlaskClient, ctx: None) -> None:
    partner = registered_partner(client)
    [path] = confirmation_paths("kino@example.org")
    for link in db.session.scalars(select(OneTimeLink)):
        link.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = post(client, path, {}, page=path)
    assert response.status_code == 410
    html = page_text(response)
    assert "Dieser Link ist abgelaufen." in html and "neuen Link anfordern" in html
    db.session.refresh(partner)
    assert partner.email_confirmed_at is None


def test_an_unknown_link_is_not_found(client: FlaskClient, ctx: None) -> None:
    path = "/akzeptanzstelle/email-bestaetigen/" + "x" * 43
    response = post(client, path, {}, page=path)
    assert response.status_code == 404
    assert "Dieser Link ist ungültig." in page_text(response)


def test_staff_see_that_the_address_is_not_confirmed(client: FlaskClient, ctx: None) -> None:
    partner = registered_partner(client)
    staff = make_user(UserRole.CLERK, partner.office)
    sign_in(client, staff)
    listed = page_text(client.get("/verwaltung/partner/"))
    assert "E-Mail-Adresse nicht bestätigt" in listed
    detail = page_text(client.get(f"/verwaltung/partner/{partner.public_id}"))
    assert "E-Mail nicht bestätigt" in detail
    # Staff may approve anyway: the listing then waits for the link.
    approve = post(
        client,
        f"/verwaltung/partner/{partner.public_id}/bestaetigen",
        {},
        page=f"/verwaltung/partner/{partner.public_id}",
    )
    assert approve.status_code == 302
    db.session.refresh(partner)
    assert partner.state.value == "approved" and not partner.benefits[0].published


def test_a_partner_can_ask_for_a_new_link_a_few_times(client: FlaskClient, ctx: None) -> None:
    partner = registered_partner(client)
    user = db.session.scalar(select(User).where(User.email == "kino@example.org"))
    assert user is not None
    sign_in(client, user)
    status = page_text(client.get("/partner/"))
    assert "Bestätigungslink erneut senden" in status
    for _ in range(3):
        response = post(client, "/partner/email-bestaetigung", {}, page="/partner/")
        assert response.status_code == 302
    assert len(confirmation_paths("kino@example.org")) == 4  # registration + 3
    refused = post(client, "/partner/email-bestaetigung", {}, page="/partner/")
    assert refused.status_code == 429
    assert len(confirmation_paths("kino@example.org")) == 4
    # Each new link works; the partner is then confirmed and asks in vain.
    path = confirmation_paths("kino@example.org")[-1]
    assert post(client, path, {}, page=path).status_code == 302
    db.session.refresh(partner)
    assert partner.email_confirmed_at is not None


def test_resending_needs_the_csrf_token(client: FlaskClient, ctx: None) -> None:
    registered_partner(client)
    user = db.session.scalar(select(User).where(User.email == "kino@example.org"))
    assert user is not None
    sign_in(client, user)
    assert client.post("/partner/email-bestaetigung").status_code == 400


def test_confirmation_links_are_deleted_once_expired(client: FlaskClient, ctx: None) -> None:
    registered_partner(client)
    purposes = select(OneTimeLink.purpose)
    assert list(db.session.scalars(purposes)) == [LinkPurpose.PARTNER_EMAIL]
    apply_retention(utcnow() + timedelta(days=8))
    assert list(db.session.scalars(purposes)) == []


def test_a_new_contact_address_is_confirmed_before_the_partner_is_listed_again(
    client: FlaskClient, make_client: object, ctx: None
) -> None:
    """The link proves a mailbox: a partner that gives another address is unlisted until
    that one is proven, and a link mailed to the old address no longer proves anything."""
    partner, user = make_partner(make_office(), name="Kino am Markt", confirm_email=False)
    old_address = partner.email
    [old_link] = confirmation_paths(old_address)
    post(make_client(), old_link, {}, page=old_link)  # type: ignore[operator]
    partner.email_confirmed_at = None  # as if the link still lay unused in the old mailbox
    db.session.commit()
    fresh = partners_registration.email_confirmation.confirmation_link(user)
    db.session.commit()
    sign_in(client, user)
    data = profile_data(partner, email="Neu@Kino.example.org")
    response = post(client, PROFILE, data, page=PROFILE)
    assert response.status_code == 302
    assert "neue E-Mail-Adresse" in page_text(client.get(response.headers["Location"]))
    db.session.refresh(partner)
    assert partner.email == "neu@kino.example.org" and partner.email_confirmed_at is None
    assert "Kino am Markt" not in _listed_names(client)
    # The link that went to the old address is dead (410), the new one lists the partner.
    dead = fresh.split("://", 1)[1].split("/", 1)[1]
    assert post(client, f"/{dead}", {}, page=f"/{dead}").status_code == 410
    [new_link] = confirmation_paths("neu@kino.example.org")
    assert post(client, new_link, {}, page=new_link).status_code == 302
    assert "Kino am Markt" in _listed_names(client)


def test_saving_the_profile_with_the_same_address_keeps_it_confirmed(
    client: FlaskClient, ctx: None
) -> None:
    partner, user = make_partner(make_office(), name="Kino am Markt")
    registration_links = confirmation_paths(partner.email)
    sign_in(client, user)
    data = profile_data(partner, email=partner.email.upper(), phone="0340 123")
    assert post(client, PROFILE, data, page=PROFILE).status_code == 302
    db.session.refresh(partner)
    assert partner.email_confirmed_at is not None and partner.phone == "0340 123"
    assert "Kino am Markt" in _listed_names(client)
    assert confirmation_paths(partner.email) == registration_links  # no new link
