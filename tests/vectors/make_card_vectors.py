"""Build the card-format test vectors (``card-vectors.json`` beside this file).

Run ``python -m tests.vectors.make_card_vectors`` after a deliberate change of the format,
then update docs/card-format.md; tests/test_signing.py fails while the committed file and
this builder disagree. Ed25519 signatures are deterministic, so the output is too.

THE KEYS HERE ARE FOR TESTS ONLY. Their private parts are public; never publish them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ehrenamt.cardformat import keys as cardformat_keys
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.models import CardType

VECTORS_FILE = Path(__file__).with_name("card-vectors.json")
BASE_URL = "https://ehrenamtskarte.example.org"


def vector_key(label: str) -> Ed25519PrivateKey:
    """A fixed key: the seed is SHA-256 of a label that says it is for tests only."""
    seed = hashlib.sha256(f"ehrenamt card format TEST KEY {label} NOT FOR PRODUCTION".encode())
    return Ed25519PrivateKey.from_private_bytes(seed.digest())


def _key_entry(label: str) -> dict[str, str]:
    key = vector_key(label)
    public = key.public_key()
    return {
        "seed_label": f"ehrenamt card format TEST KEY {label} NOT FOR PRODUCTION",
        "kid": cardformat_token.key_id(public),
        "private_pem": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "public_pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
    }


def _claims_json(claims: cardformat_token.CardClaims) -> dict[str, Any]:
    return {
        "card_number": claims.card_number,
        "name": claims.name,
        "card_type": claims.card_type.value,
        "valid_until": claims.valid_until.isoformat() if claims.valid_until else None,
        "office": claims.office,
        "issued_at": claims.issued_at.isoformat(),
    }


def claims_from_json(data: dict[str, Any]) -> cardformat_token.CardClaims:
    """The :class:`~ehrenamt.cardformat.token.CardClaims` of a vector's ``claims``."""
    return cardformat_token.CardClaims(
        card_number=data["card_number"],
        name=data["name"],
        card_type=CardType(data["card_type"]),
        valid_until=date.fromisoformat(data["valid_until"]) if data["valid_until"] else None,
        office=data["office"],
        issued_at=datetime.fromisoformat(data["issued_at"]),
    )


def _token_entry(cose: bytes) -> dict[str, str]:
    return {
        "cose_hex": cose.hex(),
        "token": cardformat_token.encode_token(cose),
        "url": cardformat_token.card_url(cose, BASE_URL),
    }


def _changed(cose: bytes, offset: int, value: int) -> bytes:
    return cose[:offset] + bytes([value]) + cose[offset + 1 :]


def build_vectors() -> dict[str, Any]:
    """Every vector, as written to ``card-vectors.json``."""
    key, other = vector_key("A"), vector_key("B")
    standard = cardformat_token.CardClaims(
        card_number="K7QM3RXA9TWP",
        name="Erika Müßig-Ehrenamt",
        card_type=CardType.STANDARD,
        valid_until=date(2029, 2, 28),
        office="dessau-rosslau",
        issued_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )
    long_service = cardformat_token.CardClaims(
        card_number="ZH4N8CEW2UJD",
        name="Hans-Jürgen Lange",
        card_type=CardType.LONG_SERVICE,
        valid_until=None,
        office="dessau-rosslau",
        issued_at=datetime(2026, 3, 1, 9, 31, tzinfo=UTC),
    )
    cose = cardformat_token.sign_card(standard, key)
    # Offsets into the standard card's COSE bytes, from the layout in docs/card-format.md:
    # D2 84 4D | A2 01 27 04 48 <kid 8> | A0 | 58 <len> <payload> | 58 40 <signature 64>
    payload_start = 2 + 14 + 1 + 2
    alg_offset = 2 + 1 + 2
    signature_start = len(cose) - 64
    verify_at = "2026-06-01T12:00:00+00:00"
    valid = [
        {
            "name": "standard card",
            "claims": _claims_json(standard),
            **_token_entry(cose),
            "verify_at": verify_at,
            "expected": {"result": "valid", "kid": cardformat_token.key_id(key.public_key())},
        },
        {
            "name": "standard card, last second of its validity (Europe/Berlin)",
            "claims": _claims_json(standard),
            **_token_entry(cose),
            "verify_at": "2029-02-28T23:59:59+01:00",
            "expected": {"result": "valid", "kid": cardformat_token.key_id(key.public_key())},
        },
        {
            "name": "long-service card, valid without end",
            "claims": _claims_json(long_service),
            **_token_entry(cardformat_token.sign_card(long_service, key)),
            "verify_at": "2099-12-31T23:59:59+00:00",
            "expected": {"result": "valid", "kid": cardformat_token.key_id(key.public_key())},
        },
    ]
    invalid = [
        {
            "name": "one byte of the payload changed (a character of the card number)",
            **_token_entry(_changed(cose, payload_start + 40, cose[payload_start + 40] ^ 0x01)),
            "verify_at": verify_at,
            "expected": {"result": "BadSignature"},
        },
        {
            "name": "one byte of the signature changed",
            **_token_entry(_changed(cose, signature_start, cose[signature_start] ^ 0x80)),
            "verify_at": verify_at,
            "expected": {"result": "BadSignature"},
        },
        {
            "name": "one byte of the protected header changed (alg EdDSA -8 → ES256 -7)",
            **_token_entry(_changed(cose, alg_offset, 0x26)),
            "verify_at": verify_at,
            "expected": {"result": "MalformedToken"},
        },
        {
            "name": "signed by a key that is not published",
            **_token_entry(cardformat_token.sign_card(standard, other)),
            "verify_at": verify_at,
            "expected": {"result": "UnknownKey"},
        },
        {
            "name": "expired: first second after its validity (Europe/Berlin)",
            **_token_entry(cose),
            "verify_at": "2029-03-01T00:00:00+01:00",
            "expected": {"result": "Expired"},
        },
    ]
    public_key = key.public_key()
    return {
        "comment": (
            "Test vectors of the Ehrenamtskarte card format (docs/card-format.md). "
            "TEST KEYS ONLY: their private parts are public. Built by "
            "tests/vectors/make_card_vectors.py."
        ),
        "keys": {"A": _key_entry("A"), "B": _key_entry("B")},
        "published_keys": cardformat_keys.KeyRing(
            {
                cardformat_token.key_id(public_key): cardformat_keys.CardKey(
                    "", public_key, None, None
                )
            }
        ).jwks(),
        "valid": valid,
        "invalid": invalid,
    }


def render(vectors: dict[str, Any]) -> str:
    """The file's text: stable key order, one trailing newline."""
    return json.dumps(vectors, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    VECTORS_FILE.write_text(render(build_vectors()), encoding="utf-8")
    print(f"wrote {VECTORS_FILE}")
