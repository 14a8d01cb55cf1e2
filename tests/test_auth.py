"""Signing in: passwords, the staff second factor, one-time links, e-mail confirmation,
signing out, and sessions that end when the account changes."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ehrenamt.accounts import links as accounts_links
from ehrenamt.accounts import users
from ehrenamt.core import security
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    LinkPurpose,
    OneTimeLink,
    OutboxMessage,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import PASSWORD, make_office, make_user, submit_application_for
from tests.helpers import csrf_token, page_text, post, sign_in
from tests.mailbox import Mailbox, links_in, path_of

WRONG_CREDENTIALS = "E-Mail-Adresse oder Passwort ist falsch."
WRONG_CODE = "Der Code ist falsch oder wurde schon verwendet."


def password_step(client: FlaskClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """POST the sign-in form like a browser."""
    return post(client, "/anmelden", {"email": email, "password": password}, page="/anmelden")


def is_signed_in_as_volunteer(client: FlaskClient) -> bool:
    """Whether the client reaches the volunteer's account page."""
    return client.get("/konto/").status_code == 200


def is_signed_in_as_staff(client: FlaskClient) -> bool:
    """Whether the client reaches the staff queue."""
    return client.get("/verwaltung/").status_code == 200


def wrong_code_for(secret: str) -> str:
    """Six digits that are not valid for this secret in any accepted time step."""
    totp = pyotp.TOTP(secret)
    step = int(time.time()) // totp.interval
    valid = {totp.generate_otp(s) for s in range(step - 2, step + 3)}
    return next(code for code in ("000000", "111111", "123456", "654321") if code not in valid)


def current_code(user: User) -> str:
    """The code of the current 30-second step: valid for this step and the next.

    (A code of the previous step, as ``next_totp`` may give, expires at the next step
    boundary, which a test with two argon2 password checks in between can cross.)
    """
    return pyotp.TOTP(user.totp_secret or "").now()


def outbox_count() -> int:
    """How many messages (mails, jobs) have been queued."""
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


# --- passwords ----------------------------------------------------------------------


def test_volunteer_signs_in_with_right_password(client: FlaskClient, ctx: None) -> None:
    """The right password signs a volunteer in and leads to their account."""
    volunteer = make_user(UserRole.VOLUNTEER)
    response = password_step(client, volunteer.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/konto/"
    assert is_signed_in_as_volunteer(client)


def test_email_is_matched_case_insensitively(client: FlaskClient, ctx: None) -> None:
    """Upper case in the address does not matter."""
    make_user(UserRole.VOLUNTEER, email="erika@example.org")
    assert password_step(client, "Erika@Example.ORG").status_code == 302
    assert is_signed_in_as_volunteer(client)


def test_wrong_password_is_refused(client: FlaskClient, ctx: None) -> None:
    """A wrong password shows an error next to the field and signs nobody in."""
    volunteer = make_user(UserRole.VOLUNTEER)
    response = password_step(client, volunteer.email, "not the password")
    assert response.status_code == 200
    assert WRONG_CREDENTIALS in page_text(response)
    assert volunteer.email in page_text(response), "the typed address is kept"
    assert not is_signed_in_as_volunteer(client)


def test_unknown_email_and_wrong_password_look_the_same(make_client, ctx: None) -> None:
    """Nobody can find out from the answer whether an address has an account."""
    volunteer = make_user(UserRole.VOLUNTEER, email="known@example.org")
    pages = []
    for email, password in [
        (volunteer.email, "not the password"),
        ("unknown@example.org", PASSWORD),
    ]:
        client = make_client()
        response = password_step(client, email, password)
        body = page_text(response).replace(email, "EMAIL")
        body = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "CSRF", body)
        body = re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", body)
        pages.append((response.status_code, body))
    assert pages[0] == pages[1]
    assert WRONG_CREDENTIALS in pages[0][1]


def test_deactivated_account_cannot_sign_in(client: FlaskClient, ctx: None) -> None:
    """A deactivated account gets the same error as a wrong password."""
    volunteer = make_user(UserRole.VOLUNTEER)
    volunteer.active = False
    db.session.commit()
    response = password_step(client, volunteer.email)
    assert response.status_code == 200
    assert WRONG_CREDENTIALS in page_text(response)
    assert not is_signed_in_as_volunteer(client)


