"""Setting a password with an e-mailed link: a forgotten password, a staff invitation.

The pages a link opens show the form only; the link is used up by the form's POST, so a
mail scanner following the link changes nothing. Setting the password signs nobody in:
everyone signs in afterwards as usual, staff with their second factor.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ehrenamt.accounts import passwords
from ehrenamt.accounts.links import LinkRejected
from ehrenamt.extensions import db, limiter
from ehrenamt.models import LinkPurpose
from ehrenamt.web.auth.forms import ForgottenPasswordForm
from ehrenamt.web.auth.views import email_key, link_limit
from ehrenamt.web.forms import SetPasswordForm, form_status
from ehrenamt.web.pages import LINK_MESSAGES, LINK_STATUS

bp = Blueprint("passwords", __name__)


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
@limiter.limit(link_limit, methods=["POST"])
# Per address too: many clients must not flood one person's mailbox with links.
@limiter.limit(link_limit, methods=["POST"], key_func=email_key("reset:"))
def forgotten_password() -> tuple[str, int] | Response:
    """Ask for a link to set a new password; every role can."""
    form = ForgottenPasswordForm()
    if form.validate_on_submit():
        passwords.send_password_reset(form.email.data or "")
        # The same answer whether or not the address has an account.
        flash(
            _(
                "Wenn es ein Konto zu dieser Adresse gibt, haben wir einen Link zum Festlegen "
                "eines neuen Passworts gesendet."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgotten_password.html", form=form), form_status(form)


def _set_password_page(
    token: str, purpose: LinkPurpose, title: str, done: str
) -> tuple[str, int] | Response:
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            passwords.set_password_with_link(token, purpose, form.password.data or "")
        except LinkRejected as rejected:
            db.session.rollback()
            status = LINK_STATUS[rejected.problem]
            message = str(LINK_MESSAGES[rejected.problem])
            page = render_template(
                "error.html", code=status, title=_("Link nicht nutzbar"), message=message
            )
            return page, status
        flash(done, "success")
        return redirect(url_for("auth.login"))
    page = render_template("auth/set_password.html", form=form, title=title)
    return page, form_status(form)


@bp.route("/passwort-neu/<token>", methods=["GET", "POST"])
@limiter.limit(link_limit, methods=["POST"])
def reset_password(token: str) -> tuple[str, int] | Response:
    """Set a new password with the link from the mail; every session of the account ends."""
    return _set_password_page(
        token,
        LinkPurpose.RESET_PASSWORD,
        _("Neues Passwort festlegen"),
        _("Ihr Passwort ist geändert. Bitte melden Sie sich an."),
    )


@bp.route("/einladung/<token>", methods=["GET", "POST"])
@limiter.limit(link_limit, methods=["POST"])
def accept_invitation(token: str) -> tuple[str, int] | Response:
    """An invited clerk or admin sets their first password, then signs in and enrols
    their authenticator."""
    return _set_password_page(
        token,
        LinkPurpose.INVITATION,
        _("Willkommen – legen Sie Ihr Passwort fest"),
        _(
            "Ihr Passwort ist festgelegt. Melden Sie sich an; danach richten Sie Ihre "
            "Authenticator-App ein."
        ),
    )
