"""The OpenAPI 3.1 description of the till API, kept beside the views it describes.

The tests validate real answers against the schemas here, so the document cannot drift
from what the API does.
"""

from __future__ import annotations

from typing import Any

from ehrenamt.models import CardType
from ehrenamt.verification.results import CheckStatus
from ehrenamt.verification.revocation import REVOCATION_HASH_ALGORITHM

_NULLABLE_STRING = {"type": ["string", "null"]}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def document() -> dict[str, Any]:
    """The document, as served at ``/api/v1/openapi.json``."""
    errors = {
        "400": _problem("The request is malformed (no JSON object, 'code' missing or wrong)."),
        "401": _problem("No API key, or an unknown or revoked one."),
        "413": _problem("The body is too large."),
        "415": _problem("The body is not application/json."),
        "429": _problem("Too many requests, or too many unknown or forged codes."),
        "503": _problem("Rate limiting is unavailable for a moment; retry after Retry-After."),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ehrenamtskarte verification API",
            "version": "1",
            "description": (
                "For till systems of partners: check a volunteer card online, and fetch the "
                "list of revoked cards for checking offline. Every check is recorded for a "
                "limited period. Errors are RFC 9457 problem documents."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"apiKey": []}],
        "paths": {
            "/verify": {
                "post": {
                    "operationId": "verifyCard",
                    "summary": "Check a card (QR content or card number).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/VerifyRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The answer; 'valid' is true only for status 'valid'.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/VerifyResult"}
                                }
                            },
                        },
                        **errors,
                        "422": _problem(
                            "A typed card number is mistyped: its check character, length or "
                            "characters do not fit (type "
                            "'urn:ehrenamtskarte:problem:mistyped-card-number'). Ask for the "
                            "number again; this is a typing mistake, not a forged card, and "
                            "it is neither recorded nor counted as a failed code."
                        ),
                    },
                }
            },
            "/revocations": {
                "get": {
                    "operationId": "listRevocations",
                    "summary": "Revoked cards as keyed hashes, for offline verifiers.",
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "description": "The 'version' of an earlier answer: only cards "
                            "revoked after it are listed ('full' is false).",
                            "schema": {"type": "integer", "minimum": 0},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The list or its changes.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/RevocationList"}
                                }
                            },
                        },
                        "400": errors["400"],
                        "401": errors["401"],
                        "429": errors["429"],
                        "503": errors["503"],
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A partner's API key (ek_…), created on the partner pages.",
                }
            },
            "schemas": {
                "VerifyRequest": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 2000,
                            "description": "The QR code's content (URL) or a typed card number "
                            "(12 characters, dashes and spaces allowed).",
                        },
                        "benefit": {
                            "type": ["string", "null"],
                            "description": "Public id of the partner's benefit given, if any.",
                        },
                    },
                },
                "VerifyResult": {
                    "type": "object",
                    "required": [
                        "valid",
                        "status",
                        "card_number",
                        "holder_name",
                        "card_type",
                        "valid_until",
                    ],
                    "additionalProperties": False,
                    "properties": {
                        "valid": {"type": "boolean"},
                        "status": {
                            "enum": [status.value for status in CheckStatus],
                            "description": "'unknown': a well-formed card number, or a QR "
                            "code with a genuine signature, but no such card; 'invalid': a QR "
                            "code whose signature fails (forged or altered). A mistyped card "
                            "number gets no status but the 422 problem.",
                        },
                        "card_number": {
                            "type": ["string", "null"],
                            "pattern": "^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$",
                        },
                        "holder_name": _NULLABLE_STRING,
                        "card_type": {"enum": [*(t.value for t in CardType), None]},
                        "valid_until": {
                            "type": ["string", "null"],
                            "format": "date",
                            "description": "Last day of validity; null for long-service cards "
                            "and when the card is unknown or not genuine.",
                        },
                    },
                },
                "RevocationList": {
                    "type": "object",
                    "required": ["version", "full", "algorithm", "salt", "revoked"],
                    "additionalProperties": False,
                    "properties": {
                        "version": {"type": "integer", "minimum": 0},
                        "full": {"type": "boolean"},
                        "algorithm": {"const": REVOCATION_HASH_ALGORITHM},
                        "salt": {"type": "string"},
                        "revoked": {
                            "type": "array",
                            "items": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                            "description": "hex(HMAC-SHA256(key=salt, msg=card number)[:8]).",
                        },
                    },
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    }
