"""English beside German: a complete catalogue, the language choice, forms and e-mails.

German is the source language; ``ehrenamt/translations/en/LC_MESSAGES/messages.po`` holds
the English. The compiled ``.mo`` is not committed, so this module compiles it itself
and does not depend on someone having run ``make``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt import ROOT
from ehrenamt.extensions import babel, db
from ehrenamt.models import Application, Office, UserRole
from ehrenamt.workflow import ApplicationState
from tests.factories import application_form_data, make_application, make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.mailbox import Mailbox, html_of, links_in, path_of, text_of

TRANSLATIONS = ROOT / "ehrenamt" / "translations"
ENGLISH_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
#: The keywords of the Makefile's ``translations`` target (``-k _l -k lazy_gettext``).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
#: Words that give away German text; none may be left on an English page.
GERMAN_WORDS = re.compile(
    r"\b(?:und|oder|nicht|ist|Sie|Ihre?[nmr]?|[Bb]itte|der|die|das|für|mit|Zu[mr]|[Kk]eine?"
    r"|Antr(?:ag|äge)\w*|Konto|(?:[Aa]n|Ab)melde\w*|Datenschutz\w*|Seite)\b"
)


def compile_catalogues(directory: Path) -> None:
    """What ``pybabel compile -d`` does: each ``.po`` beside it as ``.mo``, atomically."""
    for po_path in directory.glob("*/LC_MESSAGES/*.po"):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # Atomic, so a test process reading the catalogue never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=po_path.parent, suffix=".tmp.mo")
        with os.fdopen(handle, "wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(temporary, po_path.with_suffix(".mo"))


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogue(session_app: Flask) -> Iterator[None]:
    """The English catalogue compiled from its ``.po``, as ``make`` would do."""
    compile_catalogues(TRANSLATIONS)
    # An earlier test may have loaded English before the .mo existed; load it afresh.
    with session_app.app_context():
        babel.domain_instance.cache.clear()
    yield


@pytest.fixture
def office(ctx: None) -> Office:
    """An issuing office, so the application form can be shown."""
    return make_office()


def english_catalogue() -> Catalog:
    """The English catalogue as committed."""
    with ENGLISH_PO.open("rb") as po_file:
        return read_po(po_file, locale="en")


def source_messages() -> dict[str, list[str]]:
    """Every German msgid in the source, found as ``make translations`` finds them."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def placeholders(text: str) -> list[str]:
    """The %-placeholders of a message, sorted (translations may reorder them)."""
    return sorted(match.group(0) for match in PLACEHOLDER.finditer(text))


def test_source_messages_are_found() -> None:
    """The extraction sees Python files, page templates and e-mail templates alike."""
    where = {place.split(":")[0] for places in source_messages().values() for place in places}
    assert "ehrenamt/web/pages.py" in where
    assert "templates/base.html" in where
    assert "templates/emails/sign_in_link.txt" in where


def test_every_message_has_an_english_translation() -> None:
    """Each msgid in the source has a non-empty, non-fuzzy English entry in the catalogue."""
    catalogue = english_catalogue()
    missing = {
        msgid: places
        for msgid, places in source_messages().items()
        if (entry := catalogue.get(msgid)) is None or not entry.string or entry.fuzzy
    }
    assert not missing, (
        "untranslated (run `make translations`, then translate in "
        f"{ENGLISH_PO.relative_to(ROOT)}): {missing}"
    )


def test_translations_keep_the_placeholders() -> None:
    """An English text has exactly the %(name)s placeholders of its German msgid."""
    wrong = {
        entry.id: entry.string
        for entry in english_catalogue()
        if isinstance(entry.id, str)
        and isinstance(entry.string, str)
        and entry.id
        and placeholders(entry.id) != placeholders(entry.string)
    }
    assert not wrong


def test_translations_hold_no_html() -> None:
    """Translations are plain text: templates escape them, so markup would show as text."""
    marked_up = [entry.string for entry in english_catalogue() if "<" in str(entry.string)]
    assert not marked_up


