"""Applying for a card."""

from __future__ import annotations

import re
import secrets
from types import SimpleNamespace

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from ehrenamt.applications import drafts
from ehrenamt.applications import submission as applications_submission
from ehrenamt.applications.precheck import Shortfall
from ehrenamt.applications.submission import (
    AccountExists,
    AlreadyOpen,
)
from ehrenamt.cards import register
from ehrenamt.core import uploads
from ehrenamt.extensions import db, limiter
from ehrenamt.models import Application, ApplicationDraft, Office, Upload, UserRole
from ehrenamt.web.access import sign_in
from ehrenamt.web.apply import precheck as apply_precheck
from ehrenamt.web.apply.forms import ApplicationForm
from ehrenamt.web.apply.inputs import application_input
from ehrenamt.web.forms import CONTROL_CHARACTERS, choices
from ehrenamt.web.pages import or_404

bp = Blueprint("apply", __name__, url_prefix="/antrag")

#: A key as :func:`secrets.token_urlsafe` makes it, fitting ``Application.submission_key``.
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Session key: the claim token of the one proof kept for this visitor's next try.
KEPT_PROOF = "apply_kept_proof"
#: Session key: the id of the draft this visitor saved or opened; the form is filled from
#: it, saving again updates it, and submitting deletes it.
DRAFT = "apply_draft"


def _form_limit() -> str:
    return str(current_app.config["RATELIMIT_APPLICATION_FORM"])


def all_offices() -> list[Office]:
    return list(db.session.scalars(select(Office).order_by(Office.name)))


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(_form_limit, methods=["POST"])
def form() -> str | Response | tuple[str, int]:
    """The application form; on errors everything typed is kept, a proof file only for
    a form that is otherwise complete (see :func:`_keep_proof`)."""
    if current_user.is_authenticated and current_user.role != UserRole.VOLUNTEER:
        abort(403)
    offices = all_offices()
    if not offices:
        abort(404)
    proof = _kept_proof() if request.method == "POST" else None
    draft = continued_draft() if request.method == "GET" else None
    form = ApplicationForm(formdata=_formdata_of(draft)) if draft else ApplicationForm()
    form.office.choices = choices([(o.id, o.name) for o in offices])
    if request.method == "GET":
        form.submission_key.data = secrets.token_urlsafe(24)
        if draft is None:
            form.office.data = offices[0].id
            if current_user.is_authenticated:
                form.email.data = current_user.email
        renew = request.args.get("erneuern")
        if renew:
            # The renewal link of the reminder mail: the holder's old card fills the form.
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            # A card's public id never has control characters; PostgreSQL cannot even
            # compare with a NUL, so such a parameter names no card before it is looked up.
            if CONTROL_CHARACTERS.search(renew):
                abort(404)
            card = or_404(register.get_for_holder(current_user.id, renew))
            _prefill_from(form, card.application)
            flash(
                _(
                    "Das Formular ist mit den Angaben Ihrer bisherigen Karte ausgefüllt. "
                    "Bitte prüfen und ergänzen Sie es."
                ),
                "info",
            )
    elif not SUBMISSION_KEY.fullmatch(form.submission_key.data or ""):
        # Missing or tampered with (too long for its column, or a NUL: a 500 on
        # PostgreSQL): a fresh key still guards this form, re-rendered or sent, against a
        # double click.
        form.submission_key.data = secrets.token_urlsafe(24)

    # Checked in memory; written to disk only when worth keeping (below).
    upload_error = chosen = None
    if request.method == "POST" and form.proof.data and getattr(form.proof.data, "filename", ""):
        try:
            chosen = uploads.check_upload(form.proof.data.stream, form.proof.data.filename)
        except uploads.UploadRejected as rejected:
            upload_error = str(rejected)
    form.has_proof = proof is not None or chosen is not None

    if request.method == "POST" and form.add_engagement.data:
        # After the upload: a browser never sends a chosen file twice, so a file chosen
        # before adding a row must be kept now. The list's maximum is checked here
        # because only the template hides the button (append_entry asserts).
        if chosen is not None:
            proof = _keep_proof(chosen)
        if len(form.engagements) < (form.engagements.max_entries or 0):
            form.engagements.append_entry()
        return render_form(form, offices, proof, upload_error, status=400 if upload_error else 200)

    if form.validate_on_submit() and upload_error is None:
        office = db.session.get(Office, form.office.data)
        if office is None:
            form.office.errors = [*form.office.errors, _("Bitte wählen Sie eine Ausgabestelle.")]
        else:
            if chosen is not None:
                proof = _keep_proof(chosen)
            shortfalls = apply_precheck.shortfalls_for(form, office)
            if shortfalls and not form.despite_rules.data:
                # Before any organisation is mailed: the applicant reads why and decides.
                return render_form(
                    form, offices, proof, None, status=200, shortfalls=shortfalls, office=office
                )
            return _submit(form, office, proof)
    if chosen is not None and upload_error is None:
        upload_error = _(
            "Die Datei wurde nicht gespeichert, weil das Formular noch Fehler enthält. "
            "Bitte wählen Sie sie nach dem Korrigieren erneut aus."
        )
    failed = request.method == "POST"
    return render_form(form, offices, proof, upload_error, status=400 if failed else 200)


