"""Staff decide on a volunteer's change of name (DSGVO Art. 16), from the application.

Routes of the review blueprint, kept apart from the workflow's decisions.
"""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core.errors import Conflict
from ehrenamt.extensions import db
from ehrenamt.privacy import name_change
from ehrenamt.web.access import acting_staff, staff_required
from ehrenamt.web.pages import or_404
from ehrenamt.web.review.forms import NameChangeDecisionForm
from ehrenamt.web.review.views import application_or_404, bp, render_detail


@bp.route("/antrag/<public_id>/namensaenderung/<int:request_id>", methods=["POST"])
@staff_required
def decide_name_change(public_id: str, request_id: int) -> tuple[str, int] | Response:
    """Apply the new name (the card is made again) or decline it with a reason."""
    application = application_or_404(public_id)
    request = or_404(name_change.get_for_office(current_user.office_id, request_id))
    if request.application_id != application.id:
        return or_404(None)
    form = NameChangeDecisionForm()
    if not form.validate_on_submit() or not (form.apply.data or form.decline.data):
        return render_detail(application, 400, name_change_form=form)
    try:
        if form.apply.data:
            name_change.apply_name_change(request, acting_staff())
        else:
            name_change.decline_name_change(
                request, acting_staff(), (form.reason.data or "").strip()
            )
    except Conflict:
        db.session.rollback()
        flash(_("Über diese Namensänderung wurde schon entschieden."), "warning")
    else:
        flash(_("Gespeichert."), "success")
    return redirect(url_for("review.detail", public_id=public_id))
