"""The application form at /antrag/: submitting, every field's validation, duplicates."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.test import TestResponse

from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    AuditEntry,
    CardType,
    ConfirmationState,
    Engagement,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import (
    application_form_data,
    blank_engagement_row,
    make_application,
    make_office,
    make_user,
)
from tests.harness import Meet, at_once
from tests.helpers import csrf_token, page_text, post, sign_in
from tests.mailbox import Mailbox, links_in, path_of

FORM = "/antrag/"


class FormPage(HTMLParser):
    """The inputs of a rendered form by name, and the error texts by element id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.inputs: dict[str, list[dict[str, str]]] = {}
        self.texts: dict[str, str] = {}
        self.ids: set[str] = set()
        self._open: list[str] = []  # ids of the <p> elements being read
        self._select = ""  # name of the <select> being read
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if tag in ("input", "select", "textarea") and "name" in values:
            self.inputs.setdefault(values["name"], []).append(values)
        if tag == "p" and "id" in values:
            self._open.append(values["id"])
            self.texts[values["id"]] = ""
        if tag == "option" and "selected" in values and self._select:
            self.inputs[self._select][-1]["value"] = values.get("value", "")
        if tag == "select":
            self._select = values.get("name", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._open:
            self._open.pop()
        if tag == "select":
            self._select = ""

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            self.texts[element_id] += data

    def field(self, name: str) -> dict[str, str]:
        """The (first) input of this name."""
        assert name in self.inputs, f"no input {name!r} on the page"
        return self.inputs[name][0]

    def value(self, name: str) -> str:
        """What the input shows (for a select: the selected option)."""
        return self.field(name).get("value", "")

    def error(self, name: str) -> str:
        """The error text shown next to the field, tied to it by aria-describedby."""
        return self.texts.get(f"{name}-error", "")


def count(model: type) -> int:
    """Rows of a table, read fresh."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def submit(client: FlaskClient, data: dict[str, str], **kwargs: object) -> TestResponse:
    """POST the application form like a browser that loaded it first."""
    return post(client, FORM, data, page=FORM, **kwargs)


# --- a successful submission ---------------------------------------------------------


@pytest.mark.worker
def test_anonymous_submission_creates_account_application_and_mail(
    app: Flask, client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """A visitor's complete form makes an account, an application and a confirm mail."""
    office = make_office()
    data = application_form_data(office)

    response = submit(client, data)

    assert response.status_code == 302, page_text(response)[:3000]
    application = db.session.scalars(select(Application)).one()
    assert response.headers["Location"] == f"/konto/antrag/{application.public_id}"
    assert application.state == ApplicationState.SUBMITTED
    assert (application.first_name, application.last_name) == ("Erika", "Musterfrau")
    assert application.birth_date == date(1980, 5, 17)
    assert (application.postcode, application.town) == ("06844", "Dessau-Roßlau")
    assert application.card_type == CardType.STANDARD
    assert application.consent_version == office.rules.privacy_notice_version
    assert abs(utcnow() - application.consent_at) < timedelta(minutes=1)
    [engagement] = application.engagements
    assert engagement.organisation_name == "TSV Dessau"
    assert engagement.contact_email == data["engagements-0-contact_email"]
    assert engagement.hours_per_week == 6
    assert engagement.hours_per_year is None
    assert engagement.confirmation_state == ConfirmationState.NOT_SENT

    applicant = application.applicant
    assert applicant.email == data["email"]
    assert applicant.role == UserRole.VOLUNTEER
    assert applicant.password_hash is not None
    assert applicant.password_hash.startswith("$argon2")
    assert data["password"] not in applicant.password_hash
    assert applicant.email_confirmed_at is None

    [entry] = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.subject_type == "application", AuditEntry.subject_id == application.id
        )
    )
    assert entry.action == "submit"
    assert entry.to_state == ApplicationState.SUBMITTED.value

    # Signed in: the account page shows the application.
    page = client.get(f"/konto/antrag/{application.public_id}")
    assert page.status_code == 200
    assert "Vielen Dank! Ihr Antrag ist eingegangen." in page_text(page)

    [mail] = mailbox.wait_for(to=data["email"], subject="Bitte bestätigen Sie Ihre E-Mail-Adresse")
    [link] = [url for url in links_in(mail) if "/email-bestaetigen/" in url]
    # BASE_URL: the live server of the browser tests changes it for the rest of the session.
    assert link.startswith(f"{app.config['BASE_URL']}/email-bestaetigen/")
    assert client.get(path_of(link)).status_code == 200


