"""The API for till systems: verify a card, fetch the revocation list, read the API's
description.

Every answer is JSON; every error, whatever raised it (routing, the body parser, the rate
limits, a bug), is an RFC 9457 problem document, never an HTML page. Problem texts are
in English and not translated: they are read by the developers of till systems, and
clients act on the status code and ``type``, not on the words.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ehrenamt.cardformat import card_numbers
from ehrenamt.core import rate_counters
from ehrenamt.extensions import csrf, limiter
from ehrenamt.models import Benefit, VerificationChannel
from ehrenamt.partners import api_keys
from ehrenamt.partners import benefits as partners_benefits
from ehrenamt.verification import check as verification_check
from ehrenamt.verification import limits, records
from ehrenamt.verification import revocation as verification_revocation
from ehrenamt.web.api import openapi
from ehrenamt.web.forms import CONTROL_CHARACTERS

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@limiter.request_filter
def _counted_by_the_api_itself() -> bool:
    """The API counts its own limits (ehrenamt.web.api.limits) in one round trip; Flask-Limiter's
    per-request bookkeeping (no limit of its own applies here) would only cost time."""
    return request.blueprint == bp.name


PROBLEM_MEDIA_TYPE = "application/problem+json"
#: ``type`` of the problem when too many unknown or forged codes were sent.
TOO_MANY_FAILED_CODES = "urn:ehrenamtskarte:problem:too-many-failed-codes"
#: ``type`` of the problem when a typed card number is mistyped (check character, length,
#: look-alike characters): ask for it again; not a forged card, not counted or recorded.
MISTYPED_CARD_NUMBER = "urn:ehrenamtskarte:problem:mistyped-card-number"


class Problem(HTTPException):
    """An API error with its RFC 9457 fields; raised anywhere in a request."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.problem_type = type_
        self.extra_headers = headers or {}


