"""The staff card register: search, filters, paging, the actions on a card, bulk issuing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from ehrenamt.cardformat import card_numbers
from ehrenamt.cards import batches, lifecycle
from ehrenamt.cards import production as cards_production
from ehrenamt.cards import register as cards_register
from ehrenamt.cards import validity as cards_validity
from ehrenamt.cards.production import Produced
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    CardBatch,
    CardState,
    CardType,
    DocumentKind,
    Office,
    RevocationReason,
    User,
    UserRole,
)
from ehrenamt.verification import check as verification_check
from ehrenamt.verification.results import CheckStatus
from ehrenamt.workflow import Actor, ApplicationState
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.harness import wait_for_card, wait_until
from tests.helpers import page_text, post, sign_in
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
)
from tests.test_cards import approve_without_worker, card_audit
from tests.test_i18n import german_words, visible_text

CARD_LINK = re.compile(r'href="/verwaltung/karten/([0-9a-f]{32})"')
VERSION_FIELD = re.compile(r'name="version"[^>]*value="(\d+)"')
CONFLICT_MESSAGE = "Die Karte wurde inzwischen geändert"
REGISTER = "/verwaltung/karten/"


# --- helpers --------------------------------------------------------------------------------


def _volunteer() -> User:
    """An applicant without a password (hashing one costs time and is not needed here)."""
    return make_user(UserRole.VOLUNTEER, password=None)


def issuing_card(office: Office, applicant: User | None = None, **application: Any) -> Card:
    """A card of an approved application that no worker has made yet."""
    return approve_without_worker(
        make_application(office, applicant or _volunteer(), **application)
    )


def active_card(office: Office, applicant: User | None = None, **application: Any) -> Card:
    """A card made in this thread (not by the worker), so its state is known at once."""
    card = issuing_card(office, applicant, **application)
    assert cards_production.produce(card.id) == Produced.MADE
    return fresh(card)


def fresh(card: Card) -> Card:
    """The card as the database has it now (a request changed it in another session)."""
    db.session.rollback()
    reloaded = db.session.get(Card, card.id, populate_existing=True)
    assert reloaded is not None
    return reloaded


def listed(response: TestResponse) -> list[str]:
    """The public ids of the cards a register page links to, in order."""
    assert response.status_code == 200, page_text(response)[:500]
    return CARD_LINK.findall(page_text(response))


def detail_path(card: Card) -> str:
    return f"{REGISTER}{card.public_id}"


def version_on(client: FlaskClient, card: Card) -> str:
    """The version the detail page's forms carry, as a browser would send it."""
    versions = set(VERSION_FIELD.findall(page_text(client.get(detail_path(card)))))
    assert len(versions) == 1, versions
    return versions.pop()


def act(
    client: FlaskClient, card: Card, action: str, data: dict[str, str] | None = None
) -> TestResponse:
    """Send one of the detail page's action forms with the version the page shows."""
    path = detail_path(card)
    payload = {"version": version_on(client, card), **(data or {})}
    return post(client, f"{path}/{action}", payload, page=path)


def audit_rows(card: Card) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.subject_type == "card", AuditEntry.subject_id == card.id)
    )


@pytest.fixture
def office(ctx: None) -> Office:
    return make_office()


@pytest.fixture
def clerk_client(office: Office, client: FlaskClient) -> FlaskClient:
    """A clerk of ``office``, signed in with password and TOTP."""
    sign_in(client, make_user(UserRole.CLERK, office))
    return client


# --- search, filters, paging ----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        lambda n: n,
        lambda n: n.lower(),
        lambda n: card_numbers.format_card_number(n),
        lambda n: card_numbers.format_card_number(n).lower().replace("-", " "),
        lambda n: f"  {n[:4]} {n[4:8]}-{n[8:].lower()} ",
    ],
    ids=["canonical", "lower", "printed", "spaces-lower", "mixed"],
)
def test_search_by_number_as_typed_from_the_card(
    clerk_client: FlaskClient, office: Office, typed: Any
) -> None:
    """A card number in any spelling from the card finds exactly that card."""
    wanted = issuing_card(office)
    issuing_card(office)
    response = clerk_client.get(REGISTER, query_string={"q": typed(wanted.number)})
    assert listed(response) == [wanted.public_id]
    assert card_numbers.format_card_number(wanted.number) in page_text(response)


