"""The organisation's confirmation page, reached through the e-mailed link."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ehrenamt.accounts.links import LinkProblem
from ehrenamt.applications import confirmation as applications_confirmation
from ehrenamt.applications.confirmation import ConfirmationLinkError
from ehrenamt.extensions import db, limiter
from ehrenamt.web.confirm.forms import ConfirmationForm

bp = Blueprint("confirm", __name__, url_prefix="/bestaetigung")

PROBLEM_TEXT = {
    LinkProblem.UNKNOWN: (
        _l("Link ungültig"),
        _l(
            "Dieser Bestätigungslink ist ungültig. "
            "Bitte prüfen Sie, ob Sie ihn vollständig kopiert haben."
        ),
        404,
    ),
    LinkProblem.EXPIRED: (
        _l("Link abgelaufen"),
        _l(
            "Dieser Bestätigungslink ist abgelaufen. "
            "Die Ausgabestelle kann Ihnen einen neuen senden."
        ),
        410,
    ),
    LinkProblem.USED: (
        _l("Bereits beantwortet"),
        _l("Zu diesem Link liegt bereits eine Antwort vor. Vielen Dank!"),
        410,
    ),
}


def _limit() -> str:
    return str(current_app.config["RATELIMIT_CONFIRMATION"])


def _problem(problem: LinkProblem) -> tuple[str, int]:
    title, message, status = PROBLEM_TEXT[problem]
    return render_template(
        "error.html", code=status, title=str(title), message=str(message)
    ), status


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(_limit)
def respond(token: str) -> str | Response | tuple[str, int]:
    """Shows only the applicant's name and what was claimed for this organisation."""
    try:
        engagement = applications_confirmation.engagement_for_token(token)
    except ConfirmationLinkError as error:
        db.session.rollback()
        return _problem(error.problem)
    form = ConfirmationForm()
    if not form.is_submitted():
        per_week = engagement.hours_per_week is not None
        form.hours.data = (
            engagement.hours_per_week if per_week else Decimal(engagement.hours_per_year or 0)
        )
        form.hours_unit.data = "week" if per_week else "year"
    if form.validate_on_submit():
        confirmed = form.answer.data == "confirm"
        per_week = form.hours_unit.data == "week"
        hours = form.hours.data
        try:
            applications_confirmation.answer_confirmation(
                token,
                confirmed=confirmed,
                hours_per_week=hours if confirmed and per_week else None,
                hours_per_year=int(hours.to_integral_value(ROUND_HALF_UP))
                if confirmed and not per_week and hours is not None
                else None,
                comment=(form.comment.data or "").strip(),
            )
        except ConfirmationLinkError as error:
            db.session.rollback()
            return _problem(error.problem)
        # Post/redirect/get: Back or a reload never sends the answer again.
        return redirect(url_for("confirm.thanks", antwort="ja" if confirmed else "nein"), 303)
    page = render_template(
        "confirm/respond.html",
        form=form,
        engagement=engagement,
        applicant_name=engagement.application.full_name,
        office=engagement.application.office,
    )
    # A form sent with errors is answered 400, so it never looks like a success.
    return (page, 400) if form.is_submitted() else page


@bp.route("/danke")
def thanks() -> str:
    """After the answer: thanks, and what happens next. Says nothing of any applicant."""
    return render_template("confirm/thanks.html", confirmed=request.args.get("antwort") == "ja")
