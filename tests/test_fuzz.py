"""Fuzzing: no malformed input to any form or to the API answers with a 5xx.

The forms are not listed here: each role's client crawls the site from every page of the
url_map that takes no argument, following links, and every ``<form>`` it finds (POST with
its own CSRF token, or GET) is sent with values drawn by Hypothesis: text with NUL,
control characters, huge and unusual unicode, numbers such as NaN, sNaN, Infinity and
1E-999999999, dates at the edges of the calendar, ids beyond 64 bit, or the form's own
values. A new form on a page one of the roles can reach is fuzzed without editing this
file. The API is fuzzed by schemathesis from its own OpenAPI document.

The examples per form come from the Hypothesis profile (tests/conftest.py): a few dozen
in the normal suite; ``-m fuzz --hypothesis-profile=long`` runs many more.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from werkzeug.test import TestResponse

from ehrenamt.extensions import db, limiter
from ehrenamt.models import ConfirmationState, UserRole, utcnow
from ehrenamt.partners import api_keys
from ehrenamt.workflow import ApplicationState
from tests.factories import make_application, make_office, make_user
from tests.helpers import sign_in
from tests.test_api import bearer
from tests.test_cards import _make_active
from tests.test_partners import make_partner

pytestmark = pytest.mark.fuzz

#: Pages the crawler opens per role at most; links beyond are not followed.
MAX_PAGES = 60

#: Links not worth opening: files the pages offer for download (slow to render, no forms).
DOWNLOADS = (".pdf", ".png", ".csv", ".json")

#: The token of the organisation's confirmation link in the fuzzed world.
CONFIRM_TOKEN = "fuzz-" + "c" * 40

# --- what the fields get ------------------------------------------------------------------

NUMBERS = [
    "NaN", "sNaN", "-sNaN", "inf", "-Infinity", "1e999999999", "1E-999999999", "0E-99999",
    "-0", "0", "-1", "0.5", "1e3", "0x10", "1_000", "4,5", "9" * 40, str(2**63), str(2**64 + 1),
    "²", "١٢٣٤٥",
]  # fmt: skip
DATES = [
    "0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "2024-02-29", "1969-12-31",
    "31.12.9999", "-2026-01-01", "2026-13-01",
]  # fmt: skip
SPECIAL_TEXT = [
    "", " ", "\t", "\x00", "a\x00b", "\x1b[31m", "\x7f", "\r\n", "\u202e", "\ufeff", "𝔘𝔫𝔦",
    "ß" * 300, "x" * 70_000, "%00", "' OR 1=1 --", "<script>", "../../etc/passwd", "null",
]  # fmt: skip

#: Text without lone surrogates, which no browser can send (they are not UTF-8).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
NASTY = st.one_of(st.sampled_from(NUMBERS + DATES + SPECIAL_TEXT), TEXT)


# --- finding the forms --------------------------------------------------------------------


@dataclass
class FoundForm:
    """A form on a page: where it goes, and each field's own values (options, default)."""

    page: str
    action: str
    method: str
    multipart: bool = False
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    submits: dict[str, str] = field(default_factory=dict)

    def key(self) -> tuple[str, str, frozenset[str]]:
        """Forms sent to the same place with the same fields are one form."""
        return self.method, self.action, frozenset(self.fields) | frozenset(self.submits)