@bp.errorhandler(RateLimitExceeded)
def too_many(error: RateLimitExceeded) -> tuple[str, int]:
    """Too many forms sent from one address: the form again, as typed, with the reason."""
    form = ApplicationForm()
    offices = all_offices()
    form.office.choices = choices([(o.id, o.name) for o in offices])
    if not SUBMISSION_KEY.fullmatch(form.submission_key.data or ""):
        form.submission_key.data = secrets.token_urlsafe(24)
    flash(
        _(
            "Zu viele Versuche in kurzer Zeit. Bitte warten Sie einen Moment und versuchen Sie es erneut."  # noqa: E501
        ),
        "error",
    )
    return render_template("apply/form.html", form=form, offices=offices, proof=None), 429


def render_form(
    form: ApplicationForm,
    offices: list[Office],
    proof: Upload | None,
    upload_error: str | None,
    *,
    status: int,
    shortfalls: list[Shortfall] | None = None,
    office: Office | None = None,
) -> tuple[str, int]:
    """The form again, with the kept proof (if any), a problem with the file, and the
    office's rules the answers do not meet."""
    if upload_error:
        form.proof.errors = [upload_error]
    if proof is not None:
        form.proof_token.data = proof.claim_token
    html = render_template(
        "apply/form.html",
        form=form,
        offices=offices,
        proof=proof,
        failed=status == 400,
        shortfalls=shortfalls or [],
        shortfall_office=office,
    )
    return html, status


@bp.route("/voraussetzungen", methods=["POST"])
@limiter.limit(lambda: str(current_app.config["RATELIMIT_ELIGIBILITY_CHECK"]))
def eligibility() -> Response:
    """The form's script, as the applicant types: the office's rules the answers so far do
    not meet, rendered as the form shows them after sending."""
    offices = all_offices()
    form = ApplicationForm()
    form.office.choices = choices([(o.id, o.name) for o in offices])
    office = db.session.get(Office, form.office.data) if form.office.data else None
    if office is None or office not in offices:
        return jsonify({"count": 0, "html": ""})
    shortfalls = apply_precheck.shortfalls_for(form, office)
    html = render_template("apply/_shortfalls.html", shortfalls=shortfalls, office=office)
    return jsonify({"count": len(shortfalls), "html": html})


def continued_draft() -> ApplicationDraft | None:
    """The draft this visitor is continuing, unless it expired or was submitted."""
    draft_id = session.get(DRAFT)
    draft = drafts.find_live(draft_id) if isinstance(draft_id, int) else None
    if draft is None:
        session.pop(DRAFT, None)
    return draft


def _formdata_of(draft: ApplicationDraft) -> MultiDict[str, str]:
    """A draft's answers as the browser once sent them."""
    return MultiDict([(name, value) for name, values in draft.answers.items() for value in values])