def test_part_of_a_number_is_no_match(clerk_client: FlaskClient, office: Office) -> None:
    """Only a whole, valid number searches numbers; anything else searches names."""
    card = issuing_card(office)
    assert listed(clerk_client.get(REGISTER, query_string={"q": card.number[:8]})) == []
    wrong_check = card.number[:-1] + ("A" if card.number[-1] != "A" else "B")
    assert listed(clerk_client.get(REGISTER, query_string={"q": wrong_check})) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anna", ["berg", "schmidt"]),
        ("ANNA SCHMIDT", ["schmidt"]),
        ("müller", ["mueller"]),
        ("MÜLL", ["mueller"]),
        ("rg", ["berg", "mueller"]),
        ("_", []),
        ("%", []),
        ("niemand", []),
    ],
)
def test_search_by_part_of_the_name(
    clerk_client: FlaskClient, office: Office, text: str, expected: list[str]
) -> None:
    """Any part of the name, ignoring case; wildcard characters are taken literally."""
    made = {
        "mueller": issuing_card(office, first_name="Jörg", last_name="Müller"),
        "berg": issuing_card(office, first_name="Anna", last_name="Berg"),
        "schmidt": issuing_card(office, first_name="Anna", last_name="Schmidt"),
    }
    response = clerk_client.get(REGISTER, query_string={"q": text})
    assert sorted(listed(response)) == sorted(made[key].public_id for key in expected)


def test_filters_by_state_type_and_expiry(clerk_client: FlaskClient, office: Office) -> None:
    """State, card type and "expires by" (a date or a preset) narrow the list in the DB."""
    today = cards_validity.today()
    made = {
        "issuing": issuing_card(office),
        "soon": issuing_card(office),
        "later": issuing_card(office),
        "expired": issuing_card(office),
        "revoked": issuing_card(office),
        "gold": issuing_card(office, card_type=CardType.LONG_SERVICE),
    }
    # Set up states and dates directly, as if the cards had got there over time.
    for key, state, valid_until in [
        ("soon", CardState.ACTIVE, today + timedelta(days=20)),
        ("later", CardState.ACTIVE, today + timedelta(days=200)),
        ("expired", CardState.EXPIRED, today - timedelta(days=3)),
        ("revoked", CardState.REVOKED, today + timedelta(days=300)),
        ("gold", CardState.ACTIVE, None),
    ]:
        made[key].state = state
        made[key].valid_until = valid_until
    made["issuing"].valid_until = today + timedelta(days=700)
    db.session.commit()

    def ids(**query: str) -> list[str]:
        return sorted(listed(clerk_client.get(REGISTER, query_string=query)))

    def of(*keys: str) -> list[str]:
        return sorted(made[key].public_id for key in keys)

    assert ids() == of(*made)
    assert ids(state="active") == of("soon", "later", "gold")
    assert ids(state="issuing") == of("issuing")
    assert ids(state="expired") == of("expired")
    assert ids(state="revoked") == of("revoked")
    assert ids(card_type="long_service") == of("gold")
    assert ids(card_type="standard", state="active") == of("soon", "later")
    assert ids(expires_within="30") == of("soon", "expired")
    assert ids(expires_within="30", state="active") == of("soon")
    assert ids(expires_within="365") == of("soon", "later", "expired", "revoked")
    by = (today + timedelta(days=200)).isoformat()
    assert ids(expires_by=by) == of("soon", "later", "expired")
    # The date wins over a preset; the soonest ending comes first.
    response = clerk_client.get(REGISTER, query_string={"expires_by": by, "expires_within": "30"})
    assert listed(response) == [made[k].public_id for k in ("expired", "soon", "later")]


def test_register_pages_in_the_database(
    app: Flask, clerk_client: FlaskClient, office: Office
) -> None:
    """PAGE_SIZE + 1 cards: two pages, newest first; the pager keeps the filters."""
    made = [issuing_card(office, first_name="Paula") for _ in range(4)]
    issuing_card(office, first_name="Otto")
    newest_first = [card.public_id for card in reversed(made)]
    page_size = app.config["PAGE_SIZE"]
    app.config["PAGE_SIZE"] = 3
    try:
        first = clerk_client.get(REGISTER, query_string={"q": "paula"})
        assert listed(first) == newest_first[:3]
        html = page_text(first)
        assert "Vorherige Seite" not in html
        match = re.search(r'rel="next" href="([^"]+)"', html)
        assert match, html
        link = match.group(1).replace("&amp;", "&")
        assert "q=paula" in link and "page=2" in link
        second = clerk_client.get(link)
        assert listed(second) == newest_first[3:]
        assert "Nächste Seite" not in page_text(second)
        assert "Vorherige Seite" in page_text(second)
        assert listed(clerk_client.get(REGISTER, query_string={"q": "paula", "page": "3"})) == []
    finally:
        app.config["PAGE_SIZE"] = page_size


