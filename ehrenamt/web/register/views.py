"""The card register and bulk issuing; every query is scoped to the staff member's office."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from ehrenamt.applications import decisions
from ehrenamt.applications import queries as applications_queries
from ehrenamt.applications.queries import QueueFilter
from ehrenamt.cards import batches, lifecycle, states
from ehrenamt.cards import register as cards_register
from ehrenamt.cards import validity as cards_validity
from ehrenamt.core import errors as core_errors
from ehrenamt.core.paging import page_number
from ehrenamt.extensions import db
from ehrenamt.insight import exports
from ehrenamt.models import (
    Card,
    CardBatch,
    CardState,
    CardType,
    RevocationReason,
)
from ehrenamt.web.access import acting_staff, staff_required
from ehrenamt.web.downloads import send_card_document, send_table
from ehrenamt.web.forms import action_forms, expected_version
from ehrenamt.web.pages import list_page, or_404
from ehrenamt.web.register.forms import (
    BulkIssueForm,
    CardActionForm,
    ExtendForm,
    RegisterFilterForm,
    ReissueForm,
    ReplaceForm,
    RevokeForm,
)
from ehrenamt.workflow import ApplicationState, IllegalTransition

bp = Blueprint("register", __name__, url_prefix="/verwaltung/karten")

#: Most applications one bulk issuing takes: the request approves each in turn, and the
#: batch page lists its cards without paging.
MAX_BATCH_SIZE = 200
#: One checkbox's value: the application's public id and the version the clerk saw.
SELECTION = re.compile(r"([A-Za-z0-9_-]{1,64}):(\d{1,9})")


def _card_or_404(public_id: str) -> Card:
    return or_404(cards_register.get_for_office(current_user.office_id, public_id))


def _batch_or_404(public_id: str) -> CardBatch:
    return or_404(batches.get_batch_for_office(current_user.office_id, public_id))


# --- the register -------------------------------------------------------------------------


@bp.route("/")
@staff_required
def index() -> str:
    """The office's cards: by number or name, filtered by state, type and expiry, paged."""
    form = RegisterFilterForm(request.args)
    filters = cards_register.RegisterFilter()
    page = 1
    if form.validate():
        filters = form.filters()
        page = form.page.data or 1
    result = cards_register.list_register(
        current_user.office_id, filters, page, current_app.config["PAGE_SIZE"]
    )
    return list_page(
        "register/index.html",
        form,
        result,
        filter_errors={name: errors for name, errors in form.errors.items() if name != "page"},
    )


@bp.route("/<public_id>")
@staff_required
def detail(public_id: str) -> tuple[str, int]:
    """Everything about one card, its history, and what staff can do with it."""
    return _render_detail(_card_or_404(public_id))


def _render_detail(card: Card, status: int = 200, **forms: CardActionForm) -> tuple[str, int]:
    defaults: dict[str, FlaskForm] = {
        "revoke_form": RevokeForm(formdata=None),
        "replace_form": ReplaceForm(formdata=None),
        "reissue_form": ReissueForm(formdata=None),
        "extend_form": ExtendForm(
            formdata=None, valid_until=cards_validity.extension_default(card)
        ),
    }
    html = render_template(
        "register/detail.html",
        card=card,
        replacement=cards_register.replacement_of(card),
        # Both documents are made together; this spares loading them to show the links.
        downloadable=card.state in (CardState.ACTIVE, CardState.EXPIRED)
        and card.rendered_generation > 0,
        history=cards_register.history(card),
        actions=_possible_actions(card),
        **action_forms(card.version, defaults, forms),
    )
    return html, status


def _possible_actions(card: Card) -> set[str]:
    """The actions the detail page offers for the card as it is now."""
    allowed = {action.value for action in states.allowed_actions(card.state)}
    if card.card_type != CardType.STANDARD or card.valid_until is None:
        allowed.discard(states.CardAction.EXTEND.value)  # a card without end has none to move
    return allowed & {"revoke", "replace", "reissue", "extend"}