def test_passwords_are_stored_as_argon2id_hashes(ctx: None) -> None:
    """Only an argon2id hash of the password is stored, and it verifies."""
    volunteer = make_user(UserRole.VOLUNTEER)
    stored = db.session.scalar(select(User.password_hash).where(User.id == volunteer.id))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert security.verify_password(stored, PASSWORD)
    assert not security.verify_password(stored, PASSWORD + "x")


def test_volunteer_without_password_cannot_sign_in_with_any_password(
    client: FlaskClient, ctx: None
) -> None:
    """An account that only uses e-mailed links has no password that works."""
    volunteer = make_user(UserRole.VOLUNTEER, password=None)
    response = password_step(client, volunteer.email, "")
    assert response.status_code == 200
    response = password_step(client, volunteer.email, "anything at all")
    assert WRONG_CREDENTIALS in page_text(response)
    assert not is_signed_in_as_volunteer(client)


# --- staff: the second factor -------------------------------------------------------


@pytest.mark.parametrize("role", [UserRole.CLERK, UserRole.ADMIN])
def test_staff_password_alone_does_not_sign_in(
    client: FlaskClient, ctx: None, role: UserRole
) -> None:
    """After the right password staff are sent to the second factor, not into the office."""
    clerk = make_user(role, make_office())
    response = password_step(client, clerk.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/anmelden/zweiter-faktor"
    denied = client.get("/verwaltung/")
    assert denied.status_code == 302
    assert denied.headers["Location"].startswith("/anmelden")
    assert client.get("/anmelden/zweiter-faktor").status_code == 200


def test_wrong_totp_code_is_rejected(client: FlaskClient, ctx: None) -> None:
    """A wrong code shows an error next to the field and signs nobody in."""
    clerk = make_user(UserRole.CLERK, make_office())
    password_step(client, clerk.email)
    response = post(
        client,
        "/anmelden/zweiter-faktor",
        {"code": wrong_code_for(clerk.totp_secret or "")},
        page="/anmelden/zweiter-faktor",
    )
    assert response.status_code == 200
    assert WRONG_CODE in page_text(response)
    assert 'id="code-error"' in page_text(response)
    assert not is_signed_in_as_staff(client)


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1234567"])
def test_malformed_totp_code_gets_a_field_error(client: FlaskClient, ctx: None, code: str) -> None:
    """Anything but six digits gets an error at the field, never a 500."""
    clerk = make_user(UserRole.CLERK, make_office())
    password_step(client, clerk.email)
    response = post(
        client, "/anmelden/zweiter-faktor", {"code": code}, page="/anmelden/zweiter-faktor"
    )
    assert response.status_code == 200
    assert 'id="code-error"' in page_text(response)
    assert not is_signed_in_as_staff(client)


def test_correct_totp_code_signs_staff_in(client: FlaskClient, ctx: None) -> None:
    """Password plus a fresh code lead into the staff queue."""
    clerk = make_user(UserRole.CLERK, make_office())
    password_step(client, clerk.email)
    response = post(
        client,
        "/anmelden/zweiter-faktor",
        {"code": current_code(clerk)},
        page="/anmelden/zweiter-faktor",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/verwaltung/"
    assert is_signed_in_as_staff(client)


def test_totp_code_cannot_be_used_twice(make_client, ctx: None) -> None:
    """A code that signed someone in is refused the second time (replay)."""
    clerk = make_user(UserRole.CLERK, make_office())
    code = current_code(clerk)
    first, second = make_client(), make_client()
    password_step(first, clerk.email)
    ok = post(first, "/anmelden/zweiter-faktor", {"code": code}, page="/anmelden/zweiter-faktor")
    assert ok.status_code == 302
    password_step(second, clerk.email)
    replay = post(
        second, "/anmelden/zweiter-faktor", {"code": code}, page="/anmelden/zweiter-faktor"
    )
    assert replay.status_code == 200
    assert WRONG_CODE in page_text(replay)
    assert not is_signed_in_as_staff(second)


def test_password_step_expires_after_five_minutes(client: FlaskClient, ctx: None) -> None:
    """A code given more than 5 minutes after the password does not sign in."""
    clerk = make_user(UserRole.CLERK, make_office())
    password_step(client, clerk.email)
    code = current_code(clerk)
    with client.session_transaction() as session:
        session["pending_since"] = time.time() - 301
    page = client.get("/anmelden/zweiter-faktor")
    assert page.status_code == 302
    assert page.headers["Location"] == "/anmelden"
    response = post(client, "/anmelden/zweiter-faktor", {"code": code}, page="/anmelden")
    assert response.status_code == 302
    assert response.headers["Location"] == "/anmelden"
    assert not is_signed_in_as_staff(client)
    db.session.refresh(clerk)
    assert clerk.totp_last_step is None, "the code was not even checked"


def test_second_factor_page_needs_the_password_first(client: FlaskClient, ctx: None) -> None:
    """Without the password step the second-factor pages send back to sign in."""
    for path in ("/anmelden/zweiter-faktor", "/anmelden/authenticator-einrichten"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == "/anmelden"


def test_first_staff_sign_in_goes_to_enrolment(client: FlaskClient, ctx: None) -> None:
    """Staff without a TOTP secret see the enrolment page with the secret and a QR image."""
    clerk = make_user(UserRole.CLERK, make_office(), totp=False)
    response = password_step(client, clerk.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/anmelden/authenticator-einrichten"
    assert client.get("/anmelden/zweiter-faktor").headers["Location"] == (
        "/anmelden/authenticator-einrichten"
    )
    page = page_text(client.get("/anmelden/authenticator-einrichten"))
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret, page
    assert '<img src="data:image/svg+xml;base64,' in page
    assert not is_signed_in_as_staff(client)
    # The secret stays the same while the page is reloaded.
    assert secret.group(1) in page_text(client.get("/anmelden/authenticator-einrichten"))


def test_enrolment_code_saves_secret_and_signs_in(client: FlaskClient, ctx: None) -> None:
    """A code for the shown secret enrols the authenticator, signs in, and shows the
    recovery codes once, with the way on to the staff queue."""
    clerk = make_user(UserRole.CLERK, make_office(), totp=False)
    password_step(client, clerk.email)
    page = page_text(client.get("/anmelden/authenticator-einrichten"))
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    wrong = post(
        client,
        "/anmelden/authenticator-einrichten",
        {"code": wrong_code_for(secret)},
        page="/anmelden/authenticator-einrichten",
    )
    assert wrong.status_code == 200
    assert "Der Code ist falsch" in page_text(wrong)
    response = post(
        client,
        "/anmelden/authenticator-einrichten",
        {"code": pyotp.TOTP(secret).now()},
        page="/anmelden/authenticator-einrichten",
    )
    assert response.status_code == 200
    assert len(re.findall(r"<li><code>[A-Z2-9-]{19}</code></li>", page_text(response))) == 10
    assert 'href="/verwaltung/"' in page_text(response)
    assert is_signed_in_as_staff(client)
    db.session.refresh(clerk)
    assert clerk.totp_secret == secret
    assert clerk.totp_last_step is not None


# --- one-time sign-in links ---------------------------------------------------------


def request_link(client: FlaskClient, email: str):  # type: ignore[no-untyped-def]
    """POST the form asking for a sign-in link."""
    return post(client, "/anmelden/link", {"email": email}, page="/anmelden/link")


def sign_in_link(mailbox: Mailbox, email: str) -> str:
    """The path of the sign-in link mailed to ``email``."""
    [mail] = mailbox.wait_for(to=email, subject="Anmeldelink")
    [link] = [u for u in links_in(mail) if "/anmelden/link/" in u]
    return path_of(link)


@pytest.mark.worker
def test_sign_in_link_is_mailed_to_a_volunteer(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """Asking for a link mails one to the volunteer; only its hash is stored."""
    volunteer = make_user(UserRole.VOLUNTEER)
    response = request_link(client, volunteer.email)
    assert response.status_code == 302
    path = sign_in_link(mailbox, volunteer.email)
    token = path.rsplit("/", 1)[1]
    stored = db.session.scalar(select(OneTimeLink).where(OneTimeLink.user_id == volunteer.id))
    assert stored is not None
    assert stored.purpose == LinkPurpose.SIGN_IN
    assert stored.token_hash == security.hash_token(token)
    assert stored.token_hash != token


@pytest.mark.worker
@pytest.mark.parametrize("who", ["unknown", "clerk", "deactivated"])
def test_sign_in_link_request_answers_the_same_for_everyone(
    make_client, ctx: None, mailbox: Mailbox, who: str
) -> None:
    """Unknown addresses, staff and deactivated accounts get no mail, and the same answer."""
    volunteer = make_user(UserRole.VOLUNTEER)
    other = {
        "unknown": lambda: "nobody@example.org",
        "clerk": lambda: make_user(UserRole.CLERK, make_office()).email,
        "deactivated": lambda: _deactivated_volunteer().email,
    }[who]()
    before = outbox_count()
    client = make_client()
    response = request_link(client, other)
    answer = page_text(client.get(response.headers["Location"]))
    assert outbox_count() == before, "no mail queued"
    assert not db.session.scalar(
        select(func.count()).select_from(OneTimeLink).where(OneTimeLink.purpose == "sign_in")
    )

    reference = make_client()
    expected = request_link(reference, volunteer.email)
    assert (response.status_code, response.headers["Location"]) == (
        expected.status_code,
        expected.headers["Location"],
    )
    message = "Wenn es ein Konto zu dieser Adresse gibt, haben wir einen Anmeldelink gesendet."
    assert message in answer
    assert message in page_text(reference.get(expected.headers["Location"]))
    mailbox.wait_for(to=volunteer.email, subject="Anmeldelink")
    assert all(other not in str(m["To"]) for m in mailbox.messages)


def _deactivated_volunteer() -> User:
    user = make_user(UserRole.VOLUNTEER)
    user.active = False
    db.session.commit()
    return user


@pytest.mark.worker
def test_get_of_sign_in_link_shows_a_button_only(
    client: FlaskClient, ctx: None, mailbox: Mailbox
) -> None:
    """Following the link (as mail scanners do) only shows a button; it signs nobody in."""
    volunteer = make_user(UserRole.VOLUNTEER)
    request_link(make_client_for(client), volunteer.email)
    path = sign_in_link(mailbox, volunteer.email)
    response = client.get(path)
    assert response.status_code == 200
    assert '<form method="post">' in page_text(response)
    assert "Weiter" in page_text(response)
    assert not is_signed_in_as_volunteer(client)
    db.session.rollback()
    assert db.session.scalar(select(OneTimeLink.used_at)) is None


def make_client_for(client: FlaskClient) -> FlaskClient:
    """Another client of the same app (a different browser)."""
    return client.application.test_client()


@pytest.mark.worker
def test_post_of_sign_in_link_signs_in_once(make_client, ctx: None, mailbox: Mailbox) -> None:
    """The button signs in; the same link used again is gone (410)."""
    volunteer = make_user(UserRole.VOLUNTEER)
    request_link(make_client(), volunteer.email)
    path = sign_in_link(mailbox, volunteer.email)
    first = make_client()
    response = post(first, path, page=path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/konto/"
    assert is_signed_in_as_volunteer(first)

    second = make_client()
    again = post(second, path, page=path)
    assert again.status_code == 410
    assert "Dieser Link wurde bereits verwendet." in page_text(again)
    assert not is_signed_in_as_volunteer(second)


@pytest.mark.worker
def test_expired_sign_in_link_is_gone(make_client, ctx: None, mailbox: Mailbox) -> None:
    """A link past its expiry gives 410 and signs nobody in."""
    volunteer = make_user(UserRole.VOLUNTEER)
    request_link(make_client(), volunteer.email)
    path = sign_in_link(mailbox, volunteer.email)
    link = db.session.scalar(select(OneTimeLink).where(OneTimeLink.user_id == volunteer.id))
    assert link is not None
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    client = make_client()
    response = post(client, path, page=path)
    assert response.status_code == 410
    assert "abgelaufen" in page_text(response)
    assert not is_signed_in_as_volunteer(client)


@pytest.mark.worker
def test_sign_in_link_is_valid_for_thirty_minutes(
    app: Flask, make_client, ctx: None, mailbox: Mailbox
) -> None:
    """A fresh link expires after LOGIN_LINK_MAX_AGE (30 minutes by default)."""
    volunteer = make_user(UserRole.VOLUNTEER)
    request_link(make_client(), volunteer.email)
    sign_in_link(mailbox, volunteer.email)
    link = db.session.scalar(select(OneTimeLink).where(OneTimeLink.user_id == volunteer.id))
    assert link is not None
    lifetime = link.expires_at - link.created_at
    assert app.config["LOGIN_LINK_MAX_AGE"] == timedelta(minutes=30)
    assert abs(lifetime - timedelta(minutes=30)) < timedelta(seconds=5)


@pytest.mark.worker
def test_tampered_sign_in_link_is_not_found(make_client, ctx: None, mailbox: Mailbox) -> None:
    """A changed token is unknown (404) and signs nobody in."""
    volunteer = make_user(UserRole.VOLUNTEER)
    request_link(make_client(), volunteer.email)
    path = sign_in_link(mailbox, volunteer.email)
    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    client = make_client()
    response = post(client, tampered, page=tampered)
    assert response.status_code == 404
    assert "Dieser Link ist ungültig." in page_text(response)
    assert not is_signed_in_as_volunteer(client)
    # The real link still works afterwards.
    assert post(client, path, page=path).status_code == 302


def test_sign_in_link_of_deactivated_account_does_not_work(client: FlaskClient, ctx: None) -> None:
    """A link issued before the account was deactivated no longer signs in."""
    volunteer = make_user(UserRole.VOLUNTEER)
    token = accounts_links.issue_link(volunteer, LinkPurpose.SIGN_IN, timedelta(minutes=30))
    volunteer.active = False
    db.session.commit()
    path = f"/anmelden/link/{token}"
    response = post(client, path, page=path)
    assert response.status_code == 404
    assert not is_signed_in_as_volunteer(client)


def test_email_confirmation_link_cannot_sign_in_as_sign_in_link(
    client: FlaskClient, ctx: None
) -> None:
    """A token made for one purpose does not work for another."""
    volunteer = make_user(UserRole.VOLUNTEER)
    token = accounts_links.issue_link(volunteer, LinkPurpose.CONFIRM_EMAIL, timedelta(days=7))
    db.session.commit()
    path = f"/anmelden/link/{token}"
    assert post(client, path, page=path).status_code == 404
    assert not is_signed_in_as_volunteer(client)


# --- confirming the e-mail address --------------------------------------------------


@pytest.mark.worker
def test_email_confirmation_moves_application_on(make_client, ctx: None, mailbox: Mailbox) -> None:
    """The confirmation link confirms the address; the application goes to the organisation."""
    office = make_office()
    application = submit_application_for(office, email="neu@example.org")
    assert application.state == ApplicationState.SUBMITTED
    contact = application.engagements[0].contact_email
    [mail] = mailbox.wait_for(to="neu@example.org", subject="E-Mail-Adresse")
    [link] = [u for u in links_in(mail) if "/email-bestaetigen/" in u]
    path = path_of(link)

    client = make_client()
    shown = client.get(path)
    assert shown.status_code == 200
    db.session.rollback()
    assert db.session.get(Application, application.id).state == ApplicationState.SUBMITTED  # type: ignore[union-attr]

    response = post(client, path, page=path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/konto/"
    assert is_signed_in_as_volunteer(client)
    db.session.rollback()
    user = users.find_user("neu@example.org")
    assert user is not None
    assert user.email_confirmed_at is not None
    refreshed = db.session.get(Application, application.id)
    assert refreshed is not None
    assert refreshed.state == ApplicationState.AWAITING_CONFIRMATION
    [request] = mailbox.wait_for(to=contact, subject="Bitte bestätigen Sie das Engagement")
    assert any("/bestaetigung/" in u for u in links_in(request))
    mailbox.wait_for(to="neu@example.org", subject="eingegangen")

    reused = post(make_client(), path, page=path)
    assert reused.status_code == 410


def test_tampered_email_confirmation_link_is_not_found(client: FlaskClient, ctx: None) -> None:
    """A changed token gives 404 and confirms nothing."""
    volunteer = make_user(UserRole.VOLUNTEER, confirmed=False)
    accounts_links.issue_link(volunteer, LinkPurpose.CONFIRM_EMAIL, timedelta(days=7))
    db.session.commit()
    path = "/email-bestaetigen/" + security.new_token()
    assert post(client, path, page=path).status_code == 404
    db.session.refresh(volunteer)
    assert volunteer.email_confirmed_at is None


# --- signing out and ending sessions -------------------------------------------------


def test_logout_needs_post_with_csrf_token(client: FlaskClient, ctx: None) -> None:
    """Signing out is a POST with the CSRF token; without it the session stays."""
    volunteer = make_user(UserRole.VOLUNTEER)
    sign_in(client, volunteer)
    assert client.get("/abmelden").status_code == 405
    forged = client.post("/abmelden")
    assert forged.status_code == 400
    assert is_signed_in_as_volunteer(client)

    response = post(client, "/abmelden", page="/konto/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Sie sind abgemeldet." in page_text(client.get("/"))
    denied = client.get("/konto/")
    assert denied.status_code == 302
    assert denied.headers["Location"].startswith("/anmelden")


def test_logout_ends_staff_session(client: FlaskClient, ctx: None) -> None:
    """After signing out, staff need password and code again."""
    clerk = make_user(UserRole.CLERK, make_office())
    sign_in(client, clerk)
    post(client, "/abmelden", page="/verwaltung/")
    assert not is_signed_in_as_staff(client)
    assert client.get("/anmelden/zweiter-faktor").status_code == 302


def test_deactivated_user_is_signed_out_on_next_request(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    """`flask ehrenamt deactivate-user` ends the running session of that user."""
    clerk = make_user(UserRole.CLERK, make_office())
    sign_in(client, clerk)
    assert is_signed_in_as_staff(client)
    result = app.test_cli_runner().invoke(args=["ehrenamt", "deactivate-user", clerk.email])
    assert result.exit_code == 0, result.output
    assert f"{clerk.email} deactivated" in result.output
    assert not is_signed_in_as_staff(client)
    db.session.refresh(clerk)
    assert clerk.active is False
    assert password_step(client, clerk.email).status_code == 200


def test_deactivate_user_unknown_address_fails(app: Flask, ctx: None) -> None:
    """The command refuses an address without an account."""
    result = app.test_cli_runner().invoke(
        args=["ehrenamt", "deactivate-user", "nobody@example.org"]
    )
    assert result.exit_code != 0
    assert "no such account" in result.output


def test_password_change_signs_out_other_sessions(make_client, ctx: None) -> None:
    """A new password bumps the session version: other browsers are signed out."""
    volunteer = make_user(UserRole.VOLUNTEER)
    here, elsewhere = make_client(), make_client()
    sign_in(here, volunteer)
    sign_in(elsewhere, volunteer)
    version = volunteer.session_version
    new_password = "a brand new passphrase"
    response = post(
        here,
        "/konto/passwort",
        {"password": new_password, "confirm": new_password},
        page="/konto/",
    )
    assert response.status_code == 302
    db.session.refresh(volunteer)
    assert volunteer.session_version == version + 1
    assert security.verify_password(volunteer.password_hash, new_password)
    assert is_signed_in_as_volunteer(here), "the browser that changed it stays signed in"
    assert not is_signed_in_as_volunteer(elsewhere)
    assert password_step(make_client(), volunteer.email).status_code == 200
    assert password_step(make_client(), volunteer.email, new_password).status_code == 302


def test_signed_in_visitor_is_sent_home_from_login(client: FlaskClient, ctx: None) -> None:
    """A signed-in volunteer opening the sign-in page lands on their account."""
    volunteer = make_user(UserRole.VOLUNTEER)
    sign_in(client, volunteer)
    response = client.get("/anmelden")
    assert response.status_code == 302
    assert response.headers["Location"] == "/konto/"
    assert csrf_token(client, "/konto/")


def test_password_hashes_take_their_cost_from_the_settings(app: Flask, ctx: None) -> None:
    """The production cost is argon2-cffi's (RFC 9106); tests run at the smallest one, and
    a hash made at another cost still verifies (it carries its own)."""
    from ehrenamt import config

    assert (
        config.PASSWORD_HASH_TIME_COST,
        config.PASSWORD_HASH_MEMORY_COST,
        config.PASSWORD_HASH_PARALLELISM,
    ) == (3, 65536, 4)
    cheap = security.hash_password(PASSWORD)
    assert "$m=8,t=1,p=1$" in cheap
    with app.test_request_context():
        app.config.update(PASSWORD_HASH_TIME_COST=2, PASSWORD_HASH_MEMORY_COST=16)
        try:
            dearer = security.hash_password(PASSWORD)
            assert "$m=16,t=2,p=1$" in dearer
            assert security.verify_password(cheap, PASSWORD)
        finally:
            app.config.update(PASSWORD_HASH_TIME_COST=1, PASSWORD_HASH_MEMORY_COST=8)
    assert security.verify_password(dearer, PASSWORD)
    assert not security.verify_password(None, PASSWORD)
