"""Public keys and the revocation list for verifying cards (the public card page, tills,
apps, other services)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from ehrenamt.cards import keys as cards_keys
from ehrenamt.verification import revocation

bp = Blueprint("wellknown", __name__, url_prefix="/.well-known")

#: Verifiers may keep the keys this long; a new key is generated well before it signs
#: (see docs/card-format.md), so an hour's delay in seeing it is harmless.
KEYS_MAX_AGE_SECONDS = 3600


@bp.route("/ehrenamtskarte-keys.json")
def card_keys() -> Response:
    """Every published card-signing public key as a JWK Set, readable from any origin."""
    response = jsonify(cards_keys.load_key_ring().jwks())
    response.headers["Cache-Control"] = f"public, max-age={KEYS_MAX_AGE_SECONDS}"
    # Browser-based tills and apps on other origins fetch this; it holds nothing secret.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/ehrenamtskarte-revocations.json")
def revocations() -> Response:
    """Every revoked card as a keyed hash (docs/card-format.md, section 11), for anyone.

    The public card page decides "revoked" in the browser from this list, so the server
    never learns which card was checked, and one visitor cannot use up another's
    questions: the answer is the same for everybody and any cache may keep it.
    """
    listing = revocation.published_revocation_list()
    response = jsonify(
        {
            "algorithm": revocation.REVOCATION_HASH_ALGORITHM,
            "salt": listing.salt,
            "revoked": listing.hashes,
        }
    )
    max_age = int(current_app.config["PUBLIC_REVOCATIONS_MAX_AGE_SECONDS"])
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    # A visitor checking again soon gets "304 Not Modified" instead of the whole list.
    response.add_etag()
    return response.make_conditional(request)
