"""The partner's API keys: list, create (the key is shown once), revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from ehrenamt.partners import api_keys
from ehrenamt.web.access import partner_required
from ehrenamt.web.api.forms import CreateKeyForm, RevokeKeyForm

bp = Blueprint("api_keys", __name__, url_prefix="/partner/api-schluessel")


@bp.after_request
def _never_cache(response: Response) -> Response:
    # The page right after creating a key shows the key itself.
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(form: CreateKeyForm, new_key: str | None = None, status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "api_keys/index.html",
            keys=api_keys.keys_of(g.partner.id),
            form=form,
            revoke_form=RevokeKeyForm(),
            new_key=new_key,
            marker=api_keys.KEY_MARKER,
        ),
        status,
    )


@bp.route("/")
@partner_required
def index() -> tuple[str, int]:
    """The partner's keys and the form for a new one."""
    return _page(CreateKeyForm())


@bp.route("/", methods=["POST"])
@partner_required
def create() -> tuple[str, int]:
    """Create a key and show it, this one time only."""
    form = CreateKeyForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    _, plaintext = api_keys.create_key(g.partner, form.name.data or "", current_user)
    return _page(CreateKeyForm(formdata=None), new_key=plaintext)


@bp.route("/<int:key_id>/widerrufen", methods=["POST"])
@partner_required
def revoke(key_id: int) -> Response:
    """Revoke one of the partner's keys; another partner's key is not found."""
    if not RevokeKeyForm().validate_on_submit():
        abort(400)
    if api_keys.revoke_key(g.partner, key_id) is None:
        abort(404)
    flash(_("Der Schlüssel wurde widerrufen. Kassen, die ihn nutzen, werden abgewiesen."))
    return redirect(url_for("api_keys.index"))
