"""Sign in and out: password, second factor for staff, one-time links for volunteers."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from ehrenamt.accounts import links as accounts_links
from ehrenamt.accounts import recovery_codes as accounts_recovery_codes
from ehrenamt.accounts import second_factor as accounts_second_factor
from ehrenamt.accounts import users
from ehrenamt.accounts.links import LinkProblem, LinkRejected
from ehrenamt.accounts.second_factor import Outcome
from ehrenamt.applications import submission
from ehrenamt.core import security
from ehrenamt.extensions import db, limiter
from ehrenamt.models import STAFF_ROLES, LinkPurpose, User, UserRole
from ehrenamt.web.access import fresh_session, sign_in, staff_required
from ehrenamt.web.auth.forms import (
    LoginForm,
    NewRecoveryCodesForm,
    RecoveryCodeForm,
    SecondFactorForm,
    SignInLinkForm,
)
from ehrenamt.web.pages import link_error_page, one_time_link_page

bp = Blueprint("auth", __name__)

#: Seconds between password and second factor before the password must be given again.
SECOND_FACTOR_WINDOW = 300


def _login_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN"])


def link_limit() -> str:
    """The limit of requests that send or use an e-mailed link (per client, per address)."""
    return str(current_app.config["RATELIMIT_MAGIC_LINK"])


def email_key(prefix: str) -> Callable[[], str]:
    """A limit's key per e-mail address tried. Hashed: Flask-Limiter logs the key of every
    limit exceeded, and Redis would hold the addresses in its keys."""

    def key() -> str:
        return prefix + security.hash_token(users.normalise_email(request.form.get("email", "")))

    return key


def home_for(user: User) -> str:
    """Where a user lands after signing in."""
    if user.role == UserRole.PROGRAMME_ADMIN and user.office_id is None:
        return url_for("programme.offices")
    if user.role in STAFF_ROLES:
        return url_for("review.queue")
    if user.role == UserRole.PARTNER:
        return url_for("partners.area")
    return url_for("account.index")


@bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=email_key("login:"))
def login() -> str | Response:
    """Password sign-in; staff continue to the second factor."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            form.password.errors.append(_("E-Mail-Adresse oder Passwort ist falsch."))
        elif user.role in STAFF_ROLES:
            fresh_session()
            session["pending_user"] = user.get_id()
            session["pending_since"] = time.time()
            if user.totp_secret:
                return redirect(url_for("auth.second_factor"))
            return redirect(url_for("auth.enrol_second_factor"))
        else:
            sign_in(user)
            return redirect(_safe_next() or home_for(user))
    return render_template("auth/login.html", form=form)


def _safe_next() -> str | None:
    return security.local_path(request.args.get("next", ""))


def _pending_staff_user() -> User:
    pending = session.get("pending_user", "")
    since = session.get("pending_since", 0)
    if not pending or time.time() - float(since) > SECOND_FACTOR_WINDOW:
        abort(redirect(url_for("auth.login")))
    user_id, _sep, version = str(pending).partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or str(user.session_version) != version:
        abort(redirect(url_for("auth.login")))
    return user