@pytest.mark.parametrize(
    "query",
    [
        "state=bogus",
        "card_type=gold",
        "expires_within=7",
        "expires_by=31.02.2026",
        "expires_by=2026-02-31",
        "page=0",
        "page=abc",
        "page=99999999999999999999",
        "q=" + "x" * 500,
        "q=%00",
        "q=a%01b",
        "state=&page=&q=",
    ],
)
def test_bad_filter_values_are_no_error(
    clerk_client: FlaskClient, office: Office, query: str
) -> None:
    """Nonsense in the filters shows the first, unfiltered page, never a server error."""
    card = issuing_card(office)
    assert listed(clerk_client.get(f"{REGISTER}?{query}")) == [card.public_id]


def test_register_shows_only_the_own_office(clerk_client: FlaskClient, office: Office) -> None:
    """Another office's card is neither listed nor found by its number."""
    own = issuing_card(office)
    other = issuing_card(make_office())
    assert listed(clerk_client.get(REGISTER)) == [own.public_id]
    assert listed(clerk_client.get(REGISTER, query_string={"q": other.number})) == []


def test_register_row_shows_the_card(clerk_client: FlaskClient, office: Office) -> None:
    """Number as printed, name, type, state, end of validity and date of issue."""
    card = active_card(office, first_name="Zoë", last_name="Ağaoğlu")
    html = page_text(clerk_client.get(REGISTER))
    assert card_numbers.format_card_number(card.number) in html
    assert "Zoë Ağaoğlu" in html
    assert 'data-card-state="active"' in html and "gültig" in html
    assert card.valid_until is not None and card.valid_until.isoformat() in html
    assert card.issued_at is not None and card.issued_at.isoformat() in html


# --- who may see what -----------------------------------------------------------------------


ACTIONS = {
    "sperren": {"reason": "misuse"},
    "ersetzen": {"confirmed": "y"},
    "neu-ausstellen": {},
    "verlaengern": {"valid_until": "2099-01-01"},
}


def test_another_offices_card_is_404_everywhere(ctx: None, client: FlaskClient) -> None:
    """Detail, downloads and every action answer 404 for a card of another office."""
    card = active_card(make_office())
    sign_in(client, make_user(UserRole.CLERK, make_office()))
    path = detail_path(card)
    assert client.get(path).status_code == 404
    assert client.get(f"{path}/pdf").status_code == 404
    assert client.get(f"{path}/png").status_code == 404
    for action, data in ACTIONS.items():
        response = post(client, f"{path}/{action}", {"version": str(card.version), **data})
        assert response.status_code == 404, action
    after = fresh(card)
    assert (after.state, after.version, after.valid_until) == (
        CardState.ACTIVE,
        card.version,
        card.valid_until,
    )
    assert card_audit(card.id) == ["create", "issue"]


