"""Programme administrator: the programme's offices, a new office, the office to work in."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.core.errors import NotPermitted
from ehrenamt.offices import programme
from ehrenamt.web.access import programme_admin_required
from ehrenamt.web.forms import database_id, form_status
from ehrenamt.web.programme.forms import OfficeForm, SwitchOfficeForm

bp = Blueprint("programme", __name__, url_prefix="/programm")


@bp.route("/aemter")
@programme_admin_required
def offices() -> str:
    """Every office of the programme, paged; the one she works in is marked."""
    page = programme.list_offices(
        request.args.get("page", 1, type=int), current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "programme/offices.html", page=page, switch_form=SwitchOfficeForm(formdata=None)
    )


@bp.route("/aemter/neu", methods=["GET", "POST"])
@programme_admin_required
def new_office() -> tuple[str, int] | Response:
    """Create an office with rules from a preset (as the CLI's ``create-office`` does)."""
    form = OfficeForm()
    if form.validate_on_submit():
        try:
            office = programme.add_office(
                current_user,
                form.name.data or "",
                form.slug.data or "",
                form.contact_email.data or "",
                form.preset.data or "",
                " ".join((form.postcodes.data or "").split()),
            )
        except programme.SlugTaken:
            form.slug.errors.append(_("Diesen Kurznamen hat schon ein anderes Amt."))
        else:
            flash(_("Das Amt „%(name)s“ ist angelegt.", name=office.name), "success")
            return redirect(url_for("programme.offices"))
    return render_template("programme/new_office.html", form=form), form_status(form)


@bp.route("/amt-wechseln", methods=["POST"])
@programme_admin_required
def switch_office() -> Response:
    """Work in another office: every office page now shows and changes that office."""
    form = SwitchOfficeForm()
    office_id = database_id(form.office_id.data) if form.validate_on_submit() else None
    if office_id is None:
        abort(400)
    try:
        office = programme.switch_office(current_user, office_id)
    except NotPermitted:
        abort(404)
    flash(_("Sie arbeiten jetzt im Amt „%(name)s“.", name=office.name), "success")
    return redirect(url_for("review.queue"))


# The read-only overview, statistics and audit log across offices, and the programme's
# administrators, add their routes.
from ehrenamt.web.programme import admins, insight  # noqa: E402, F401
