"""The volunteer corrects their data (DSGVO Art. 16): e-mail address (confirmed by a
link to the new one), postal address, and a change of name asked of the office.

Routes of the account blueprint, kept apart from its application pages.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ehrenamt.accounts.links import LinkProblem, LinkRejected
from ehrenamt.extensions import db, limiter
from ehrenamt.privacy import correction, name_change
from ehrenamt.privacy.correction import CorrectionRefused, Refusal
from ehrenamt.web.access import authenticated_within, volunteer_required
from ehrenamt.web.account.forms import AddressForm, EmailChangeForm, NameChangeForm
from ehrenamt.web.account.views import bp, render_index
from ehrenamt.web.pages import one_time_link_page

REFUSALS = {
    Refusal.SAME: _l("Das ist schon Ihre Angabe."),
    Refusal.TAKEN: _l("Zu dieser E-Mail-Adresse gibt es schon ein Konto."),
    Refusal.NOTHING_TO_CORRECT: _l("Sie haben keinen laufenden oder bewilligten Antrag."),
}
LINK_MESSAGES = {
    LinkProblem.UNKNOWN: _l("Dieser Link ist ungültig."),
    LinkProblem.EXPIRED: _l("Dieser Link ist abgelaufen. Bitte ändern Sie die Adresse erneut."),
    LinkProblem.USED: _l("Dieser Link wurde bereits verwendet."),
}
LINK_STATUS = {LinkProblem.UNKNOWN: 404, LinkProblem.EXPIRED: 410, LinkProblem.USED: 410}


def index_context() -> dict[str, Any]:
    """What the account page shows of corrections: the forms, the request waiting."""
    current = correction.address_applications(current_user.id)
    latest = current[0] if current else None
    return {
        "email_form": EmailChangeForm(formdata=None),
        "address_form": AddressForm(formdata=None, obj=latest),
        "name_form": NameChangeForm(formdata=None, obj=latest),
        "can_correct": latest is not None,
        "name_request": name_change.latest_for_user(current_user.id),
    }


def _refused(form: FlaskForm, field: str, refusal: Refusal) -> tuple[str, int]:
    if refusal == Refusal.NOTHING_TO_CORRECT:  # the page shows no such form then
        flash(str(REFUSALS[refusal]), "error")
    else:
        getattr(form, field).errors.append(str(REFUSALS[refusal]))
    return render_index(**{_FORM_NAMES[type(form)]: form}), 400


_FORM_NAMES: dict[type, str] = {
    EmailChangeForm: "email_form",
    AddressForm: "address_form",
    NameChangeForm: "name_form",
}


def _email_change_limit() -> str:
    return str(current_app.config["RATELIMIT_EMAIL_CHANGE"])


def _per_account() -> str:
    # Checked before the view's sign-in check runs; anonymous requests share one key.
    return f"email-change:{getattr(current_user, 'id', None)}"


@bp.route("/email", methods=["POST"])
@volunteer_required
@limiter.limit(_email_change_limit, methods=["POST"], key_func=_per_account)
def change_email() -> tuple[str, int] | Response:
    """Ask for a new address: a link goes to it, a notice to the current one."""
    if not authenticated_within(current_app.config["EXPORT_REAUTHENTICATION_MINUTES"]):
        return redirect(url_for("account.reauthenticate", next=url_for("account.index")))
    form = EmailChangeForm()
    if not form.validate_on_submit():
        return render_index(email_form=form), 400
    try:
        correction.request_email_change(current_user, form.email.data or "")
    except CorrectionRefused as refused:
        db.session.rollback()
        return _refused(form, "email", refused.refusal)
    flash(
        _(
            "Wir haben einen Link an %(email)s gesendet. Ihre Adresse ändert sich, sobald"
            " Sie ihn benutzen.",
            email=form.email.data,
        ),
        "info",
    )
    return redirect(url_for("account.index"))


@bp.route("/email/<token>", methods=["GET", "POST"])
@volunteer_required
def confirm_email_change(token: str) -> str | Response | tuple[str, int]:
    """The link mailed to the new address; only its owner, signed in, can use it."""

    def use() -> Response | tuple[str, int]:
        try:
            correction.confirm_email_change(current_user, token)
        except LinkRejected as rejected:
            db.session.rollback()
            return _link_error(rejected.problem)
        except CorrectionRefused as refused:
            db.session.rollback()
            flash(str(REFUSALS[refused.refusal]), "error")
            return redirect(url_for("account.index"))
        flash(_("Ihre E-Mail-Adresse ist geändert."), "success")
        return redirect(url_for("account.index"))

    return one_time_link_page(
        use,
        title=_("Neue E-Mail-Adresse bestätigen"),
        intro=_("Klicken Sie auf „Weiter“, um Ihre neue E-Mail-Adresse zu bestätigen."),
    )


def _link_error(problem: LinkProblem) -> tuple[str, int]:
    status = LINK_STATUS[problem]
    page = render_template(
        "error.html", code=status, title=_("Link nicht nutzbar"), message=LINK_MESSAGES[problem]
    )
    return page, status


@bp.route("/anschrift", methods=["POST"])
@volunteer_required
def change_address() -> tuple[str, int] | Response:
    """Correct the postal address on the current applications."""
    form = AddressForm()
    if not form.validate_on_submit():
        return render_index(address_form=form), 400
    try:
        correction.change_address(
            current_user,
            (form.street.data or "").strip(),
            form.postcode.data or "",
            (form.town.data or "").strip(),
        )
    except CorrectionRefused as refused:
        db.session.rollback()
        return _refused(form, "street", refused.refusal)
    flash(
        _(
            "Ihre Anschrift ist geändert. Ihre Ausgabestelle sieht sie. Ihre Karte bleibt"
            " gültig: Die Anschrift steht nicht auf der Karte."
        ),
        "success",
    )
    return redirect(url_for("account.index"))


@bp.route("/name", methods=["POST"])
@volunteer_required
def request_name_change() -> tuple[str, int] | Response:
    """Ask the office to change the name (it is printed on the card)."""
    form = NameChangeForm()
    if not form.validate_on_submit():
        return render_index(name_form=form), 400
    try:
        name_change.request_name_change(
            current_user,
            (form.first_name.data or "").strip(),
            (form.last_name.data or "").strip(),
            (form.note.data or "").strip() or None,
        )
    except CorrectionRefused as refused:
        db.session.rollback()
        return _refused(form, "last_name", refused.refusal)
    flash(_("Ihre Ausgabestelle prüft die Namensänderung und gibt Ihnen Bescheid."), "info")
    return redirect(url_for("account.index"))