@pytest.mark.parametrize("role", ["anonymous", "volunteer", "partner"])
def test_only_staff_reach_the_register(ctx: None, client: FlaskClient, role: str) -> None:
    """Volunteers (even the holder) and partners get 403; anonymous visitors sign in first."""
    office = make_office()
    holder = make_user(UserRole.VOLUNTEER)
    card = active_card(office, holder)
    batch = batches.create_batch(office.id, Acting.system(), 1)
    user = {"anonymous": None, "volunteer": holder, "partner": make_user(UserRole.PARTNER, office)}[
        role
    ]
    if user is not None:
        sign_in(client, user)
    expected = 302 if role == "anonymous" else 403
    paths = [
        REGISTER,
        detail_path(card),
        f"{detail_path(card)}/pdf",
        f"{REGISTER}ausstellen",
        f"{REGISTER}stapel/{batch.public_id}",
        f"{REGISTER}stapel/{batch.public_id}.json",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == expected, path
        if role == "anonymous":
            assert response.headers["Location"].startswith("/anmelden")
    for action, data in ACTIONS.items():
        response = post(client, f"{detail_path(card)}/{action}", {"version": "1", **data})
        assert response.status_code == expected, action
    response = post(client, f"{REGISTER}ausstellen", {"selected": "x:1"})
    assert response.status_code == expected
    assert card_audit(card.id) == ["create", "issue"]


def test_actions_need_the_csrf_token(clerk_client: FlaskClient, office: Office) -> None:
    """A cross-site form cannot act on a card or start a bulk issuing."""
    card = active_card(office)
    application = make_application(office, _volunteer())
    for action, data in ACTIONS.items():
        response = clerk_client.post(
            f"{detail_path(card)}/{action}", data={"version": str(card.version), **data}
        )
        assert response.status_code == 400, action
    response = clerk_client.post(
        f"{REGISTER}ausstellen", data={"selected": f"{application.public_id}:1"}
    )
    assert response.status_code == 400
    assert card_audit(card.id) == ["create", "issue"]
    assert fresh(card).state == CardState.ACTIVE
    db.session.refresh(application)
    assert application.state == ApplicationState.IN_REVIEW
    assert db.session.scalar(select(func.count()).select_from(CardBatch)) == 0


# --- the detail page ------------------------------------------------------------------------


def test_detail_shows_the_card_its_application_and_downloads(
    clerk_client: FlaskClient, office: Office
) -> None:
    """Every field, the application link both ways, history, and the staff downloads."""
    card = active_card(office, first_name="Ida", last_name="Pfeiffer")
    html = page_text(clerk_client.get(detail_path(card)))
    assert card_numbers.format_card_number(card.number) in html
    assert "Ida Pfeiffer" in html and card.holder.email in html
    assert f'href="/verwaltung/antrag/{card.application.public_id}"' in html
    assert re.findall(r'data-action="(\w+)"', html) == ["create", "issue"]
    assert "Karte angelegt" in html and "Karte ausgestellt" in html
    for kind, media_type in (("pdf", "application/pdf"), ("png", "image/png")):
        assert f'href="{detail_path(card)}/{kind}"' in html
        response = clerk_client.get(f"{detail_path(card)}/{kind}")
        assert response.status_code == 200 and response.mimetype == media_type
        assert response.data == card.document(DocumentKind(kind)).content  # type: ignore[union-attr]
        assert response.headers["Cache-Control"] == "private, no-store"
    # The application's page links to its card.
    application_page = page_text(
        clerk_client.get(f"/verwaltung/antrag/{card.application.public_id}")
    )
    assert f'id="card-link" href="{detail_path(card)}"' in application_page
    # Staff see the register in the navigation.
    assert f'href="{REGISTER}"' in html


def test_card_being_made_has_no_download_and_no_reissue(
    clerk_client: FlaskClient, office: Office
) -> None:
    card = issuing_card(office)
    html = page_text(clerk_client.get(detail_path(card)))
    assert "wird gerade erstellt" in html
    assert f"{detail_path(card)}/pdf" not in html
    assert f"{detail_path(card)}/neu-ausstellen" not in html
    assert f"{detail_path(card)}/ersetzen" in html  # a card lost before it arrived
    assert clerk_client.get(f"{detail_path(card)}/pdf").status_code == 404


def test_unknown_card_is_404(clerk_client: FlaskClient) -> None:
    assert clerk_client.get(f"{REGISTER}{'0' * 32}").status_code == 404
    response = post(clerk_client, f"{REGISTER}{'0' * 32}/sperren", {"version": "1"})
    assert response.status_code == 404
    assert clerk_client.get(f"{REGISTER}stapel/{'0' * 32}").status_code == 404


# --- the actions through the web ------------------------------------------------------------


def test_revoke_through_the_web(clerk_client: FlaskClient, office: Office) -> None:
    """Revoked with reason and note: the check says revoked, the page and the audit show it."""
    card = active_card(office)
    response = act(clerk_client, card, "sperren", {"reason": "misuse", "revoke_note": "Weitergabe"})
    assert response.status_code == 302
    assert response.headers["Location"] == detail_path(card)
    card = fresh(card)
    assert card.state == CardState.REVOKED
    assert card.revocation_reason == RevocationReason.MISUSE
    assert card.revocation_note == "Weitergabe"
    assert verification_check.check(card.number).status == CheckStatus.REVOKED
    assert card_audit(card.id) == ["create", "issue", "revoke"]
    html = page_text(clerk_client.get(detail_path(card)))
    assert "Die Karte ist gesperrt." in html
    assert 'data-card-state="revoked"' in html and "Missbrauch – Weitergabe" in html
    assert "/sperren" not in html and "Keine Aktion möglich." in html


@pytest.mark.worker
def test_replace_lost_through_the_web(clerk_client: FlaskClient, office: Office) -> None:
    """The lost card is revoked; the new one has a new number and the same validity."""
    old = active_card(office)
    response = act(
        clerk_client, old, "ersetzen", {"replace_note": "im Bus verloren", "confirmed": "y"}
    )
    assert response.status_code == 302
    old = fresh(old)
    assert old.state == CardState.REVOKED
    assert old.revocation_reason == RevocationReason.LOST
    new = db.session.scalar(select(Card).where(Card.replaces_id == old.id))
    assert new is not None
    assert response.headers["Location"] == detail_path(new)
    assert new.number != old.number
    assert (new.valid_from, new.valid_until) == (old.valid_from, old.valid_until)
    assert card_audit(old.id)[-1] == "revoke"
    new = wait_for_card(new.id)
    assert verification_check.check(new.number).status == CheckStatus.VALID
    assert verification_check.check(old.number).status == CheckStatus.REVOKED
    assert card_audit(new.id) == ["create", "issue"]
    html = page_text(clerk_client.get(detail_path(new)))
    assert f'id="replaces-link" href="{detail_path(old)}"' in html
    html = page_text(clerk_client.get(detail_path(old)))
    assert f'id="replacement-link" href="{detail_path(new)}"' in html


@pytest.mark.worker
def test_reissue_through_the_web(clerk_client: FlaskClient, office: Office) -> None:
    """Re-issuing makes generation 2 of the documents, same number."""
    card = active_card(office)
    response = act(clerk_client, card, "neu-ausstellen")
    assert response.status_code == 302
    card = wait_for_card(card.id, generation=2)
    assert card.document(DocumentKind.PDF).generation == 2  # type: ignore[union-attr]
    assert card_audit(card.id) == ["create", "issue", "reissue", "render"]
    assert "Die Karte wird neu ausgestellt." in page_text(clerk_client.get(detail_path(card)))


@pytest.mark.worker
def test_extend_through_the_web(clerk_client: FlaskClient, office: Office) -> None:
    """The form proposes one more validity period; the card then ends on the chosen day."""
    card = active_card(office)
    assert card.valid_until is not None
    proposed = cards_validity.add_years(card.valid_until, office.rules.validity_years)
    html = page_text(clerk_client.get(detail_path(card)))
    [field] = re.findall(r'<input[^>]*name="valid_until"[^>]*>', html)
    assert 'type="date"' in field and f'value="{proposed.isoformat()}"' in field, field
    chosen = card.valid_until + timedelta(days=365)
    response = act(clerk_client, card, "verlaengern", {"valid_until": chosen.isoformat()})
    assert response.status_code == 302
    card = wait_for_card(card.id, generation=2)
    assert card.valid_until == chosen
    assert card_audit(card.id)[-2:] == ["extend", "render"]


def test_long_service_card_offers_no_extension(clerk_client: FlaskClient, office: Office) -> None:
    """No extend form; a forged request is a 400 with the reason, not a 500."""
    card = active_card(office, card_type=CardType.LONG_SERVICE)
    html = page_text(clerk_client.get(detail_path(card)))
    assert "/verlaengern" not in html and "unbefristet" in html
    response = act(clerk_client, card, "verlaengern", {"valid_until": "2099-01-01"})
    assert response.status_code == 400
    assert "Eine unbefristete Karte kann nicht verlängert werden." in page_text(response)
    assert fresh(card).valid_until is None


@pytest.mark.parametrize(("action", "data"), list(ACTIONS.items()), ids=list(ACTIONS))
def test_stale_version_is_a_conflict_and_changes_nothing(
    clerk_client: FlaskClient, office: Office, action: str, data: dict[str, str]
) -> None:
    """A clerk who acts on an old page is told so (409), and the card stays as it was."""
    card = active_card(office)
    stale = version_on(clerk_client, card)
    # Someone else changes the card meanwhile (here: the note of an earlier check).
    card.expiry_reminder_sent_at = card.issued_at
    db.session.commit()
    before = fresh(card)
    response = post(
        clerk_client,
        f"{detail_path(card)}/{action}",
        {"version": stale, **data},
        page=detail_path(card),
    )
    assert response.status_code == 409
    assert CONFLICT_MESSAGE in page_text(response)
    after = fresh(card)
    assert (after.state, after.version, after.valid_until, after.generation) == (
        before.state,
        before.version,
        before.valid_until,
        before.generation,
    )
    assert card_audit(card.id) == ["create", "issue"]
    assert db.session.scalar(select(func.count()).select_from(Card)) == 1
    # The page now carries the current version: acting again works.
    assert version_on(clerk_client, card) == str(after.version)


@pytest.mark.parametrize(
    ("action", "data", "field", "message"),
    [
        ("sperren", {}, "reason", "Bitte wählen Sie einen Grund."),
        ("sperren", {"reason": "weil"}, "reason", None),
        ("sperren", {"reason": "lost", "revoke_note": "a\x00b"}, "revoke_note", "Steuerzeichen"),
        ("sperren", {"reason": "lost", "revoke_note": "x" * 2001}, "revoke_note", None),
        ("ersetzen", {"replace_note": "\x07", "confirmed": "y"}, "replace_note", "Steuerzeichen"),
        # Asked first: without the confirmation nothing is revoked (issue #14).
        ("ersetzen", {"replace_note": "im Bus"}, "confirmed", "Bitte bestätigen Sie das Sperren."),
        ("verlaengern", {}, "valid_until", "Bitte ein gültiges Datum angeben."),
        ("verlaengern", {"valid_until": "31.12.2099"}, "valid_until", None),
        ("verlaengern", {"valid_until": "2099-02-30"}, "valid_until", None),
        ("verlaengern", {"valid_until": "2000-01-01"}, "valid_until", "nach dem bisherigen"),
    ],
    ids=[
        "no-reason",
        "bogus-reason",
        "nul-in-note",
        "long-note",
        "bell-in-note",
        "replace-unconfirmed",
        "no-date",
        "german-date",
        "impossible-date",
        "earlier-date",
    ],
)
def test_bad_input_is_a_400_at_the_field(
    clerk_client: FlaskClient,
    office: Office,
    action: str,
    data: dict[str, str],
    field: str,
    message: str | None,
) -> None:
    """Invalid form input is refused with the message at the field, and changes nothing."""
    card = active_card(office)
    response = act(clerk_client, card, action, data)
    assert response.status_code == 400
    html = page_text(response)
    assert f'id="{field}-error"' in html
    assert 'id="error-summary"' in html
    if message:
        assert message in html
    assert fresh(card).state == CardState.ACTIVE
    assert card_audit(card.id) == ["create", "issue"]


@pytest.mark.parametrize(
    ("version", "status"),
    [("", 400), ("abc", 400), ("-1", 409), (None, 400)],  # -1 is a version, an old one
)
def test_bad_version_is_a_4xx(
    clerk_client: FlaskClient, office: Office, version: str | None, status: int
) -> None:
    card = active_card(office)
    data = {"reason": "lost"} if version is None else {"reason": "lost", "version": version}
    response = post(clerk_client, f"{detail_path(card)}/sperren", data, page=detail_path(card))
    assert response.status_code == status
    assert fresh(card).state == CardState.ACTIVE


def test_an_action_not_possible_in_the_state_is_a_400(
    clerk_client: FlaskClient, office: Office
) -> None:
    """Re-issuing a revoked card (an old page): the reason is shown, nothing happens."""
    card = active_card(office)
    version = version_on(clerk_client, card)
    other_clerk = Acting.user_as(make_user(UserRole.CLERK, office), Actor.CLERK)
    lifecycle.revoke(card, other_clerk, RevocationReason.LOST)
    card = fresh(card)
    response = post(
        clerk_client,
        f"{detail_path(card)}/neu-ausstellen",
        {"version": str(card.version)},
        page=detail_path(card),
    )
    assert response.status_code == 400
    assert "Nur eine gültige Karte kann neu ausgestellt werden." in page_text(response)
    assert version != str(card.version)
    assert card_audit(card.id) == ["create", "issue", "revoke"]


# --- bulk issuing ---------------------------------------------------------------------------


BULK = f"{REGISTER}ausstellen"
CHECKBOX = re.compile(r'name="selected"[^>]*value="([^"]+)"')


def checkboxes(client: FlaskClient) -> dict[str, str]:
    """The bulk page's checkboxes: application public id → the value a browser sends."""
    html = page_text(client.get(BULK))
    return {value.split(":")[0]: value for value in CHECKBOX.findall(html)}


def wait_for_batch(client: FlaskClient, location: str, issued: int) -> dict[str, int]:
    """Poll the batch's JSON (as the page's script does) until ``issued`` cards are made."""

    def figures() -> dict[str, int]:
        response = client.get(f"{location}.json")
        assert response.status_code == 200
        assert response.json is not None
        return response.json

    def done() -> dict[str, int] | None:
        now = figures()
        return now if now["issued"] >= issued and now["issuing"] == 0 else None

    return wait_until(done, timeout=30, interval=0.1, message=figures)


def batch_of(location: str) -> CardBatch:
    db.session.rollback()
    batch = db.session.scalar(
        select(CardBatch).where(CardBatch.public_id == location.rsplit("/", 1)[1])
    )
    assert batch is not None
    return batch


def state_of(application: Application) -> ApplicationState:
    db.session.rollback()
    db.session.refresh(application)
    return application.state


@pytest.mark.worker
def test_bulk_issuing_approves_and_the_page_follows_the_workers(
    clerk_client: FlaskClient, office: Office
) -> None:
    """Three applications ticked → approved, one batch → its JSON reaches issued == 3."""
    chosen = [make_application(office, _volunteer()) for _ in range(3)]
    left = make_application(office, _volunteer())
    elsewhere = make_application(make_office(), _volunteer())
    boxes = checkboxes(clerk_client)
    assert set(boxes) == {a.public_id for a in [*chosen, left]}
    assert boxes[chosen[0].public_id] == f"{chosen[0].public_id}:{chosen[0].version}"
    assert elsewhere.public_id not in boxes

    response = post(
        clerk_client, BULK, {"selected": [boxes[a.public_id] for a in chosen]}, page=BULK
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.fullmatch(r"/verwaltung/karten/stapel/[0-9a-f]{32}", location)

    page = clerk_client.get(location)
    html = page_text(page)
    assert page.status_code == 200
    assert "<progress" in html and 'data-count="total">3<' in html
    assert "Die Anträge sind bewilligt" in html
    if 'data-complete="false"' in html:  # the workers may be done already
        assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
        assert 'src="/static/js/progress.js"' in html

    figures = wait_for_batch(clerk_client, location, issued=3)
    assert figures == {
        "total": 3,
        "issued": 3,
        "issuing": 0,
        "active": 3,
        "failed": 0,
        "complete": True,
    }
    batch = batch_of(location)
    assert batch.size == 3 and batch.office_id == office.id
    made = db.session.scalars(select(Card).where(Card.batch_id == batch.id)).all()
    assert sorted(card.application_id for card in made) == sorted(a.id for a in chosen)
    assert all(state_of(a) == ApplicationState.APPROVED for a in chosen)
    assert state_of(left) == ApplicationState.IN_REVIEW

    html = page_text(clerk_client.get(location))
    assert 'data-complete="true"' in html and "progress.js" not in html
    assert "refresh" not in html
    assert sorted(CARD_LINK.findall(html)) == sorted(card.public_id for card in made)
    assert html.count('data-card-state="active"') == 3
    # Issued cards leave the bulk page.
    assert set(checkboxes(clerk_client)) == {left.public_id}


@pytest.mark.worker
def test_bulk_issuing_reports_what_changed_meanwhile(
    clerk_client: FlaskClient, office: Office
) -> None:
    """One application changed after the page was loaded: counted and reported, not fatal.
    An approved application without a card gets its card in the same batch."""
    fine = make_application(office, _volunteer())
    changed = make_application(office, _volunteer())
    cardless = make_application(office, _volunteer(), state=ApplicationState.APPROVED)
    boxes = checkboxes(clerk_client)
    assert set(boxes) == {fine.public_id, changed.public_id, cardless.public_id}
    changed.information_request = "Seit wann genau?"  # the ORM raises the version
    db.session.commit()
    assert boxes[changed.public_id] != f"{changed.public_id}:{changed.version}"

    selected = [boxes[a.public_id] for a in (fine, changed, cardless)]
    response = post(clerk_client, BULK, {"selected": selected}, page=BULK)
    assert response.status_code == 302
    location = response.headers["Location"]
    html = page_text(clerk_client.get(location))
    assert "1 von 3 Anträgen wurden nicht bewilligt" in html
    assert 'data-count="failed">1<' in html

    figures = wait_for_batch(clerk_client, location, issued=2)
    assert figures == {
        "total": 2,
        "issued": 2,
        "issuing": 0,
        "active": 2,
        "failed": 1,
        "complete": True,
    }
    assert state_of(fine) == ApplicationState.APPROVED
    assert state_of(changed) == ApplicationState.IN_REVIEW
    assert cards_register.card_for_application(changed.id) is None
    for application in (fine, cardless):
        card = cards_register.card_for_application(application.id)
        assert card is not None and card.batch_id == batch_of(location).id


@pytest.mark.worker
def test_bulk_issuing_twice_gives_one_card_each(clerk_client: FlaskClient, office: Office) -> None:
    """The same page sent again (a double click): the second batch approves nothing."""
    application = make_application(office, _volunteer())
    data = {"selected": [checkboxes(clerk_client)[application.public_id]]}
    first = post(clerk_client, BULK, data, page=BULK)
    second = post(clerk_client, BULK, data, page=BULK)
    assert first.status_code == second.status_code == 302
    wait_for_batch(clerk_client, first.headers["Location"], issued=1)
    figures = wait_for_batch(clerk_client, second.headers["Location"], issued=0)
    assert figures == {
        "total": 0,
        "issued": 0,
        "issuing": 0,
        "active": 0,
        "failed": 1,
        "complete": True,
    }
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Card)) == 1