def form_page(client: FlaskClient, **headers: str) -> tuple[str, str]:
    """The application form's language and text."""
    response = client.get("/antrag/", headers=headers)
    assert response.status_code == 200
    text = page_text(response)
    match = re.search(r'<html lang="(\w+)">', text)
    assert match
    return match.group(1), text


@pytest.mark.parametrize(
    ("accept_language", "language", "heading"),
    [
        (None, "de", "Antrag auf die Ehrenamtskarte"),
        ("de-DE,de;q=0.9", "de", "Antrag auf die Ehrenamtskarte"),
        ("en", "en", "Apply for a volunteer card"),
        ("en-GB,en;q=0.9,de;q=0.5", "en", "Apply for a volunteer card"),
        ("fr-FR,fr;q=0.9", "de", "Antrag auf die Ehrenamtskarte"),
    ],
)
def test_page_language_follows_the_browser(
    client: FlaskClient, office: Office, accept_language: str | None, language: str, heading: str
) -> None:
    """Without a choice the browser's language decides among de and en; German otherwise."""
    headers = {"Accept-Language": accept_language} if accept_language else {}
    page_language, text = form_page(client, **headers)
    assert page_language == language
    assert f"<h1>{heading}</h1>" in text


VISIBLE_ATTRIBUTE = re.compile(
    r'\b(?:aria-label|alt|title|placeholder)="([^"]*)"'
    r'|<input[^>]*type="(?:submit|button)"[^>]*value="([^"]*)"'
)


def visible_text(response: TestResponse) -> str:
    """What a person reads or hears: the text between tags and the labelling attributes."""
    markup = page_text(response)
    labels = [" ".join(found) for found in VISIBLE_ATTRIBUTE.findall(markup)]
    return " ".join([re.sub(r"<[^>]+>", " ", markup), *labels])


def german_words(text: str, *data: str) -> list[str]:
    """The German words left in a text once the given data (names, places) is removed."""
    for value in data:
        text = text.replace(value, "")
    return GERMAN_WORDS.findall(text)


def test_english_public_pages_have_no_german_left(client: FlaskClient, office: Office) -> None:
    """Public pages in English show no German words (office names aside)."""
    for path in ("/", "/antrag/", "/anmelden", "/anmelden/link", "/datenschutz", "/nirgends"):
        response = client.get(path, headers={"Accept-Language": "en"})
        assert response.status_code == (404 if path == "/nirgends" else 200), path
        assert german_words(visible_text(response), office.name) == [], path
        # The detector works: the same page in German is full of such words.
        assert german_words(visible_text(client.get(path)), office.name), path


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        (UserRole.VOLUNTEER, ["/konto/", "/konto/antrag/{public_id}"]),
        (UserRole.CLERK, ["/verwaltung/", "/verwaltung/antrag/{public_id}"]),
        (UserRole.ADMIN, ["/verwaltung/einstellungen/regeln"]),
    ],
)
def test_english_signed_in_pages_have_no_german_left(
    client: FlaskClient, office: Office, role: UserRole, paths: list[str]
) -> None:
    """The volunteer's account and the staff pages in English show no German words."""
    user = make_user(role, office if role != UserRole.VOLUNTEER else None)
    application = make_application(office, user if role == UserRole.VOLUNTEER else None)
    sign_in(client, user)
    for path in paths:
        response = client.get(
            path.format(public_id=application.public_id), headers={"Accept-Language": "en"}
        )
        assert response.status_code == 200, path
        assert '<html lang="en">' in page_text(response)
        assert german_words(visible_text(response), office.name) == [], path
        german = client.get(path.format(public_id=application.public_id))
        assert german_words(visible_text(german), office.name), path


def choose_language(client: FlaskClient, language: str, next_path: str) -> TestResponse:
    """Pick a language with the switch in the page header, as a visitor does."""
    return post(client, "/sprache", {"language": language, "next": next_path}, page=next_path)


