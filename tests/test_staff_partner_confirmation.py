"""Staff find the partners the directory leaves out because their contact address is not
confirmed, read per row why a partner is not listed, and mail a partner a new link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, LinkPurpose, OneTimeLink, Partner, UserRole, utcnow
from ehrenamt.partners import registration as partners_registration
from ehrenamt.workflow import Actor
from tests.factories import make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.mailbox import Mailbox, links_in, path_of
from tests.test_partners import make_partner
from tests.test_staff_invitation import age_invitation_links

LIST = "/verwaltung/partner/"
SUBJECT = "Bitte bestätigen Sie die E-Mail-Adresse Ihrer Akzeptanzstelle"


def _detail(partner: Partner) -> str:
    return f"{LIST}{partner.public_id}"


def _resend(client: FlaskClient, partner: Partner, page: str | None = None) -> TestResponse:
    """The button on the partner's page (``page``: where the CSRF token is read)."""
    return post(client, f"{_detail(partner)}/bestaetigungslink", page=page or _detail(partner))


def _resends(partner: Partner) -> list[AuditEntry]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.subject_type == "partner",
                AuditEntry.subject_id == partner.id,
                AuditEntry.action == "resend_confirmation",
            )
        )
    )


def test_the_filter_lists_only_the_office_s_partners_with_an_unconfirmed_address(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    make_partner(office, name="Stadtbad")
    make_partner(office, name="Ohne Link", confirm_email=False)
    make_partner(office, name="Wartet", approve=False, confirm_email=False)
    make_partner(make_office(), name="Nachbarstadt", confirm_email=False)
    sign_in(client, make_user(UserRole.CLERK, office))

    found = page_text(client.get(f"{LIST}?state=&unconfirmed=y"))

    assert "Ohne Link" in found and "Wartet" in found
    assert "Stadtbad" not in found
    assert "Nachbarstadt" not in found
    # Each row says why the directory leaves the partner out.
    assert "Nicht im Verzeichnis: E-Mail-Adresse nicht bestätigt" in found
    assert (
        "Nicht im Verzeichnis: Registrierung noch nicht entschieden; "
        "E-Mail-Adresse nicht bestätigt" in found
    )
    everything = page_text(client.get(f"{LIST}?state="))
    assert "Stadtbad" in everything and "Im Verzeichnis" in everything


def test_the_filter_is_paged_in_the_database_and_kept_by_the_pager(
    app: Flask, client: FlaskClient, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 1)
    office = make_office()
    make_partner(office, name="Erster", confirm_email=False)
    make_partner(office, name="Dazwischen")
    make_partner(office, name="Zweiter", confirm_email=False)
    sign_in(client, make_user(UserRole.CLERK, office))

    first = page_text(client.get(f"{LIST}?state=approved&unconfirmed=y"))
    assert "Erster" in first and "Zweiter" not in first
    assert "unconfirmed=y" in first and "page=2" in first  # the pager keeps the filter

    second = page_text(client.get(f"{LIST}?state=approved&unconfirmed=y&page=2"))
    assert "Zweiter" in second and "Dazwischen" not in second and "Erster" not in second


@pytest.mark.worker
def test_staff_mail_a_new_link_and_the_old_one_still_works(
    client: FlaskClient, make_client: Callable[[], FlaskClient], ctx: None, mailbox: Mailbox
) -> None:
    office = make_office()
    partner, user = make_partner(office, confirm_email=False)
    age_invitation_links(user, timedelta(hours=1))
    [old_link] = db.session.scalars(select(OneTimeLink).where(OneTimeLink.user_id == user.id))
    clerk = make_user(UserRole.CLERK, office)
    sign_in(client, clerk)
    assert "Bestätigungslink erneut senden" in page_text(client.get(_detail(partner)))

    response = _resend(client, partner)

    assert response.status_code == 302
    assert response.headers["Location"] == _detail(partner)
    [entry] = _resends(partner)
    assert entry.actor_id == clerk.id and entry.reason == partner.email
    # Same address, so the link mailed first still proves it (only a new address ends it).
    db.session.refresh(old_link)
    assert old_link.used_at is None and old_link.expires_at > utcnow()
    [mail] = mailbox.wait_for(to=partner.email, subject=SUBJECT)
    [link] = [url for url in links_in(mail) if "/akzeptanzstelle/email-bestaetigen/" in url]
    partner_browser = make_client()
    assert post(partner_browser, path_of(link), page=path_of(link)).status_code == 302
    db.session.refresh(partner)
    assert partner.email_confirmed_at is not None
    assert "Bestätigungslink erneut senden" not in page_text(client.get(_detail(partner)))


def test_a_second_click_within_minutes_sends_nothing(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, user = make_partner(office, confirm_email=False)
    sign_in(client, make_user(UserRole.CLERK, office))

    # The registration's link went out just now: the office waits too.
    refused = _resend(client, partner)
    assert refused.status_code == 409
    assert "vor weniger als 10 Minuten" in page_text(refused)

    age_invitation_links(user, timedelta(hours=1))
    assert _resend(client, partner).status_code == 302
    assert _resend(client, partner).status_code == 409
    assert len(_resends(partner)) == 1
    links = db.session.scalars(
        select(OneTimeLink).where(
            OneTimeLink.user_id == user.id, OneTimeLink.purpose == LinkPurpose.PARTNER_EMAIL
        )
    ).all()
    assert len(links) == 2


def test_a_confirmed_address_gets_no_new_link(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, _user = make_partner(office)
    sign_in(client, make_user(UserRole.CLERK, office))
    assert "Bestätigungslink erneut senden" not in page_text(client.get(_detail(partner)))

    refused = _resend(client, partner)

    assert refused.status_code == 409
    assert "bereits bestätigt" in page_text(refused)
    assert _resends(partner) == []


def test_another_office_s_partner_is_not_found(client: FlaskClient, ctx: None) -> None:
    partner, user = make_partner(make_office(), confirm_email=False)
    age_invitation_links(user, timedelta(hours=1))
    sign_in(client, make_user(UserRole.CLERK, make_office()))

    assert client.get(_detail(partner)).status_code == 404
    assert _resend(client, partner, page=LIST).status_code == 404
    assert _resends(partner) == []


def test_a_declined_partner_gets_no_new_link(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, user = make_partner(office, approve=False, confirm_email=False)
    clerk = make_user(UserRole.CLERK, office)
    partners_registration.decline_partner(partner, Acting.user_as(clerk, Actor.CLERK), "Nein.")
    age_invitation_links(user, timedelta(hours=1))
    sign_in(client, clerk)
    detail = page_text(client.get(_detail(partner)))
    assert "Registrierung abgelehnt" in detail
    assert "Bestätigungslink erneut senden" not in detail

    refused = _resend(client, partner)

    assert refused.status_code == 409
    assert _resends(partner) == []