class _FormsAndLinks(HTMLParser):
    """The forms and the same-site links of one page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[FoundForm] = []
        self.links: list[str] = []
        self._select: str | None = None
        self._form: FoundForm | None = None

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        attrs = {name: value or "" for name, value in attributes}
        if tag == "a" and attrs.get("href", "").startswith("/"):
            self.links.append(attrs["href"])
        elif tag == "form":
            self._form = FoundForm(
                page=self.page,
                action=urljoin(self.page, attrs.get("action") or self.page),
                method=attrs.get("method", "get").lower(),
                multipart="multipart" in attrs.get("enctype", ""),
            )
            self.forms.append(self._form)
        elif self._form is not None:
            self._field(self._form, tag, attrs)

    def _field(self, form: FoundForm, tag: str, attrs: dict[str, str]) -> None:
        name = attrs.get("name")
        kind = attrs.get("type", "text").lower()
        if tag == "option" and self._select:
            form.fields[self._select].append(attrs.get("value", ""))
        elif not name:
            return
        elif tag in ("input", "button") and kind == "submit":
            form.submits[name] = attrs.get("value", "")
        elif tag == "input" and kind == "file":
            form.files.append(name)
        elif tag == "input":
            form.fields.setdefault(name, []).append(attrs.get("value", "y"))
        elif tag == "textarea":
            form.fields.setdefault(name, []).append("")
        elif tag == "select":
            form.fields.setdefault(name, [])
            self._select = name

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def _start_pages(app: Flask) -> list[str]:
    """Every GET page of the url_map without arguments."""
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.arguments and rule.endpoint != "static"
    )


def crawl(client: FlaskClient, start: list[str]) -> list[FoundForm]:
    """The forms on the pages reachable from ``start``, each once."""
    queue, seen = list(start), set()
    forms: dict[tuple[str, str, frozenset[str]], FoundForm] = {}
    while queue and len(seen) < MAX_PAGES:
        page = queue.pop(0)
        path = urlsplit(page).path
        if path in seen or path.endswith(DOWNLOADS):
            continue
        seen.add(path)
        # Buffered: a streamed download (an export) is read within the request's own
        # context; unread, it would pop that context when collected, in a later request.
        response = client.get(page, buffered=True)
        assert response.status_code < 500, page
        if response.mimetype != "text/html":
            continue
        parser = _FormsAndLinks(page)
        parser.feed(response.get_data(as_text=True))
        queue.extend(link for link in parser.links if urlsplit(link).path not in seen)
        for form in parser.forms:
            forms.setdefault(form.key(), form)
    # Signing out last, so the other forms are sent signed in.
    return sorted(forms.values(), key=lambda form: form.action == "/abmelden")


# --- sending them -------------------------------------------------------------------------


def form_data(form: FoundForm) -> st.SearchStrategy[dict[str, Any]]:
    """Each field left out, its own value, or something nasty; CSRF tokens kept."""

    def value_of(name: str, own: list[str]) -> st.SearchStrategy[Any]:
        if name == "csrf_token":
            return st.just(own[0])
        choices = st.sampled_from(own) if own else st.just("")
        return st.one_of(choices, NASTY, st.none())

    strategies = {name: value_of(name, own) for name, own in form.fields.items()}
    strategies.update(
        {name: st.sampled_from([value, None]) for name, value in form.submits.items()}
    )
    strategies.update(
        {
            name: st.one_of(st.none(), st.binary(max_size=2000), st.sampled_from([b"\x00" * 10]))
            for name in form.files
        }
    )
    return st.fixed_dictionaries(strategies)


def send(client: FlaskClient, form: FoundForm, drawn: dict[str, Any]) -> TestResponse:
    """Send the drawn values as a browser would send the form."""
    data: dict[str, Any] = {}
    for name, value in drawn.items():
        if value is None:
            continue
        data[name] = (io.BytesIO(value), "datei.csv") if name in form.files else value
    if form.method == "get":
        return client.get(form.action, query_string=data)
    content_type = "multipart/form-data" if form.multipart or form.files else None
    return client.post(form.action, data=data, content_type=content_type)


def fuzz_form(client: FlaskClient, form: FoundForm) -> None:
    """Send ``form`` with drawn values; no answer may be a server error."""

    @given(drawn=form_data(form))
    def no_server_error(drawn: dict[str, Any]) -> None:
        response = send(client, form, drawn)
        assert response.status_code < 500, (form.method, form.action, drawn)

    no_server_error()


# --- the world the roles act in -----------------------------------------------------------


@dataclass
class World:
    """One office with something in every state a page shows, and its people."""

    volunteer: Any
    clerk: Any
    admin: Any
    partner_user: Any
    programme_admin: Any


@pytest.fixture
def world(app: Flask, ctx: None) -> Iterator[World]:
    """The office, its staff, a volunteer with a card and an open application, a partner,
    and an organisation's pending confirmation link; rate limits off, so every example
    reaches the form instead of a 429."""
    office = make_office()
    clerk = make_user(UserRole.CLERK, office)
    admin = make_user(UserRole.ADMIN, office)
    programme_admin = make_user(UserRole.PROGRAMME_ADMIN, office)
    volunteer = make_user(UserRole.VOLUNTEER)
    _make_active(make_application(office, volunteer, state=ApplicationState.IN_REVIEW))
    make_application(office, state=ApplicationState.IN_REVIEW)
    pending = make_application(office, state=ApplicationState.AWAITING_CONFIRMATION)
    engagement = pending.engagements[0]
    engagement.confirmation_state = ConfirmationState.PENDING
    engagement.token_hash = hashlib.sha256(CONFIRM_TOKEN.encode()).hexdigest()
    engagement.token_expires_at = utcnow() + timedelta(days=7)
    make_partner(office, approve=False, name="Neu")
    _partner, partner_user = make_partner(office, name="Museum")
    db.session.commit()
    limiter.enabled = False
    try:
        yield World(volunteer, clerk, admin, partner_user, programme_admin)
    finally:
        limiter.enabled = True


#: Who crawls, in this order; a form is fuzzed by the first who finds it (the admin has
#: the clerk's pages as well, and adds the rules and staff; the programme admin adds the
#: offices).
ROLES: dict[str, Callable[[World], Any]] = {
    "anonymous": lambda world: None,
    "volunteer": lambda world: world.volunteer,
    "partner": lambda world: world.partner_user,
    "clerk": lambda world: world.clerk,
    "admin": lambda world: world.admin,
    "programme_admin": lambda world: world.programme_admin,
}


def test_no_form_answers_a_server_error(app: Flask, make_client: Any, world: World) -> None:
    fuzzed: set[tuple[str, str, frozenset[str]]] = set()
    for role, user_of in ROLES.items():
        client = make_client()
        if (user := user_of(world)) is not None:
            sign_in(client, user)
        start = _start_pages(app)
        if role == "anonymous":
            start.append(f"/bestaetigung/{CONFIRM_TOKEN}")
        forms = [form for form in crawl(client, start) if form.key() not in fuzzed]
        assert forms or role == "admin", f"the {role} found no form of their own"
        for form in forms:
            fuzzed.add(form.key())
            fuzz_form(client, form)


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def api_key(app: Flask, ctx: None) -> Iterator[str]:
    """A till's key of an approved partner; rate limits off, so every example reaches the
    endpoint instead of a 429."""
    partner, _user = make_partner(make_office(), name="Kasse")
    key = api_keys.create_key(partner, "Kasse 1", None)[1]
    limiter.enabled = False
    try:
        yield key
    finally:
        limiter.enabled = True


def test_api_answers_no_server_error(app: Flask, api_key: str) -> None:
    """Every operation of the OpenAPI document, called in-process with generated input."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        # Valid requests and ones that break the document's own rules (wrong types,
        # missing fields): neither may end in a 500.
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        def no_server_error(case: Any) -> None:
            case.call_and_validate(headers=bearer(api_key), checks=[not_a_server_error])

        no_server_error()
