"""The volunteer's rights in the account: a download of their data (DSGVO Art. 15/20).

Routes of the account blueprint, kept apart from its application pages.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.accounts import links as accounts_links
from ehrenamt.core import security
from ehrenamt.extensions import limiter
from ehrenamt.models import ExportState
from ehrenamt.privacy import export as data_export
from ehrenamt.web.access import authenticated_within, note_authentication, volunteer_required
from ehrenamt.web.account.forms import ExportForm, ReauthenticateForm, SendSignInLinkForm
from ehrenamt.web.account.views import bp
from ehrenamt.web.downloads import send_archive
from ehrenamt.web.pages import or_404


def _login_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN"])


def _fresh() -> bool:
    return authenticated_within(current_app.config["EXPORT_REAUTHENTICATION_MINUTES"])


@bp.route("/daten/export", methods=["POST"])
@volunteer_required
def request_export() -> Response:
    """Start an export; a small one is offered at once, a large one is mailed."""
    if not ExportForm().validate_on_submit():
        return redirect(url_for("account.index"))
    export = data_export.request_export(current_user)
    if export.state == ExportState.READY:
        return redirect(url_for("account.download_export", public_id=export.public_id))
    flash(
        _(
            "Ihre Daten werden zusammengestellt. Sie erhalten eine E-Mail mit dem Link,"
            " sobald sie bereitstehen."
        ),
        "info",
    )
    return redirect(url_for("account.index"))


@bp.route("/daten/export/<public_id>")
@volunteer_required
def download_export(public_id: str) -> Response:
    """The archive, to its owner only (anyone else: 404), after a recent sign-in."""
    export = or_404(data_export.get_for_owner(current_user.id, public_id))
    if not _fresh():
        return redirect(url_for("account.reauthenticate", next=request.path))
    path = or_404(p if (p := data_export.path_of(export)).exists() else None)
    return send_archive(path, data_export.download_name(export))


@bp.route("/bestaetigen", methods=["GET", "POST"])
@volunteer_required
@limiter.limit(_login_limit, methods=["POST"])
def reauthenticate() -> str | Response | tuple[str, int]:
    """The password again (or, without one, a new sign-in link) before a download."""
    target = security.local_path(request.args.get("next", "")) or url_for("account.index")
    form = ReauthenticateForm()
    link_form = SendSignInLinkForm(prefix="link")
    if request.method == "POST":
        if current_user.password_hash:
            if form.validate_on_submit():
                if security.verify_password(current_user.password_hash, form.password.data or ""):
                    note_authentication()
                    return redirect(target)
                form.password.errors.append(_("Das Passwort ist falsch."))
        elif link_form.validate_on_submit():
            accounts_links.send_sign_in_link(current_user.email)
            flash(_("Wir haben Ihnen einen Anmeldelink gesendet."), "info")
            return redirect(url_for("account.index"))
        return render_template("account/reauthenticate.html", form=form, link_form=link_form), 400
    return render_template("account/reauthenticate.html", form=form, link_form=link_form)