@bp.route("/<public_id>/<any(pdf, png):kind>")
@staff_required
def download(public_id: str, kind: str) -> Response:
    """The card's PDF or PNG, e.g. to hand it over printed."""
    return send_card_document(
        cards_register.get_for_office(current_user.office_id, public_id), kind
    )


def _act(
    public_id: str,
    action: str,
    form: CardActionForm,
    operation: Callable[[Card, int], Card | None],
    success: str,
    *,
    error_field: str | None = None,
) -> tuple[str, int] | Response:
    """Run an action on a card; a clerk who acted on an old page gets a conflict message.

    ``action`` names the action and its form on the detail page (``<action>_form``).
    """
    form_name = f"{action}_form"
    card = _card_or_404(public_id)
    if not form.validate_on_submit():
        return _render_detail(card, 400, **{form_name: form})
    try:
        result = operation(card, expected_version(form))
    except core_errors.NotPermitted:
        db.session.rollback()
        abort(403)
    except core_errors.Conflict:
        db.session.rollback()
        flash(
            _(
                "Die Karte wurde inzwischen geändert (von jemand anderem oder beim Erstellen). "
                "Bitte prüfen Sie den aktuellen Stand."
            ),
            "error",
        )
        return _render_detail(card, 409)
    except states.CardError as error:
        db.session.rollback()
        if error_field is not None and action in _possible_actions(card):
            form[error_field].errors = [str(error)]
            return _render_detail(card, 400, **{form_name: form})
        flash(str(error), "error")
        return _render_detail(card, 400)
    flash(success, "success")
    return redirect(url_for("register.detail", public_id=(result or card).public_id))


@bp.route("/<public_id>/sperren", methods=["POST"])
@staff_required
def revoke(public_id: str) -> tuple[str, int] | Response:
    """Revoke for good; the holder is told by e-mail."""
    form = RevokeForm()

    def operation(card: Card, version: int) -> None:
        note = (form.revoke_note.data or "").strip()
        reason = RevocationReason(form.reason.data)
        lifecycle.revoke(card, acting_staff(), reason, note, expected_version=version)

    return _act(public_id, "revoke", form, operation, _("Die Karte ist gesperrt."))


@bp.route("/<public_id>/ersetzen", methods=["POST"])
@staff_required
def replace_lost(public_id: str) -> tuple[str, int] | Response:
    """Revoke a lost card and issue a replacement; the page then shows the new card."""
    form = ReplaceForm()

    def operation(card: Card, version: int) -> Card:
        note = (form.replace_note.data or "").strip()
        return lifecycle.replace_lost(card, acting_staff(), note, expected_version=version)

    return _act(
        public_id,
        "replace",
        form,
        operation,
        _("Die verlorene Karte ist gesperrt; die Ersatzkarte wird erstellt."),
    )


@bp.route("/<public_id>/neu-ausstellen", methods=["POST"])
@staff_required
def reissue(public_id: str) -> tuple[str, int] | Response:
    """Make the documents again; the holder gets them by e-mail."""
    form = ReissueForm()

    def operation(card: Card, version: int) -> None:
        lifecycle.reissue(card, acting_staff(), expected_version=version)

    return _act(public_id, "reissue", form, operation, _("Die Karte wird neu ausgestellt."))


@bp.route("/<public_id>/verlaengern", methods=["POST"])
@staff_required
def extend(public_id: str) -> tuple[str, int] | Response:
    """A later end of validity; a newly signed card is made and mailed."""
    form = ExtendForm()

    def operation(card: Card, version: int) -> None:
        lifecycle.extend(card, acting_staff(), form.valid_until.data, expected_version=version)

    return _act(
        public_id,
        "extend",
        form,
        operation,
        _("Die Karte ist verlängert; die neue Karte wird erstellt."),
        error_field="valid_until",
    )


# --- bulk issuing -------------------------------------------------------------------------


@bp.route("/ausstellen")
@staff_required
def bulk() -> tuple[str, int]:
    """Applications in review and approved ones without a card, to issue in one go."""
    return _render_bulk(BulkIssueForm())