def test_anonymous_submission_without_password_leaves_no_password(
    client: FlaskClient, ctx: None
) -> None:
    """The password is optional: without one the account signs in by e-mail link."""
    office = make_office()
    response = submit(client, application_form_data(office, password=""))
    assert response.status_code == 302
    assert db.session.scalars(select(User)).one().password_hash is None


@pytest.mark.worker
def test_confirmed_volunteer_goes_straight_to_the_organisations(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """A signed-in volunteer with a confirmed address: one request mail per organisation."""
    office = make_office()
    volunteer = make_user(UserRole.VOLUNTEER, confirmed=True)
    sign_in(client, volunteer)
    data = application_form_data(
        office,
        email=volunteer.email,
        password=None,
        **{
            "engagements-1-organisation_name": "Freiwillige Feuerwehr Roßlau",
            "engagements-1-contact_name": "Wehrleiter",
            "engagements-1-contact_email": "wehrleitung@ff.example.org",
            "engagements-1-activity": "Atemschutzgeräteträger",
            "engagements-1-hours": "150",
            "engagements-1-hours_unit": "year",
            "engagements-1-engaged_since": "2010-03-01",
            "engagements-1-allowance": "",
        },
    )

    response = submit(client, data)

    assert response.status_code == 302, page_text(response)[:3000]
    application = db.session.scalars(select(Application)).one()
    assert application.applicant_id == volunteer.id
    assert application.state == ApplicationState.AWAITING_CONFIRMATION
    assert [e.confirmation_state for e in application.engagements] == [
        ConfirmationState.PENDING,
        ConfirmationState.PENDING,
    ]
    assert application.engagements[1].hours_per_year == 150
    assert application.engagements[1].allowance_euros_per_year == 0
    assert count(User) == 1
    contacts = [data["engagements-0-contact_email"], "wehrleitung@ff.example.org"]
    for contact in contacts:
        mailbox.wait_for(to=contact, subject="Bitte bestätigen Sie das Engagement von Erika")
    mailbox.wait_for(
        to=volunteer.email, subject="Ihr Antrag auf die Ehrenamtskarte ist eingegangen"
    )
    for contact in contacts:
        assert len(mailbox.wait_for(to=contact)) == 1
    assert not mailbox.matching(lambda m: "E-Mail-Adresse" in str(m["Subject"]))


def test_per_year_hours_above_a_week_are_accepted(client: FlaskClient, ctx: None) -> None:
    """200 hours per year (the usual yearly threshold) is not capped at a week's 168."""
    office = make_office()
    data = application_form_data(
        office, **{"engagements-0-hours": "200", "engagements-0-hours_unit": "year"}
    )
    response = submit(client, data)
    assert response.status_code == 302, FormPage(page_text(response)).error("engagements-0-hours")
    assert db.session.scalars(select(Engagement)).one().hours_per_year == 200


def test_get_prefills_a_fresh_submission_key(client: FlaskClient, ctx: None) -> None:
    """Each load of the form carries a new secret submission key."""
    make_office()
    first = FormPage(page_text(client.get(FORM))).value("submission_key")
    second = FormPage(page_text(client.get(FORM))).value("submission_key")
    assert len(first) >= 24
    assert first != second


# --- bad input, field by field -------------------------------------------------------

#: Far enough ahead to stay in the future wherever and whenever the suite runs: "tomorrow"
#: by this machine's date was today in the office's zone (Berlin) after 23:00 UTC, and
#: today for every test that ran after midnight.
FUTURE = (date.today() + timedelta(days=30)).isoformat()
NOT_FILLED = "Bitte ausfüllen."

#: (field with the error, changes to the valid form, words of the error message).
BAD_INPUT = [
    ("first_name", {"first_name": ""}, "Dieses Feld wird benötigt."),
    ("first_name", {"first_name": "x" * 101}, "100"),
    ("last_name", {"last_name": ""}, "Dieses Feld wird benötigt."),
    ("last_name", {"last_name": "x" * 101}, "100"),
    ("birth_date", {"birth_date": ""}, "gültiges Datum"),
    ("birth_date", {"birth_date": "17.05.kein Datum"}, "gültiges Datum"),
    ("birth_date", {"birth_date": FUTURE}, "Geburtsdatum"),
    ("birth_date", {"birth_date": "1800-01-01"}, "Geburtsdatum"),
    ("street", {"street": ""}, "Dieses Feld wird benötigt."),
    ("town", {"town": "   "}, "Dieses Feld wird benötigt."),
    ("postcode", {"postcode": "123"}, "fünfstellige Postleitzahl"),
    ("postcode", {"postcode": "abcde"}, "fünfstellige Postleitzahl"),
    ("email", {"email": "erika-at-example.org"}, "E-Mail"),
    ("phone", {"phone": "1" * 41}, "40"),
    ("password", {"password": "kurz"}, "Mindestens 10 Zeichen"),
    ("card_type", {"card_type": "platin"}, "Auswahl"),
    ("office", {"office": "99999"}, "Auswahl"),
    ("office", {"office": "Dessau"}, "Auswahl"),
    ("consent", {"consent": None}, "Einwilligung"),
    ("first_name", {"first_name": "Er\x00ika"}, "Steuerzeichen"),
    ("street", {"street": "Zerbster\x1bStraße"}, "Steuerzeichen"),
    ("engagements-0-activity", {"engagements-0-activity": "Jugend\x00arbeit"}, "Steuerzeichen"),
    *(
        (f"engagements-0-{name}", {f"engagements-0-{name}": ""}, NOT_FILLED)
        for name in (
            "organisation_name",
            "contact_name",
            "contact_email",
            "activity",
            "hours",
            "engaged_since",
        )
    ),
    ("engagements-0-contact_email", {"engagements-0-contact_email": "vorstand@"}, "E-Mail"),
    ("engagements-0-hours", {"engagements-0-hours": "0"}, "0,5"),
    ("engagements-0-hours", {"engagements-0-hours": "-1"}, "0,5"),
    ("engagements-0-hours", {"engagements-0-hours": "200"}, "168"),
    ("engagements-0-hours", {"engagements-0-hours": "abc"}, "Dezimalzahl"),
    ("engagements-0-hours", {"engagements-0-hours": "NaN"}, "0,5"),
    ("engagements-0-hours", {"engagements-0-hours": "-Infinity"}, "0,5"),
    ("engagements-0-hours", {"engagements-0-hours": "1e999999"}, "0,5"),
    ("engagements-0-engaged_since", {"engagements-0-engaged_since": FUTURE}, "Zukunft"),
    ("engagements-0-engaged_since", {"engagements-0-engaged_since": "gestern"}, "Datum"),
    ("engagements-0-allowance", {"engagements-0-allowance": "-5"}, "Betrag in Euro"),
    ("engagements-0-allowance", {"engagements-0-allowance": "x"}, "Betrag in Euro"),
    ("engagements-0-organisation_postcode", {"engagements-0-organisation_postcode": "12"}, "fünf"),
    (
        "engagements-0-organisation_name",
        blank_engagement_row(),
        "mindestens eine Organisation",
    ),
    ("proof", {"qualification": "juleica"}, "Nachweis der Qualifikation"),
    # The name is printed on the card; its typeface has Latin, Greek and Cyrillic only.
    ("last_name", {"last_name": "山田"}, "nicht gedruckt werden: 山 田"),
]

#: Typed values that must survive any error (unless their own field is the bad one).
KEPT = {
    "first_name": "Erika",
    "town": "Dessau-Roßlau",
    "engagements-0-organisation_name": "TSV Dessau",
    "engagements-0-activity": "Übungsleiterin im Jugendfußball",
}


@pytest.mark.parametrize(
    ("field", "changes", "message"),
    BAD_INPUT,
    ids=[f"{field}={next(iter(changes.values()))!s:.12}" for field, changes, _ in BAD_INPUT],
)
def test_bad_input_is_shown_at_the_field_and_typed_data_kept(
    client: FlaskClient, ctx: None, field: str, changes: dict[str, str | None], message: str
) -> None:
    """Each bad field: 400, its error beside it (aria-invalid), everything else kept."""
    office = make_office()
    data = application_form_data(office, **changes)

    response = submit(client, data)

    assert response.status_code == 400
    page = FormPage(page_text(response))
    assert "error-summary" in page.ids
    assert message in page.error(field), page.texts
    attributes = page.field(field)
    if attributes.get("type") != "radio":  # see test_radio_group_error_marks_options_invalid
        assert attributes.get("aria-invalid") == "true"
        assert f"{field}-error" in attributes.get("aria-describedby", "").split()
    for name, value in KEPT.items():
        if name not in changes:
            assert page.value(name) == value, name
    typed = changes.get(field)
    if typed and field not in ("office", "card_type"):
        assert page.value(field) == typed
    # Never emptied, the password included (issue #14): typing it again was a stumble.
    assert page.value("password") == data["password"]
    assert page.value("submission_key") == data["submission_key"]
    assert count(Application) == 0
    assert count(User) == 0


def test_radio_group_error_marks_options_invalid(client: FlaskClient, ctx: None) -> None:
    """An unknown card type marks the radio options aria-invalid for screen readers."""
    office = make_office()
    response = submit(client, application_form_data(office, card_type="platin"))
    assert response.status_code == 400
    page = FormPage(page_text(response))
    assert all(option.get("aria-invalid") == "true" for option in page.inputs["card_type"])


def test_errors_on_several_fields_are_all_shown(client: FlaskClient, ctx: None) -> None:
    """All wrong fields are reported at once, not one per attempt."""
    office = make_office()
    data = application_form_data(
        office, postcode="1", email="kaputt", **{"engagements-0-hours": "abc"}
    )
    response = submit(client, data)
    assert response.status_code == 400
    page = FormPage(page_text(response))
    for name in ("postcode", "email", "engagements-0-hours"):
        assert page.field(name).get("aria-invalid") == "true", name
        assert page.error(name)
    assert page.field("first_name").get("aria-invalid") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("submission_key", "k" * 500),
        ("submission_key", "key\x00"),
        ("submission_key", ""),
        ("proof_token", "token\x00"),
        ("proof_token", "t" * 500),
    ],
)
def test_tampered_hidden_fields_are_not_a_server_error(
    client: FlaskClient, ctx: None, field: str, value: str
) -> None:
    """A hidden field too long for its column, with a NUL, or empty: no 500."""
    office = make_office()
    response = submit(client, application_form_data(office, **{field: value}))
    assert response.status_code == 302
    key = db.session.scalars(select(Application)).one().submission_key
    assert 0 < len(key) <= 64
    assert "\x00" not in key


