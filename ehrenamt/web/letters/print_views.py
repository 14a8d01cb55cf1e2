"""Staff: print runs (cards with cover letters in one PDF); routes of the letters bp."""

from __future__ import annotations

import re

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.cards import print_runs
from ehrenamt.cards.register import RegisterFilter
from ehrenamt.core.errors import NotPermitted
from ehrenamt.models import CardState, PrintLayout, PrintRun, PrintRunState
from ehrenamt.web.access import acting_staff, staff_required
from ehrenamt.web.downloads import send_pdf
from ehrenamt.web.letters.forms import ConfirmPostedForm, PrintRunForm
from ehrenamt.web.letters.views import bp
from ehrenamt.web.pages import or_404

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _run_or_404(public_id: str) -> PrintRun:
    return or_404(print_runs.get_for_office(current_user.office_id, public_id))


@bp.route("/druckauftrag", methods=["GET", "POST"])
@staff_required
def new_print_run() -> Response | tuple[str, int]:
    """Choose the cards (letters waiting, a batch, the register) and the layout."""
    form = PrintRunForm()
    if request.method == "GET":
        form.batch.data = request.args.get("stapel", "")
        if form.batch.data:
            form.source.data = "batch"
    if form.validate_on_submit():
        office_id = current_user.office_id
        card_ids: list[int] | None
        if form.source.data == "batch":
            # A public id as token_urlsafe makes it; anything else (a NUL would be an
            # error on PostgreSQL) names no batch.
            batch = form.batch.data or ""
            card_ids = (
                print_runs.cards_of_batch(office_id, batch) if PUBLIC_ID.fullmatch(batch) else None
            )
        elif form.source.data == "register":
            card_ids = print_runs.cards_in_register(
                office_id,
                RegisterFilter(text=form.text.data or "", state=CardState(form.state.data)),
            )
        else:
            card_ids = print_runs.cards_of_letters_waiting(office_id)
        if card_ids is None:
            abort(404)
        try:
            run = print_runs.create_print_run(
                acting_staff(), office_id, card_ids, PrintLayout(form.layout.data)
            )
        except NotPermitted:
            abort(404)
        except print_runs.PrintRunRefused as refused:
            form.source.errors = [refused.message]
        else:
            return redirect(url_for("letters.print_run", public_id=run.public_id))
    waiting = len(print_runs.cards_of_letters_waiting(current_user.office_id))
    status = 400 if request.method == "POST" else 200
    html = render_template("letters/new_print_run.html", form=form, waiting=waiting)
    return html, status


@bp.route("/druckauftrag/<public_id>")
@staff_required
def print_run(public_id: str) -> str:
    """A run's progress while the worker lays it out; then the download and posting."""
    run = _run_or_404(public_id)
    return render_template("letters/print_run.html", run=run, posted_form=ConfirmPostedForm())


@bp.route("/druckauftrag/<public_id>.json")
@staff_required
def print_run_status(public_id: str) -> Response:
    """The run's progress, polled by its page."""
    run = _run_or_404(public_id)
    return jsonify(
        state=run.state.value,
        done=run.done,
        size=run.size,
        pages=run.pages,
        # The page's script (static/js/progress.js) reloads once the run left the queue.
        complete=run.state != PrintRunState.QUEUED,
    )


@bp.route("/druckauftrag/<public_id>.pdf")
@staff_required
def print_run_pdf(public_id: str) -> Response:
    """The run's PDF, once made and until posted."""
    run = _run_or_404(public_id)
    if run.state != PrintRunState.READY or run.pdf is None:
        abort(404)
    return send_pdf(run.pdf, f"druckauftrag-{run.created_at:%Y-%m-%d}.pdf")


@bp.route("/druckauftrag/<public_id>/versandt", methods=["POST"])
@staff_required
def confirm_posted(public_id: str) -> Response:
    """Staff posted the run: its cards are marked posted."""
    run = _run_or_404(public_id)
    if ConfirmPostedForm().validate_on_submit():
        try:
            count = print_runs.confirm_posted(acting_staff(), run)
        except print_runs.PrintRunRefused as refused:
            flash(refused.message, "error")
        else:
            flash(_("%(count)s Karten als versandt vermerkt.", count=count), "success")
    return redirect(url_for("letters.print_run", public_id=public_id))