def _render_bulk(form: BulkIssueForm, status: int = 200, error: str = "") -> tuple[str, int]:
    page_size = current_app.config["PAGE_SIZE"]
    page = page_number(request.args.get("page", type=int))
    in_review = applications_queries.list_queue(
        current_user.office_id, QueueFilter(state=ApplicationState.IN_REVIEW), page, page_size
    )
    without_card = batches.approved_without_card(current_user.office_id, page_size + 1)
    html = render_template(
        "register/bulk.html",
        form=form,
        page=in_review,
        without_card=without_card[:page_size],
        more_without_card=len(without_card) > page_size,
        error=error,
        max_size=MAX_BATCH_SIZE,
    )
    return html, status


def _selection() -> list[tuple[str, int]] | None:
    """The ticked applications as (public id, version), each once; None if malformed."""
    selected: dict[str, int] = {}
    for value in request.form.getlist("selected"):
        match = SELECTION.fullmatch(value)
        if match is None:
            return None
        selected.setdefault(match.group(1), int(match.group(2)))
    return list(selected.items())


@bp.route("/ausstellen", methods=["POST"])
@staff_required
def bulk_issue() -> tuple[str, int] | Response:
    """Approve the ticked applications (and issue cards for approved ones) as one batch.

    Each application has its own transaction: one that changed meanwhile is counted and
    reported, and the others go ahead.
    """
    form = BulkIssueForm()
    if not form.validate_on_submit():
        abort(400)
    selected = _selection()
    if selected is None:
        abort(400)
    if not selected:
        return _render_bulk(form, 400, _("Bitte wählen Sie mindestens einen Antrag aus."))
    if len(selected) > MAX_BATCH_SIZE:
        return _render_bulk(
            form,
            400,
            _("Bitte wählen Sie höchstens %(n)s Anträge auf einmal aus.", n=MAX_BATCH_SIZE),
        )
    office_id = current_user.office_id
    acting = acting_staff()
    batch = batches.create_batch(office_id, acting, len(selected))
    failed = 0
    for public_id, version in selected:
        application = applications_queries.get_for_office(office_id, public_id)
        try:
            if application is None:
                raise core_errors.Conflict(public_id)
            if application.state == ApplicationState.APPROVED:
                batches.issue_for_approved(application, acting, version, batch=batch)
            else:
                decisions.approve(application, acting, version, batch=batch)
        except (core_errors.Conflict, IllegalTransition):
            db.session.rollback()
            failed += 1
    if failed:
        flash(
            _(
                "%(failed)s von %(total)s Anträgen wurden nicht bewilligt: Sie wurden "
                "inzwischen geändert. Bitte prüfen Sie diese einzeln.",
                failed=failed,
                total=len(selected),
            ),
            "warning",
        )
    else:
        flash(_("Die Anträge sind bewilligt; die Karten werden erstellt."), "success")
    return redirect(url_for("register.batch", public_id=batch.public_id))


@bp.route("/stapel/<public_id>")
@staff_required
def batch(public_id: str) -> str:
    """A bulk issuing's progress; it updates itself until every card is made."""
    batch = _batch_or_404(public_id)
    return render_template(
        "register/batch.html",
        batch=batch,
        progress=batches.batch_progress(batch),
        cards=batches.batch_cards(batch),
    )


@bp.route("/stapel/<public_id>.json")
@staff_required
def batch_status(public_id: str) -> Response:
    """The batch page's figures, polled by its script."""
    progress = batches.batch_progress(_batch_or_404(public_id))
    return jsonify(
        total=progress.total,
        issued=progress.issued,
        issuing=progress.issuing,
        active=progress.active,
        failed=progress.failed,
        # The page's script (static/js/progress.js) reloads once no card is left to make.
        complete=progress.complete,
    )


@bp.route("/export.<any(csv, xlsx):kind>")
@staff_required
def export(kind: str) -> Response | tuple[str, int]:
    """The register's cards with its filters, as a streamed CSV or XLSX; audited."""
    form = RegisterFilterForm(request.args)
    if not form.validate():
        return index(), 400
    office_id = current_user.office_id
    exports.record_export(acting_staff(), office_id, f"cards.{kind}", urlencode(request.args))
    rows = exports.card_rows(office_id, form.filters())
    return send_table(kind, _("karten"), exports.CARD_COLUMNS, rows)
