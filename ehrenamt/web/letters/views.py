"""Staff: the office's letters waiting to be printed (people without e-mail)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.letters import printing
from ehrenamt.web.access import acting_staff, staff_required
from ehrenamt.web.downloads import send_pdf
from ehrenamt.web.forms import database_id
from ehrenamt.web.letters.forms import LetterListForm, MarkPrintedForm
from ehrenamt.web.pages import list_page, or_404

bp = Blueprint("letters", __name__, url_prefix="/verwaltung/briefe")


@bp.route("/")
@staff_required
def index() -> str:
    """Letters waiting, oldest first; the next PDF to print and the button after it."""
    form = LetterListForm(request.args)
    page = form.page.data if form.validate() and form.page.data else 1
    result = printing.list_waiting(current_user.office_id, page, current_app.config["PAGE_SIZE"])
    batch = printing.next_print(current_user.office_id)
    mark_form = MarkPrintedForm()
    if batch:
        mark_form.up_to.data = str(batch[-1].id)
    return list_page(
        "letters/index.html",
        form,
        result,
        batch_size=len(batch),
        mark_form=mark_form,
        up_to=batch[-1].id if batch else None,
    )


@bp.route("/druck.pdf")
@staff_required
def download_waiting() -> Response:
    """The next letters to print as one PDF (up to the id the page showed)."""
    up_to = database_id(request.args.get("bis", ""))
    letters = or_404(printing.next_print(current_user.office_id, up_to) or None)
    return send_pdf(printing.render_letters(letters), "briefe.pdf")


@bp.route("/<public_id>.pdf")
@staff_required
def download_one(public_id: str) -> Response:
    """One letter of the office as a PDF, printed or not (to print it again)."""
    letter = or_404(printing.get_for_office(current_user.office_id, public_id))
    return send_pdf(printing.render_letters([letter]), "brief.pdf")


@bp.route("/gedruckt", methods=["POST"])
@staff_required
def mark_printed() -> Response:
    """The downloaded letters are printed: they leave the list."""
    form = MarkPrintedForm()
    up_to = database_id(form.up_to.data) if form.validate_on_submit() else None
    if up_to is None:
        flash(_("Bitte laden Sie die Briefe zuerst herunter."), "error")
        return redirect(url_for("letters.index"))
    marked = printing.mark_printed(acting_staff(), current_user.office_id, up_to)
    flash(_("%(count)s Briefe als gedruckt vermerkt.", count=marked), "success")
    return redirect(url_for("letters.index"))
