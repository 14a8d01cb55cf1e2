"""Public keys for verifying cards offline (tills, apps, other services)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from ehrenamt.cards import keys as cards_keys

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