def problem_response(
    status: int,
    detail: str | None,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
) -> Response:
    """The RFC 9457 document for ``status``."""
    body: dict[str, Any] = {"type": type_, "title": HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    response = jsonify(body)
    response.status_code = status
    response.content_type = PROBLEM_MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _problem_for(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, Problem):
        return problem_response(
            status, error.description, type_=error.problem_type, headers=error.extra_headers
        )
    headers = {}
    if status == 405 and (allowed := dict(error.get_headers()).get("Allow")):
        headers["Allow"] = allowed
    if status == 429:
        headers["Retry-After"] = "60"
    # Werkzeug's descriptions are written for HTML pages; a short one is enough here.
    detail = None if status == 500 else error.description
    return problem_response(status, detail, headers=headers)


@bp.record_once
def _problems_for_every_api_error(state: BlueprintSetupState) -> None:
    """Under ``/api/``, errors become problem documents; the pages keep their handler.

    A blueprint's own error handler never sees 404 and 405 (the URL matched no route of
    it), so this is an application handler that hands other paths to the one before it.
    """
    app = state.app
    previous: Callable[[HTTPException], Any] | None = app.error_handler_spec[None][None].get(
        HTTPException
    )

    def handle(error: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return _problem_for(error)
        return previous(error) if previous is not None else error

    app.register_error_handler(HTTPException, handle)


# --- rate limits -----------------------------------------------------------------------------


def _count(
    hits: list[tuple[str, str]], reads: list[tuple[str, str]] | None = None
) -> rate_counters.Exceeded | None:
    """Count the request (one round trip); 429 if a hit limit is exceeded. Returns the
    read limit already used up, if any."""
    try:
        over, used_up = rate_counters.count(hits, reads or [])
    except rate_counters.Unavailable:  # logged once per outage by rate_counters
        raise Problem(
            503, "Rate limiting is unavailable; try again shortly.", headers={"Retry-After": "5"}
        ) from None
    if over is not None:
        raise Problem(
            429,
            f"Rate limit of {over.item} exceeded.",
            headers={"Retry-After": str(over.retry_after)},
        )
    return used_up


def _refuse_if_too_many_failed() -> None:
    used_up: rate_counters.Exceeded | None = g.get("failed_codes_used_up")
    if used_up is not None:
        raise Problem(
            429,
            f"Too many unknown or invalid codes (limit {used_up.item}); "
            "wait before checking again.",
            type_=TOO_MANY_FAILED_CODES,
            headers={"Retry-After": str(used_up.retry_after)},
        )


# --- authentication --------------------------------------------------------------------------


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="ehrenamtskarte"'})


@bp.before_request
def _authenticate() -> None:
    """Per-IP limit before the key is looked up (so guessing keys is throttled), then the
    partner's; for a key already known to this process both in one round trip."""
    request.max_content_length = current_app.config["API_MAX_REQUEST_BYTES"]
    if request.endpoint == "api.openapi":
        return
    ip = request.remote_addr or ""
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    bearer = bearer.strip() if scheme.lower() == "bearer" else ""
    key = api_keys.known(bearer) if bearer else None
    if key is None:
        _count([(limits.PER_IP, ip)])
        if not bearer:
            raise _unauthorized("Send the API key as 'Authorization: Bearer <key>'.")
        key = api_keys.authenticate(bearer)
        if key is None:
            raise _unauthorized("The API key is unknown or was revoked.")
        hits = [(limits.PER_PARTNER, str(key.partner_id))]
    else:
        hits = [(limits.PER_IP, ip), (limits.PER_PARTNER, str(key.partner_id))]
    g.api_key = key
    g.failed_codes_used_up = _count(hits, [(limits.FAILED_CODES, str(key.partner_id))])


@bp.after_request
def _no_store(response: Response) -> Response:
    if request.endpoint != "api.openapi":
        response.headers["Cache-Control"] = "no-store"
    return response


# --- endpoints -------------------------------------------------------------------------------


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise Problem(415, "Send the request body as application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a JSON object.")
    return body


def _code_of(body: dict[str, Any]) -> str:
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise Problem(400, "'code' must be a non-empty string (QR content or card number).")
    if len(code) > current_app.config["API_MAX_CODE_LENGTH"]:
        raise Problem(400, "'code' is too long.")
    if CONTROL_CHARACTERS.search(code):
        raise Problem(400, "'code' must not contain control characters.")
    return code


def _benefit_of(body: dict[str, Any], key: api_keys.KeyHolder) -> Benefit | None:
    if body.get("benefit") is None:
        return None
    public_id = body["benefit"]
    if (
        not isinstance(public_id, str)
        or len(public_id) > 32
        or CONTROL_CHARACTERS.search(public_id)
    ):
        raise Problem(400, "'benefit' must be the id of one of your benefits.")
    benefit = partners_benefits.benefit_of_partner(key.partner_id, public_id)
    if benefit is None:
        raise Problem(400, "'benefit' is not one of your benefits.")
    return benefit


@bp.route("/verify", methods=["POST"])
def verify() -> Response:
    """Check a scanned QR content or a typed card number; the check is recorded."""
    key: api_keys.KeyHolder = g.api_key
    body = _json_body()
    code = _code_of(body)
    benefit = _benefit_of(body, key)
    _refuse_if_too_many_failed()
    try:
        result = verification_check.verify(
            code,
            channel=VerificationChannel.API,
            partner_id=key.partner_id,
            api_key_id=key.key_id,
            benefit=benefit,
            wait_for_record=False,
        )
    except card_numbers.InvalidCardNumber:
        raise Problem(
            422,
            "The typed card number is mistyped (its check character, length or characters "
            "do not fit); ask for the number again.",
            type_=MISTYPED_CARD_NUMBER,
        ) from None
    return jsonify(
        {
            "valid": result.valid,
            "status": result.status.value,
            "card_number": card_numbers.format_card_number(result.card_number)
            if result.card_number
            else None,
            "holder_name": result.holder_name,
            "card_type": result.card_type.value if result.card_type else None,
            "valid_until": result.valid_until.isoformat() if result.valid_until else None,
        }
    )


@bp.route("/revocations")
def revocations() -> Response:
    """Revoked cards as keyed hashes for offline verifiers; ``?since=<version>`` for changes."""
    since_text = request.args.get("since")
    since: int | None = None
    if since_text is not None:
        if not since_text.isascii() or not since_text.isdigit() or len(since_text) > 18:
            raise Problem(400, "'since' must be a version number from an earlier answer.")
        since = int(since_text)
    listing = verification_revocation.revocation_list(since)
    records.record_writer().note_key_use(g.api_key.key_id)
    return jsonify(
        {
            "version": listing.version,
            "full": listing.full,
            "algorithm": verification_revocation.REVOCATION_HASH_ALGORITHM,
            "salt": listing.salt,
            "revoked": listing.hashes,
        }
    )


@bp.route("/openapi.json", endpoint="openapi")
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi.document())