@pytest.mark.parametrize(
    ("selected", "status", "message"),
    [
        ([], 400, "Bitte wählen Sie mindestens einen Antrag aus."),
        (["nonsense"], 400, None),
        (["abc:"], 400, None),
        (["abc:1:2"], 400, None),
        (["a b:1"], 400, None),
    ],
    ids=["nothing", "no-version", "empty-version", "two-versions", "space"],
)
def test_bulk_issuing_refuses_bad_selections(
    clerk_client: FlaskClient,
    office: Office,
    selected: list[str],
    status: int,
    message: str | None,
) -> None:
    application = make_application(office, _volunteer())
    response = post(clerk_client, BULK, {"selected": selected}, page=BULK)
    assert response.status_code == status
    if message:
        assert message in page_text(response)
    assert state_of(application) == ApplicationState.IN_REVIEW
    assert db.session.scalar(select(func.count()).select_from(CardBatch)) == 0


@pytest.mark.worker
def test_another_offices_application_in_a_batch_is_not_approved(
    clerk_client: FlaskClient, office: Office
) -> None:
    """A forged selection naming another office's application counts as failed."""
    foreign = make_application(make_office(), _volunteer())
    response = post(
        clerk_client, BULK, {"selected": [f"{foreign.public_id}:{foreign.version}"]}, page=BULK
    )
    assert response.status_code == 302
    assert state_of(foreign) == ApplicationState.IN_REVIEW
    figures = wait_for_batch(clerk_client, response.headers["Location"], issued=0)
    assert figures["failed"] == 1 and figures["total"] == 0


