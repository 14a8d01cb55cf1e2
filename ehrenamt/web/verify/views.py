"""The partner's check page (camera or typed number), its history, and the public check.

The partner's page sends the scanned QR content (or a typed number) to the server, which
checks and records it. The public page (``/karte#<digits>``) verifies the signature in
the visitor's browser with the published keys and decides "revoked" there from the
public revocation list; the token stays in the URL fragment and the server never learns
which card was checked.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ehrenamt import labels
from ehrenamt.cardformat import card_numbers
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.core import rate_counters
from ehrenamt.extensions import db, limiter
from ehrenamt.labels import CHECK_RESULT_LABELS
from ehrenamt.models import Benefit, CardType, VerificationChannel
from ehrenamt.partners import membership
from ehrenamt.verification import check as verification_check
from ehrenamt.verification import history as verification_history
from ehrenamt.verification import limits
from ehrenamt.verification.results import CardCheck, CheckStatus
from ehrenamt.web.access import partner_required
from ehrenamt.web.forms import CONTROL_CHARACTERS
from ehrenamt.web.verify.forms import MAX_CODE_LENGTH, CheckForm

bp = Blueprint("verify", __name__)

#: The answer in one word, with a symbol, so that it never depends on colour alone.
STATUS_TEXT = CHECK_RESULT_LABELS
STATUS_SYMBOL = {
    CheckStatus.VALID: "✔",
    CheckStatus.EXPIRED: "⌛",
    CheckStatus.REVOKED: "✖",
    CheckStatus.INVALID: "✖",
    CheckStatus.UNKNOWN: "?",
}
STATUS_EXPLANATION = {
    CheckStatus.VALID: _l("Die Karte ist echt und gültig."),
    CheckStatus.EXPIRED: _l("Die Karte ist echt, aber nicht mehr gültig."),
    CheckStatus.REVOKED: _l("Die Karte wurde gesperrt und ist nicht mehr gültig."),
    CheckStatus.INVALID: _l("Das ist keine echte Ehrenamtskarte."),
    CheckStatus.UNKNOWN: _l("Zu dieser Nummer gibt es keine Karte."),
}

#: Checks per page of the partner's history.
HISTORY_PAGE_SIZE = 50


def _page_limit() -> str:
    return str(current_app.config["RATELIMIT_VERIFY_PAGE"])


def _partner_key() -> str:
    """Checks count per partner, whichever colleague, device or form (typed or scanned)."""
    partner = membership.partner_of(current_user) if current_user.is_authenticated else None
    return f"partner:{partner.id}" if partner else get_remote_address()


@bp.app_context_processor
def _verdict_texts() -> dict[str, Any]:
    return {
        "CHECK_STATUSES": list(CheckStatus),
        "CHECK_STATUS_TEXT": STATUS_TEXT,
        "CHECK_STATUS_SYMBOL": STATUS_SYMBOL,
        "CHECK_STATUS_EXPLANATION": STATUS_EXPLANATION,
    }


def _check_form() -> CheckForm:
    form = CheckForm()
    benefit_choices = [("", str(_l("— keine Angabe —")))]
    benefit_choices += [(benefit.public_id, benefit.title) for benefit in g.partner.benefits]
    form.benefit.choices = benefit_choices
    return form


def _own_benefit(public_id: str | None) -> Benefit | None:
    # A NUL would end in a PostgreSQL error; no id of ours is longer than 32 characters.
    if not public_id or len(public_id) > 32 or CONTROL_CHARACTERS.search(public_id):
        return None
    return db.session.scalar(
        select(Benefit).where(Benefit.public_id == public_id, Benefit.partner_id == g.partner.id)
    )


@bp.route("/pruefen/", methods=["GET", "POST"])
@limiter.shared_limit(_page_limit, "check-page", methods=["POST"])
@limiter.shared_limit(_page_limit, "check-page-partner", methods=["POST"], key_func=_partner_key)
@partner_required
def scan() -> str | Response | tuple[str, int]:
    """Scan the QR code with the camera, or type the number (also without JavaScript).

    A typed number's answer is shown after a redirect (post/redirect/get): Back or a
    reload never sends the number again, which would record a second check.
    """
    form = _check_form()
    if form.validate_on_submit():
        if _too_many_failed_codes():
            form.code.errors = [str(TOO_MANY_FAILED_CODES)]
            return render_template("verify/scan.html", form=form, result=None), 429
        try:
            checked = _verify(form.code.data or "", form.benefit.data)
        except card_numbers.InvalidCardNumber as typo:
            # Kept in the field, so that the one wrong character can be corrected.
            form.code.errors = [str(typo)]
        else:
            session[LAST_RESULT] = _shown(checked)
            return redirect(url_for("verify.scan"), 303)
    result = _last_result() if request.method == "GET" else None
    return render_template("verify/scan.html", form=form, result=result)


#: Session key: the answer of the check just made, shown once by the page after the
#: redirect; only what the verdict shows (what the card itself shows), no database id.
LAST_RESULT = "verify_last_result"


def _shown(result: CardCheck) -> dict[str, str | None]:
    return {
        "status": result.status.value,
        "card_number": result.card_number,
        "holder_name": result.holder_name,
        "card_type": result.card_type.value if result.card_type else None,
        "valid_until": result.valid_until.isoformat() if result.valid_until else None,
    }


def _last_result() -> CardCheck | None:
    """The answer stored by the check just made, taken out of the session."""
    shown = session.pop(LAST_RESULT, None)
    if not isinstance(shown, dict):
        return None
    try:
        return CardCheck(
            status=CheckStatus(shown["status"]),
            card_number=shown.get("card_number"),
            holder_name=shown.get("holder_name"),
            card_type=CardType(shown["card_type"]) if shown.get("card_type") else None,
            valid_until=date.fromisoformat(shown["valid_until"])
            if shown.get("valid_until")
            else None,
        )
    except (KeyError, ValueError):
        return None


TOO_MANY_FAILED_CODES = _l(
    "Zu viele unbekannte oder ungültige Codes in kurzer Zeit. Bitte warten Sie eine Minute."
)


def _too_many_failed_codes() -> bool:
    """Whether the partner used up its unknown or forged codes (RATELIMIT_API_FAILED_CODES,
    counted together with its till API's)."""
    try:
        _, used_up = rate_counters.count([], [(limits.FAILED_CODES, str(g.partner.id))])
    except rate_counters.Unavailable:
        return False  # the page's own limits (Flask-Limiter) still apply
    return used_up is not None


def _verify(code: str, benefit_id: str | None) -> CardCheck:
    result = verification_check.verify(
        code,
        channel=VerificationChannel.PAGE,
        partner_id=g.partner.id,
        benefit=_own_benefit(benefit_id),
    )

    return result


@bp.route("/pruefen/ergebnis", methods=["POST"])
@limiter.shared_limit(_page_limit, "check-page")
@limiter.shared_limit(_page_limit, "check-page-partner", key_func=_partner_key)
@partner_required
def result_json() -> Response | tuple[Response, int]:
    """The scan page's script: ``{code, benefit?}`` in, the answer as JSON out."""
    data = request.get_json(silent=True)
    code = data.get("code") if isinstance(data, dict) else None
    benefit = data.get("benefit") if isinstance(data, dict) else None
    if (
        not isinstance(code, str)
        or not code.strip()
        or len(code) > MAX_CODE_LENGTH
        or CONTROL_CHARACTERS.search(code)
        or not (benefit is None or isinstance(benefit, str))
    ):
        return jsonify({"error": "bad_request"}), 400
    if _too_many_failed_codes():
        return jsonify({"error": "too_many_failed_codes"}), 429
    try:
        result = _verify(code, benefit)
    except card_numbers.InvalidCardNumber as typo:
        return jsonify({"error": "typo", "message": str(typo)}), 422
    return jsonify(_result_json(result))


def _result_json(result: CardCheck) -> dict[str, Any]:
    """What the page shows: the status and only what the card itself shows."""
    shows_card = result.card_number is not None
    return {
        "status": result.status.value,
        "holder_name": result.holder_name if shows_card else None,
        "card_type": str(labels.CARD_TYPE_SHORT[result.card_type])
        if shows_card and result.card_type is not None
        else None,
        "valid_until": (
            format_date(result.valid_until)
            if result.valid_until is not None
            else str(_l("ohne Ablaufdatum"))
        )
        if shows_card
        else None,
    }


@bp.route("/pruefen/verlauf")
@partner_required
def history() -> str:
    """The partner's own checks, newest first, with counts per result."""
    page = verification_history.verification_history(
        g.partner.id, request.args.get("seite", type=int), HISTORY_PAGE_SIZE
    )
    counts = verification_history.counts_by_result(g.partner.id)
    return render_template(
        "verify/history.html",
        checks=page.items,
        counts={status: counts[status.value] for status in CheckStatus},
        total=sum(counts.values()),
        page=page,
    )


@bp.route("/karte")
def public_check() -> str:
    """The page a phone's camera opens from the QR code; its script does the checking."""
    return render_template("verify/card.html", card_type_codes=cardformat_token.CARD_TYPE_CODES)