def test_signed_in_staff_cannot_use_the_form(client: FlaskClient, ctx: None) -> None:
    """Clerks do not apply with their staff account."""
    office = make_office()
    sign_in(client, make_user(UserRole.CLERK, office))
    assert client.get(FORM).status_code == 403


def test_form_without_offices_is_not_found(client: FlaskClient, ctx: None) -> None:
    """Before any office is set up there is nothing to apply to."""
    assert client.get(FORM).status_code == 404


# --- adding an engagement row --------------------------------------------------------


def test_add_engagement_adds_a_row_and_keeps_everything(client: FlaskClient, ctx: None) -> None:
    """ "Weitere Organisation hinzufügen" renders one more row, no errors, data kept."""
    office = make_office()
    data = application_form_data(office, add_engagement="Weitere Organisation hinzufügen")
    data.pop("consent")  # the form is not finished yet: still no error

    response = submit(client, data)

    assert response.status_code == 200
    page = FormPage(page_text(response))
    assert "error-summary" not in page.ids
    assert not any(key.endswith("-error") for key in page.texts)
    assert page.value("engagements-1-organisation_name") == ""
    assert "engagements-2-organisation_name" not in page.inputs
    for name in ("first_name", "email", "engagements-0-organisation_name", "engagements-0-hours"):
        assert page.value(name) == data[name], name
    assert page.value("submission_key") == data["submission_key"]
    assert count(Application) == 0