def test_another_offices_batch_is_404(ctx: None, client: FlaskClient) -> None:
    batch = batches.create_batch(make_office().id, Acting.system(), 1)
    sign_in(client, make_user(UserRole.CLERK, make_office()))
    assert client.get(f"{REGISTER}stapel/{batch.public_id}").status_code == 404
    assert client.get(f"{REGISTER}stapel/{batch.public_id}.json").status_code == 404


def test_bulk_page_pages_the_applications_in_review(
    app: Flask, clerk_client: FlaskClient, office: Office
) -> None:
    """Oldest first, PAGE_SIZE per page; the second page holds the rest."""
    made = [make_application(office, _volunteer()) for _ in range(4)]
    page_size = app.config["PAGE_SIZE"]
    app.config["PAGE_SIZE"] = 3
    try:
        first = page_text(clerk_client.get(BULK))
        assert [v.split(":")[0] for v in CHECKBOX.findall(first)] == [a.public_id for a in made[:3]]
        assert 'rel="next" href="/verwaltung/karten/ausstellen?page=2"' in first
        second = page_text(clerk_client.get(f"{BULK}?page=2"))
        assert [v.split(":")[0] for v in CHECKBOX.findall(second)] == [made[3].public_id]
        for bad in ("0", "-5", "abc"):
            assert clerk_client.get(f"{BULK}?page={bad}").status_code == 200
    finally:
        app.config["PAGE_SIZE"] = page_size