def _kept_proof() -> Upload | None:
    """The proof this visitor kept with an earlier try of the form, if its token came."""
    token = request.form.get("proof_token", "")
    # Only the session's own: a token carried into another session is no proof.
    if not token or token != session.get(KEPT_PROOF):
        return None
    return uploads.find_unclaimed(token)


def _keep_proof(chosen: uploads.CheckedFile) -> Upload:
    """Store a chosen file; it replaces the file this session kept before.

    Only a complete form (being submitted) or the add-a-row button gets here, never a
    form with errors: the file of a form sent with everything else missing would
    otherwise fill the disk. One per session bounds what a visitor can leave behind;
    the periodic job deletes what is never attached.
    """
    previous = uploads.find_unclaimed(str(session.get(KEPT_PROOF, "")))
    upload = uploads.keep_instead(chosen, previous)
    session[KEPT_PROOF] = upload.claim_token
    return upload


def _submit(
    form: ApplicationForm, office: Office, proof: Upload | None
) -> Response | tuple[str, int]:
    data = application_input(form, office, proof, email=form.email.data)
    data.password = form.password.data or None
    signed_in = current_user if current_user.is_authenticated else None
    try:
        result = applications_submission.submit_application(data, signed_in)
    except AccountExists:
        return _refuse_email(
            form,
            proof,
            _(
                "Zu dieser E-Mail-Adresse gibt es schon ein Konto. Bitte melden Sie sich zuerst an "
                "(auch per Anmeldelink ohne Passwort möglich)."
            ),
        )
    except AlreadyOpen:
        flash(_("Sie haben bereits einen offenen Antrag bei dieser Ausgabestelle."), "warning")
        if signed_in is not None:
            return redirect(url_for("account.index"))
        return _refuse_email(
            form, proof, _("Zu dieser E-Mail-Adresse gibt es bereits einen offenen Antrag.")
        )
    # Before signing in, which starts a fresh session.
    draft_id = session.pop(DRAFT, None)
    if isinstance(draft_id, int):
        # Submitted: the draft's answers now live in the application.
        drafts.discard_draft(draft_id)
    if signed_in is None:
        # The form's secret submission key proves it is the same visitor (double click).
        sign_in(result.applicant)
    if result.created:
        flash(_("Vielen Dank! Ihr Antrag ist eingegangen."), "success")
    return redirect(url_for("account.application", public_id=result.application.public_id))


def _refuse_email(form: ApplicationForm, proof: Upload | None, message: str) -> tuple[str, int]:
    """The form again, everything kept (the proof too), with ``message`` at the e-mail
    address."""
    form.email.errors = [*form.email.errors, message]
    if proof is not None:
        form.proof_token.data = proof.claim_token
    html = render_template(
        "apply/form.html",
        form=form,
        offices=all_offices(),
        proof=proof,
        show_sign_in=True,
        failed=True,
    )
    return html, 409


def _prefill_from(form: ApplicationForm, previous: Application) -> None:
    """A renewal starts from the previous application: person, place and engagements."""
    form.office.data = previous.office_id
    form.card_type.data = previous.card_type.value
    for name in ("first_name", "last_name", "birth_date", "street", "postcode", "town", "phone"):
        form[name].data = getattr(previous, name)
    form.qualification.data = previous.qualification.value if previous.qualification else ""
    form.honour.data = previous.honour or ""
    while form.engagements.entries:
        form.engagements.pop_entry()
    for engagement in previous.engagements[: form.engagements.max_entries]:
        per_week = engagement.hours_per_week is not None
        form.engagements.append_entry(
            SimpleNamespace(
                organisation_name=engagement.organisation_name,
                organisation_postcode=engagement.organisation_postcode or "",
                contact_name=engagement.contact_name,
                contact_email=engagement.contact_email,
                activity=engagement.activity,
                hours=engagement.hours_per_week if per_week else engagement.hours_per_year,
                hours_unit="week" if per_week else "year",
                engaged_since=engagement.engaged_since,
                allowance=engagement.allowance_euros_per_year,
            )
        )
    if not form.engagements.entries:
        form.engagements.append_entry()