def test_add_engagement_twice_gives_three_rows(client: FlaskClient, ctx: None) -> None:
    """Rows can be added repeatedly; every typed row is kept."""
    office = make_office()
    data = application_form_data(
        office,
        add_engagement="Weitere Organisation hinzufügen",
        **{"engagements-1-organisation_name": "DLRG"},
    )
    page = FormPage(page_text(submit(client, data)))
    assert page.value("engagements-1-organisation_name") == "DLRG"
    assert page.value("engagements-2-organisation_name") == ""


def test_add_engagement_stops_at_ten_rows(client: FlaskClient, ctx: None) -> None:
    """A crafted "add" with ten rows already keeps ten rows instead of failing."""
    office = make_office()
    rows = {f"engagements-{i}-organisation_name": f"Verein {i}" for i in range(10)}
    data = application_form_data(office, add_engagement="Weitere Organisation hinzufügen", **rows)
    response = submit(client, data)
    assert response.status_code == 200
    page = FormPage(page_text(response))
    assert page.value("engagements-9-organisation_name") == "Verein 9"
    assert "engagements-10-organisation_name" not in page.inputs
    assert "add_engagement" not in page.inputs


# --- duplicates ----------------------------------------------------------------------


def test_double_click_creates_one_application(client: FlaskClient, make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    """The same form POSTed twice (same key, same browser session) makes one application."""
    office = make_office()
    data = application_form_data(office)
    data["csrf_token"] = csrf_token(client, FORM)
    # The second click leaves the browser before the first answer (and its new session
    # cookie) arrives, so it carries the cookie the form was loaded with.
    second_click = make_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    second_click.set_cookie("session", cookie.value)

    first = client.post(FORM, data=data)
    second = second_click.post(FORM, data=data)

    assert first.status_code == second.status_code == 302, page_text(second)[:2000]
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Application) == 1
    assert count(User) == 1
    assert second_click.get(first.headers["Location"]).status_code == 200


