"""Saving the application form as a draft, and continuing it from the mailed link or
from the account (ehrenamt.applications.drafts keeps them)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.applications import drafts
from ehrenamt.extensions import limiter
from ehrenamt.models import ApplicationDraft, UserRole
from ehrenamt.web.access import volunteer_required
from ehrenamt.web.apply.forms import ApplicationForm
from ehrenamt.web.apply.views import DRAFT, KEPT_PROOF, all_offices, bp, render_form
from ehrenamt.web.forms import choices
from ehrenamt.web.pages import or_404


def _draft_limit() -> str:
    return str(current_app.config["RATELIMIT_DRAFT"])


@bp.route("/entwurf", methods=["POST"])
@limiter.limit(_draft_limit)
def save_draft() -> Response | tuple[str, int]:
    """The form's "Entwurf speichern": keep what was typed, complete or not, and mail a
    link to continue; then the form again, filled from the draft (post/redirect/get)."""
    if current_user.is_authenticated and current_user.role != UserRole.VOLUNTEER:
        abort(403)
    offices = all_offices()
    if not offices:
        abort(404)
    form = ApplicationForm()
    form.office.choices = choices([(o.id, o.name) for o in offices])
    if not form.validate_draft():
        return render_form(form, offices, None, None, status=400)
    signed_in = current_user if current_user.is_authenticated else None
    draft_id = session.get(DRAFT)
    saved = drafts.save_draft(
        form.draft_answers(),
        form.email.data or "",
        signed_in,
        draft_id if isinstance(draft_id, int) else None,
    )
    session[DRAFT] = saved.draft.id
    until = format_date(saved.draft.expires_at)
    if saved.mailed:
        flash(
            _(
                "Ihr Entwurf ist gespeichert. Wir haben Ihnen einen Link an %(email)s "
                "gesendet, mit dem Sie ihn bis zum %(date)s fortsetzen können.",
                email=saved.draft.email,
                date=until,
            ),
            "success",
        )
    else:
        flash(
            _(
                "Ihr Entwurf ist gespeichert. Der Link aus unserer E-Mail gilt jetzt bis "
                "zum %(date)s.",
                date=until,
            ),
            "success",
        )
    if _file_chosen():
        flash(
            _(
                "Ein Nachweis wird im Entwurf nicht gespeichert. Bitte wählen Sie die Datei "
                "vor dem Absenden erneut aus."
            ),
            "info",
        )
    return redirect(url_for("apply.form"), 303)


def _file_chosen() -> bool:
    """Whether a proof came with the saved form (chosen now, or kept from a try before)."""
    chosen = request.files.get("proof")
    return bool(chosen and chosen.filename) or bool(session.get(KEPT_PROOF))


@bp.route("/entwurf/<token>")
@limiter.limit(lambda: str(current_app.config["RATELIMIT_MAGIC_LINK"]))
def open_draft(token: str) -> Response:
    """The mailed link: the form, filled from the draft. Redirected at once, so the
    token does not stay in the address bar or travel on as a referrer."""
    draft = drafts.find_by_token(token)
    if draft is None:
        flash(
            _(
                "Dieser Link zu einem gespeicherten Entwurf ist abgelaufen oder ungültig. "
                "Bitte füllen Sie das Formular neu aus."
            ),
            "warning",
        )
        session.pop(DRAFT, None)
        return redirect(url_for("apply.form"), 303)
    return _continue(draft)


@bp.route("/entwurf/konto/<int:draft_id>")
@volunteer_required
def continue_draft(draft_id: int) -> Response:
    """ "weiter bearbeiten" in the account: the signed-in applicant's own draft."""
    return _continue(or_404(drafts.get_for_user(current_user, draft_id)))


def _continue(draft: ApplicationDraft) -> Response:
    session[DRAFT] = draft.id
    flash(
        _(
            "Ihr Entwurf vom %(date)s ist geladen. Bitte ergänzen Sie ihn und senden Sie "
            "den Antrag ab.",
            date=format_date(draft.saved_at),
        ),
        "info",
    )
    return redirect(url_for("apply.form"), 303)