@bp.route("/anmelden/zweiter-faktor", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def second_factor() -> str | Response | tuple[str, int]:
    """The TOTP code of a staff member whose password was right."""
    user = _pending_staff_user()
    if not user.totp_secret:
        return redirect(url_for("auth.enrol_second_factor"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        checked = accounts_second_factor.check_second_factor(user, form.code.data or "")
        if checked.outcome == Outcome.ACCEPTED:
            sign_in(user, second_factor=True)
            return redirect(home_for(user))
        if checked.outcome == Outcome.LOCKED:
            form.code.errors.append(_locked_message(checked.locked_until))
            return render_template("auth/second_factor.html", form=form), 429
        form.code.errors.append(_("Der Code ist falsch oder wurde schon verwendet."))
    return render_template("auth/second_factor.html", form=form)


@bp.route("/anmelden/wiederherstellungscode", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def recovery_code() -> str | Response | tuple[str, int]:
    """A recovery code instead of the authenticator's code (a lost or broken phone)."""
    user = _pending_staff_user()
    if not user.totp_secret:
        return redirect(url_for("auth.enrol_second_factor"))
    form = RecoveryCodeForm()
    if form.validate_on_submit():
        checked = accounts_second_factor.check_recovery_code(user, form.code.data or "")
        if checked.outcome == Outcome.ACCEPTED:
            sign_in(user, second_factor=True)
            flash(_("Sie sind mit einem Wiederherstellungscode angemeldet."), "info")
            return redirect(home_for(user))
        if checked.outcome == Outcome.LOCKED:
            form.code.errors.append(_locked_message(checked.locked_until))
            return render_template("auth/recovery_code.html", form=form), 429
        form.code.errors.append(
            _("Dieser Wiederherstellungscode ist falsch oder wurde schon verwendet.")
        )
    return render_template("auth/recovery_code.html", form=form)


@bp.route("/konto/wiederherstellungscodes", methods=["GET", "POST"])
@staff_required
def recovery_codes() -> str | Response:
    """How many recovery codes are left; a new set replaces the old one."""
    form = NewRecoveryCodesForm()
    if form.validate_on_submit():
        codes = accounts_second_factor.new_recovery_codes(current_user)
        return _show_recovery_codes(current_user, codes)
    left = accounts_recovery_codes.unused_count(current_user)
    return render_template("auth/recovery_codes_status.html", form=form, left=left)


def _show_recovery_codes(user: User, codes: list[str]) -> str:
    return render_template("auth/recovery_codes.html", codes=codes, next_url=home_for(user))


def _locked_message(until: datetime | None) -> str:
    if until is None:  # the last allowed attempt is being checked right now
        return _("Zu viele falsche Codes. Bitte versuchen Sie es später noch einmal.")
    return _(
        "Zu viele falsche Codes. Die Anmeldung mit diesem Konto ist bis %(time)s Uhr gesperrt.",
        time=format_time(until, "HH:mm"),
    )


@bp.route("/anmelden/authenticator-einrichten", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def enrol_second_factor() -> str | Response:
    """First sign-in of a staff member: set up the authenticator app."""
    user = _pending_staff_user()
    if user.totp_secret:
        return redirect(url_for("auth.second_factor"))
    secret = session.get("enrol_secret") or security.new_totp_secret()
    session["enrol_secret"] = secret
    form = SecondFactorForm()
    if form.validate_on_submit():
        codes = accounts_second_factor.enrol_totp(user, secret, form.code.data or "")
        if codes is not None:
            session.pop("enrol_secret", None)
            sign_in(user, second_factor=True)
            flash(_("Die Zwei-Faktor-Anmeldung ist eingerichtet."), "success")
            # Shown in this answer only: the codes are stored as hashes.
            return _show_recovery_codes(user, codes)
        form.code.errors.append(
            _("Der Code ist falsch. Bitte prüfen Sie die Uhrzeit Ihres Geräts.")
        )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Ehrenamtskarte")
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    qr_data_uri = "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
    return render_template("auth/enrol.html", form=form, secret=secret, qr_data_uri=qr_data_uri)


@bp.route("/anmelden/link", methods=["GET", "POST"])
@limiter.limit(link_limit, methods=["POST"])
# Per address too: many clients must not flood one person's mailbox with links.
@limiter.limit(link_limit, methods=["POST"], key_func=email_key("link:"))
def request_sign_in_link() -> str | Response:
    """Volunteers without a password get a one-time link by e-mail."""
    form = SignInLinkForm()
    if form.validate_on_submit():
        accounts_links.send_sign_in_link(form.email.data or "")
        # The same answer whether or not the address has an account.
        flash(
            _("Wenn es ein Konto zu dieser Adresse gibt, haben wir einen Anmeldelink gesendet."),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/request_link.html", form=form)


def _link_error(problem: LinkProblem) -> tuple[str, int]:
    return link_error_page(problem, offer_link_request=True)


def _use_link(
    token: str, purpose: LinkPurpose, then: Callable[[User], Response], *, title: str, intro: str
) -> str | Response | tuple[str, int]:
    """A volunteer's one-time link: ``then`` answers for its user once the link is used."""

    def use() -> Response | tuple[str, int]:
        try:
            user = accounts_links.consume_link(token, purpose)
        except LinkRejected as rejected:
            db.session.rollback()
            return _link_error(rejected.problem)
        return then(user)

    return one_time_link_page(use, title=title, intro=intro)


@bp.route("/anmelden/link/<token>", methods=["GET", "POST"])
@limiter.limit(link_limit, methods=["POST"])
def sign_in_with_link(token: str) -> str | Response | tuple[str, int]:
    """A one-time sign-in link; the GET only shows a button (mail scanners follow GETs)."""

    def signed_in(user: User) -> Response:
        if user.role != UserRole.VOLUNTEER:
            db.session.rollback()
            abort(403)
        if user.email_confirmed_at is None:
            # Using a link sent to the address proves the address.
            submission.confirm_applicant_email(user)
        db.session.commit()
        sign_in(user)
        return redirect(url_for("account.index"))

    return _use_link(
        token,
        LinkPurpose.SIGN_IN,
        signed_in,
        title=_("Anmelden"),
        intro=_("Klicken Sie auf „Weiter“, um sich anzumelden."),
    )


@bp.route("/email-bestaetigen/<token>", methods=["GET", "POST"])
@limiter.limit(link_limit, methods=["POST"])
def confirm_email(token: str) -> str | Response | tuple[str, int]:
    """The volunteer confirms their address; their application moves on."""

    def confirmed(user: User) -> Response:
        submission.confirm_applicant_email(user)
        sign_in(user)
        flash(_("Danke! Ihre E-Mail-Adresse ist bestätigt."), "success")
        return redirect(url_for("account.index"))

    return _use_link(
        token,
        LinkPurpose.CONFIRM_EMAIL,
        confirmed,
        title=_("E-Mail-Adresse bestätigen"),
        intro=_("Klicken Sie auf „Weiter“, um Ihre E-Mail-Adresse zu bestätigen."),
    )


@bp.route("/abmelden", methods=["POST"])
def logout() -> Response:
    """Sign out (a POST with CSRF token, so no other site can sign you out)."""
    logout_user()
    fresh_session()
    flash(_("Sie sind abgemeldet."), "info")
    return redirect(url_for("public.index"))