def test_open_application_blocks_a_second_one(client: FlaskClient, ctx: None) -> None:
    """A signed-in volunteer with an open application is told so; no second one."""
    office = make_office()
    volunteer = make_user(UserRole.VOLUNTEER)
    existing = make_application(office, volunteer, state=ApplicationState.IN_REVIEW)
    sign_in(client, volunteer)

    response = submit(client, application_form_data(office, email=volunteer.email))

    assert response.status_code == 302
    assert response.headers["Location"] == "/konto/"
    follow = page_text(client.get("/konto/"))
    assert "Sie haben bereits einen offenen Antrag bei dieser Ausgabestelle." in follow
    assert db.session.scalars(select(Application.id)).all() == [existing.id]


def test_decided_application_does_not_block_a_new_one(client: FlaskClient, ctx: None) -> None:
    """After a rejection the volunteer may apply again."""
    office = make_office()
    volunteer = make_user(UserRole.VOLUNTEER)
    make_application(office, volunteer, state=ApplicationState.REJECTED)
    sign_in(client, volunteer)
    response = submit(client, application_form_data(office, email=volunteer.email))
    assert response.status_code == 302
    assert count(Application) == 2


def test_existing_account_must_sign_in_first(client: FlaskClient, ctx: None) -> None:
    """An anonymous visitor using a registered address gets 409, data kept, no application."""
    office = make_office()
    make_user(UserRole.VOLUNTEER, email="vergeben@example.org")
    data = application_form_data(office, email="Vergeben@Example.org")

    response = submit(client, data)

    assert response.status_code == 409
    page = FormPage(page_text(response))
    assert "Bitte melden Sie sich zuerst an" in page.error("email")
    assert page.field("email").get("aria-invalid") == "true"
    assert page.value("first_name") == "Erika"
    assert page.value("engagements-0-organisation_name") == "TSV Dessau"
    assert "/anmelden/link" in page_text(response)
    assert count(Application) == 0
    assert count(User) == 1


def test_database_refuses_a_second_open_application(ctx: None) -> None:
    """The partial unique index allows one open application per applicant and office."""
    office = make_office()
    other_office = make_office()
    volunteer = make_user(UserRole.VOLUNTEER)
    make_application(office, volunteer, state=ApplicationState.REJECTED)
    make_application(office, volunteer, state=ApplicationState.WITHDRAWN)
    make_application(office, volunteer, state=ApplicationState.IN_REVIEW)
    make_application(other_office, volunteer, state=ApplicationState.SUBMITTED)

    with pytest.raises(IntegrityError, match=r"(?i)unique|duplicate"):
        make_application(office, volunteer, state=ApplicationState.SUBMITTED)
    db.session.rollback()
    assert count(Application) == 4


def test_simultaneous_double_click_creates_one_application_and_no_error(
    client: FlaskClient, make_client, ctx: None
) -> None:  # type: ignore[no-untyped-def]
    """Two POSTs of the same form at the same moment: one application, both redirected."""
    office = make_office()
    data = application_form_data(office)
    data["csrf_token"] = csrf_token(client, FORM)
    cookie = client.get_cookie("session")
    assert cookie is not None
    clients = [make_client(), make_client()]
    for each in clients:
        each.set_cookie("session", cookie.value)

    def click(each: FlaskClient, meet: Meet) -> TestResponse:
        meet()
        return each.post(FORM, data=data)

    responses = at_once(*(partial(click, each) for each in clients))

    assert [r.status_code for r in responses] == [302, 302], [page_text(r)[:500] for r in responses]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert count(Application) == 1
    assert count(User) == 1
