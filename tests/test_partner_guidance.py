"""Partners learn how to check cards (issue #14, the cashier): the approval mail and the
partner's start page explain the three ways and the answers; the API-key page is linked
from the partner area; the home page has an entry for businesses."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.factories import make_office
from tests.helpers import page_text, sign_in
from tests.mailbox import Mailbox, html_of, links_in, path_of, text_of
from tests.test_partners import make_partner

WAYS = ("Mit der Kamera:", "Mit der Kartennummer:", "Mit Ihrem Kassensystem:")
ANSWERS = ("gültig", "abgelaufen", "gesperrt", "unbekannt", "nicht echt", "Tippfehler?")


@pytest.mark.worker
def test_approval_mail_explains_how_to_check(ctx: None, mailbox: Mailbox) -> None:
    make_partner(make_office(), email="laden-guidance@example.org")

    [mail] = mailbox.wait_for(to="laden-guidance@example.org", subject="bestätigt")

    for part in (text_of(mail), html_of(mail)):
        for words in (*WAYS, *ANSWERS, "Was die Antworten bedeuten"):
            assert words in part, words
    paths = {path_of(link) for link in links_in(mail)}
    assert {"/pruefen/", "/partner/api-schluessel/"} <= paths


def test_partner_start_page_explains_and_links_the_key_page(client: FlaskClient, ctx: None) -> None:
    _partner, user = make_partner(make_office())
    sign_in(client, user)

    html = page_text(client.get("/partner/"))

    for words in (*WAYS, *ANSWERS):
        assert words in html, words
    assert 'href="/partner/api-schluessel/"' in html
    assert 'href="/pruefen/"' in html
    assert client.get("/partner/api-schluessel/").status_code == 200


def test_home_page_has_an_entry_for_businesses(client: FlaskClient, ctx: None) -> None:
    make_office()
    html = page_text(client.get("/"))
    assert "Für Akzeptanzstellen" in html
    assert 'href="/akzeptanzstelle/registrieren"' in html
    english = page_text(client.get("/", headers={"Accept-Language": "en"}))
    assert "For businesses" in english