def test_chosen_language_sticks_over_the_browser(client: FlaskClient, office: Office) -> None:
    """POST /sprache stores the choice in the session; it beats Accept-Language both ways."""
    response = choose_language(client, "en", "/antrag/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/antrag/"
    with client.session_transaction() as session:
        assert session["language"] == "en"
    assert form_page(client)[0] == "en"
    assert form_page(client, **{"Accept-Language": "de"})[0] == "en"

    choose_language(client, "de", "/antrag/")
    with client.session_transaction() as session:
        assert session["language"] == "de"
    language, text = form_page(client, **{"Accept-Language": "en"})
    assert language == "de"
    assert "<h1>Antrag auf die Ehrenamtskarte</h1>" in text


@pytest.mark.parametrize("language", ["fr", "", "en;de", "<script>"])
def test_unknown_language_choice_is_ignored(
    client: FlaskClient, office: Office, language: str
) -> None:
    """Only an offered language can be chosen; anything else leaves the page German."""
    response = choose_language(client, language, "/antrag/")
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "language" not in session
    assert form_page(client)[0] == "de"


def test_language_choice_needs_the_csrf_token(client: FlaskClient, office: Office) -> None:
    """A cross-site form cannot switch a visitor's language."""
    response = client.post("/sprache", data={"language": "en", "next": "/antrag/"})
    assert response.status_code == 400
    with client.session_transaction() as session:
        assert "language" not in session
    assert form_page(client)[0] == "de"


@pytest.mark.parametrize(
    "role",
    [UserRole.VOLUNTEER, UserRole.CLERK],
)
def test_chosen_language_survives_signing_in(
    client: FlaskClient, office: Office, role: UserRole
) -> None:
    """Signing in starts a fresh session but keeps the language the visitor chose."""
    user = make_user(role, office if role != UserRole.VOLUNTEER else None)
    choose_language(client, "en", "/anmelden")
    response = sign_in(client, user)
    home = client.get(response.headers["Location"], headers={"Accept-Language": "de"})
    assert home.status_code == 200
    assert '<html lang="en">' in page_text(home)


def field_errors(text: str, field: str) -> str:
    """The error text shown for one field (the markup between its input and the next)."""
    match = re.search(rf'id="{re.escape(field)}-error"[^>]*>(.*?)</', text, re.S)
    assert match, f"no error shown for {field}"
    return match.group(1).strip()


@pytest.mark.parametrize(
    ("accept_language", "changes", "field", "message"),
    [
        ("en", {"first_name": ""}, "first_name", "This field is required."),
        ("de", {"first_name": ""}, "first_name", "Dieses Feld wird benötigt."),
        ("en", {"postcode": "1234"}, "postcode", "Please enter a five-digit postcode."),
        (
            "de",
            {"postcode": "1234"},
            "postcode",
            "Bitte geben Sie eine fünfstellige Postleitzahl an.",
        ),
        ("en", {"email": "not-an-address"}, "email", "Invalid email address."),
        ("de", {"email": "not-an-address"}, "email", "Ungültige E-Mail-Adresse."),
        (
            "en",
            {"consent": None},
            "consent",
            "We cannot process your application without your consent.",
        ),
    ],
)
def test_validation_messages_are_in_the_page_language(
    client: FlaskClient,
    office: Office,
    accept_language: str,
    changes: dict[str, str | None],
    field: str,
    message: str,
) -> None:
    """Our own messages and WTForms' built-in ones come in the visitor's language."""
    response = post(
        client,
        "/antrag/",
        application_form_data(office, **changes),
        page="/antrag/",
        headers={"Accept-Language": accept_language},
    )
    text = page_text(response)
    assert response.status_code == 400
    assert f'<html lang="{accept_language}">' in text
    assert message in field_errors(text, field)


@pytest.mark.worker
@pytest.mark.parametrize(
    ("accept_language", "subject", "greeting", "body"),
    [
        ("en", "Your sign-in link", "Hello,", "use this link to sign in"),
        (None, "Ihr Anmeldelink", "Guten Tag,", "mit diesem Link melden Sie sich einmal"),
    ],
)
def test_mail_is_in_the_language_of_the_request_that_queued_it(
    client: FlaskClient,
    ctx: None,
    mailbox: Mailbox,
    accept_language: str | None,
    subject: str,
    greeting: str,
    body: str,
) -> None:
    """A sign-in link asked for in English arrives in English, text and HTML part alike."""
    volunteer = make_user(UserRole.VOLUNTEER)
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = post(
        client, "/anmelden/link", {"email": volunteer.email}, page="/anmelden/link", headers=headers
    )
    assert response.status_code == 302
    [mail] = mailbox.wait_for(to=volunteer.email)
    assert mail["Subject"] == subject
    for part in (text_of(mail), html_of(mail)):
        assert greeting in part
        assert body in part


@pytest.mark.worker
def test_english_mail_declares_its_language(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """The HTML part of an English mail says lang="en", so screen readers pronounce it right."""
    volunteer = make_user(UserRole.VOLUNTEER)
    post(
        client,
        "/anmelden/link",
        {"email": volunteer.email},
        page="/anmelden/link",
        headers={"Accept-Language": "en"},
    )
    [mail] = mailbox.wait_for(to=volunteer.email)
    assert '<html lang="en">' in html_of(mail)


@pytest.mark.worker
def test_mail_follows_the_chosen_language(client: FlaskClient, ctx: None, mailbox: Mailbox) -> None:
    """The language chosen on the site, not the browser's, decides the mail's language."""
    volunteer = make_user(UserRole.VOLUNTEER)
    choose_language(client, "en", "/anmelden/link")
    response = post(
        client,
        "/anmelden/link",
        {"email": volunteer.email},
        page="/anmelden/link",
        headers={"Accept-Language": "de"},
    )
    assert response.status_code == 302
    [mail] = mailbox.wait_for(to=volunteer.email)
    assert mail["Subject"] == "Your sign-in link"
    assert german_words(re.sub(r"https?://\S+", "", text_of(mail))) == []


@pytest.mark.worker
def test_english_applicant_gets_english_mails_throughout(
    client: FlaskClient, office: Office, mailbox: Mailbox
) -> None:
    """Applying in English: the confirm mail and the status mail after it are English."""
    data = application_form_data(office)
    choose_language(client, "en", "/antrag/")
    response = post(client, "/antrag/", data, page="/antrag/")
    assert response.status_code == 302

    [confirm] = mailbox.wait_for(to=data["email"])
    assert confirm["Subject"] == "Please confirm your email address"
    assert "please confirm your email address for the volunteer card" in text_of(confirm)
    [link] = [url for url in links_in(confirm) if "/email-bestaetigen/" in url]
    response = post(client, path_of(link), page=path_of(link))
    assert response.status_code == 302

    [status] = mailbox.wait_for(
        to=data["email"], subject="We have received your volunteer card application"
    )
    text = text_of(status)
    assert "Dear Erika Musterfrau," in text
    assert "asked your organisations to confirm your volunteering" in text
    assert german_words(re.sub(r"https?://\S+", "", text)) == []


@pytest.mark.worker
def test_mails_follow_the_recipient_not_the_sender(
    client: FlaskClient, office: Office, mailbox: Mailbox, make_client: Any
) -> None:
    """An English applicant gets English status mails from a German clerk; the
    organisation (a German club) is always asked in German."""
    data = application_form_data(office)
    choose_language(client, "en", "/antrag/")
    assert post(client, "/antrag/", data, page="/antrag/").status_code == 302
    [confirm] = mailbox.wait_for(to=data["email"])
    [link] = [url for url in links_in(confirm) if "/email-bestaetigen/" in url]
    assert post(client, path_of(link), page=path_of(link)).status_code == 302

    organisation_email = data["engagements-0-contact_email"]
    [request] = mailbox.wait_for(to=organisation_email)
    assert str(request["Subject"]).startswith("Bitte bestätigen Sie das Engagement")

    application = db.session.scalar(select(Application))
    assert application is not None and application.applicant.language == "en"
    application.state = ApplicationState.IN_REVIEW
    db.session.commit()
    clerk = make_user(UserRole.CLERK, office)
    staff = make_client()
    sign_in(staff, clerk)  # a German browser
    detail = f"/verwaltung/antrag/{application.public_id}"
    response = post(
        staff,
        f"{detail}/bewilligen",
        {"version": str(application.version)},
        page=detail,
        headers={"Accept-Language": "de"},
    )
    assert response.status_code == 302
    [approved] = mailbox.wait_for(to=data["email"], subject="approved")
    assert german_words(re.sub(r"https?://\S+", "", text_of(approved))) == []