@pytest.mark.browser
def test_batch_page_updates_itself_in_the_browser(
    app: Flask,
    ctx: None,
    live_server: str,
    page: Page,
) -> None:
    """The page's script (allowed by the CSP) shows each card as it is made, without
    reloading, and loads the final list once the last one is done."""
    office = make_office()
    clerk = make_user(UserRole.CLERK, office)
    made = [issuing_card(office, first_name="Batch") for _ in range(3)]
    batch = batches.create_batch(office.id, Acting.system(), 4)
    for card in made:
        card.batch_id = batch.id
    db.session.commit()
    page.goto(f"{live_server}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(clerk.email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Code aus der Authenticator-App").fill(
        pyotp.TOTP(clerk.totp_secret or "").now()
    )
    page.get_by_role("button", name="Bestätigen").click()
    page.get_by_role("link", name="Karten", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kartenregister")

    # From here on, any script error or refused script (CSP) shows in the console.
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server}{REGISTER}stapel/{batch.public_id}")
    expect(page.locator('[data-count="issuing"]')).to_have_text("3")
    expect(page.locator('[data-count="failed"]')).to_have_text("1")
    page.evaluate("window.sameDocument = true")

    assert cards_production.produce(made[0].id) == Produced.MADE
    expect(page.locator('[data-count="issued"]')).to_have_text("1", timeout=10_000)
    expect(page.locator('[data-count="issuing"]')).to_have_text("2")
    assert page.evaluate("window.sameDocument") is True  # updated in place, not reloaded
    assert page.evaluate("document.getElementById('batch-bar').value") == 1
    assert page.evaluate("document.getElementById('batch-bar').max") == 3

    for card in made[1:]:
        assert cards_production.produce(card.id) == Produced.MADE
    expect(page.locator("#batch-complete")).to_be_visible(timeout=10_000)
    expect(page.locator('td[data-card-state="active"]')).to_have_count(3)
    assert problems == []


# --- language -------------------------------------------------------------------------------


def test_register_pages_in_english_have_no_german_left(
    clerk_client: FlaskClient, office: Office
) -> None:
    """The register, a card, the bulk page and a batch in English (names aside)."""
    card = active_card(office, first_name="Ada", last_name="Lovelace")
    make_application(office, _volunteer(), first_name="Ada", last_name="Byron")
    batch = batches.create_batch(office.id, Acting.system(), 2)
    card.batch_id = batch.id
    db.session.commit()
    names = (office.name, "Ada", "Lovelace", "Byron", card.holder.email)
    for path in (REGISTER, detail_path(card), BULK, f"{REGISTER}stapel/{batch.public_id}"):
        response = clerk_client.get(path, headers={"Accept-Language": "en"})
        assert response.status_code == 200, path
        assert german_words(visible_text(response), *names) == [], path
        assert german_words(visible_text(clerk_client.get(path)), *names), path
