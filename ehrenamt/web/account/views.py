"""The volunteer's account: applications, their status, answering questions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ehrenamt.accounts import users
from ehrenamt.applications import decisions, drafts, queries
from ehrenamt.cards import register
from ehrenamt.core import uploads
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import Conflict
from ehrenamt.extensions import db
from ehrenamt.models import Application, CardState
from ehrenamt.privacy import erasure
from ehrenamt.privacy import export as data_export
from ehrenamt.web.access import fresh_session, sign_in, volunteer_required
from ehrenamt.web.account.forms import AnswerForm, DeleteAccountForm, ExportForm, WithdrawForm
from ehrenamt.web.downloads import send_attached_upload, send_card_document
from ehrenamt.web.forms import SetPasswordForm
from ehrenamt.web.pages import or_404
from ehrenamt.workflow import Actor, ApplicationState, IllegalTransition

bp = Blueprint("account", __name__, url_prefix="/konto")


@bp.route("/")
@volunteer_required
def index() -> str:
    """The applicant's cards and applications, and where each stands."""
    return render_index()


def render_index(**forms: FlaskForm) -> str:
    """The account page; ``forms`` replace the empty ones (a form sent with errors)."""
    context: dict[str, Any] = {
        "password_form": SetPasswordForm(formdata=None),
        "exports": data_export.exports_of(current_user.id),
        "export_form": ExportForm(formdata=None),
        **_corrections.index_context(),
    }
    context.update(forms)
    cards = register.cards_of(current_user.id)
    renew_from = date.today() + timedelta(days=int(current_app.config["CARD_EXPIRY_REMINDER_DAYS"]))
    return render_template(
        "account/index.html",
        cards=cards,
        # A card ending within the reminder period gets a renew button (the mail's link).
        renewable={
            card.id
            for card in cards
            if card.state == CardState.ACTIVE
            and card.valid_until is not None
            and card.valid_until <= renew_from
        },
        card_of_application={card.application_id: card for card in reversed(cards)},
        applications=queries.applications_of(current_user.id),
        drafts=drafts.drafts_of(current_user),
        **context,
    )


def _own(public_id: str) -> Application:
    return or_404(queries.get_for_applicant(current_user.id, public_id))


@bp.route("/antrag/<public_id>")
@volunteer_required
def application(public_id: str) -> str:
    """One application with its history as the applicant may see it."""
    item = _own(public_id)
    return render_template(
        "account/application.html",
        application=item,
        card=register.card_for_application(item.id),
        history=queries.history(item),
        answer_form=AnswerForm(),
    )


@bp.route("/antrag/<public_id>/antworten", methods=["POST"])
@volunteer_required
def answer(public_id: str) -> tuple[str, int] | Response:
    """Answer the clerk's question."""
    item = _own(public_id)
    form = AnswerForm()
    chosen = None
    if form.validate_on_submit() and getattr(form.proof.data, "filename", ""):
        try:
            chosen = uploads.check_upload(form.proof.data.stream, form.proof.data.filename)
        except uploads.UploadRejected as rejected:
            form.proof.errors = [str(rejected)]
    if form.errors or form.proof.errors:
        return render_template(
            "account/application.html",
            application=item,
            card=register.card_for_application(item.id),
            history=queries.history(item),
            answer_form=form,
        ), 400
    if item.state != ApplicationState.NEEDS_INFORMATION:
        flash(_("Zu diesem Antrag ist keine Rückfrage offen."), "warning")
        return redirect(url_for("account.application", public_id=public_id))
    try:
        decisions.answer_information_request(
            item,
            Acting.user_as(current_user, Actor.APPLICANT),
            form.answer.data.strip(),
            uploads.store_checked(chosen) if chosen is not None else None,
        )
    except (Conflict, IllegalTransition):
        db.session.rollback()
        flash(
            _("Der Antrag wurde inzwischen geändert. Bitte prüfen Sie den aktuellen Stand."),
            "warning",
        )
    else:
        flash(_("Danke, Ihre Antwort ist bei der Ausgabestelle."), "success")
    return redirect(url_for("account.application", public_id=public_id))


@bp.route("/antrag/<public_id>/zurueckziehen")
@volunteer_required
def confirm_withdraw(public_id: str) -> str | Response:
    """Asked first: withdrawing cannot be undone (a new application starts over)."""
    item = _own(public_id)
    if not item.is_open:
        return redirect(url_for("account.application", public_id=public_id))
    return render_template("account/withdraw.html", application=item, form=WithdrawForm())


@bp.route("/antrag/<public_id>/zurueckziehen", methods=["POST"])
@volunteer_required
def withdraw(public_id: str) -> Response:
    """Withdraw the application (only before a decision), after the confirmation page."""
    item = _own(public_id)
    if WithdrawForm().validate_on_submit():
        try:
            decisions.withdraw(item, Acting.user_as(current_user, Actor.APPLICANT))
        except (Conflict, IllegalTransition):
            db.session.rollback()
            flash(_("Dieser Antrag kann nicht mehr zurückgezogen werden."), "warning")
        else:
            flash(_("Ihr Antrag wurde zurückgezogen."), "info")
    return redirect(url_for("account.application", public_id=public_id))


@bp.route("/nachweis/<int:upload_id>")
@volunteer_required
def download_upload(upload_id: int) -> Response:
    """The applicant's own uploaded proof."""
    return send_attached_upload(upload_id, lambda app: app.applicant_id == current_user.id)


@bp.route("/karte/<public_id>/<any(pdf, png):kind>")
@volunteer_required
def download_card(public_id: str, kind: str) -> Response:
    """The holder's own card as PDF (to print) or PNG (for the phone)."""
    return send_card_document(register.get_for_holder(current_user.id, public_id), kind)


@bp.route("/passwort", methods=["POST"])
@volunteer_required
def set_password() -> tuple[str, int] | Response:
    """Set a password, so signing in works without an e-mailed link."""
    form = SetPasswordForm()
    if form.validate_on_submit():
        users.set_password(current_user, form.password.data)
        sign_in(current_user)
        flash(_("Ihr Passwort ist gespeichert."), "success")
        return redirect(url_for("account.index"))
    return render_index(password_form=form), 400


@bp.route("/loeschen", methods=["GET", "POST"])
@volunteer_required
def delete_account() -> tuple[str, int] | Response:
    """Say what deleting does (cards revoked, applications withdrawn), then erase the
    person's data at once (DSGVO Art. 17) and sign them out."""
    form = DeleteAccountForm()
    person = current_user._get_current_object()
    if form.validate_on_submit():
        erasure.erase_person(person, erasure.self_acting(person), self_request=True)
        logout_user()
        fresh_session()
        flash(_("Ihr Konto und Ihre Daten sind gelöscht."), "info")
        return redirect(url_for("public.index"))
    html = render_template("account/delete.html", form=form, preview=erasure.preview(person))
    return html, 400 if form.is_submitted() else 200


# The privacy pages register their routes on ``bp``; imported last, as they import it.
from ehrenamt.web.account import corrections as _corrections  # noqa: E402
from ehrenamt.web.account import privacy as _privacy  # noqa: E402, F401
