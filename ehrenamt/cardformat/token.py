"""The card's signed token: COSE_Sign1 claims, encoded as digits in the QR URL."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ehrenamt.cardformat import card_numbers
from ehrenamt.cardformat.card_type import CardType

#: Version of the card claim; bumped when its layout changes. Verifiers reject others.
FORMAT_VERSION = 1


#: CWT claim key of the card claim. Negative keys are outside the standard claims; this
#: one costs a single byte, which the QR size budget needs (see docs/card-format.md).
CARD_CLAIM = -1


#: COSE_Sign1 tag (RFC 9052) and header labels and values used.
COSE_SIGN1_TAG = 18


HEADER_ALG = 1


HEADER_KID = 4


ALG_EDDSA = -8


#: CWT claim keys (RFC 8392).
CLAIM_ISS = 1


CLAIM_EXP = 4


CLAIM_IAT = 6


#: RFC 8943: a date as the number of days since 1970-01-01.
TAG_DAYS = 100


#: Card types as they are encoded; never renumber, only add.
CARD_TYPE_CODES = {CardType.STANDARD: 1, CardType.LONG_SERVICE: 2}


#: The printed validity date ends at midnight here, where the programme runs.
CARD_TIME_ZONE = ZoneInfo("Europe/Berlin")


#: Path of the verification page; the token follows it as the fragment.
CARD_PATH = "/karte"


#: Bytes of SHA-256 over the raw public key that make a key id.
KEY_ID_BYTES = 8


# Decimal digits for a group of n bytes: 7 bytes (56 bits) fit into 17 digits, a shorter
# last group into the fewest digits that hold 256**n - 1. Every count differs, so the
# digit count of the last group tells its byte count.
_GROUP_BYTES = 7


_DIGITS_FOR_BYTES = {1: 3, 2: 5, 3: 8, 4: 10, 5: 13, 6: 15, 7: 17}


_BYTES_FOR_DIGITS = {digits: size for size, digits in _DIGITS_FOR_BYTES.items()}


#: Digits of a group → (its bytes, the first value too large for them).
_GROUP_OF_DIGITS = {digits: (size, 256**size) for digits, size in _BYTES_FOR_DIGITS.items()}


# Far above any real card (about 230 bytes); stops absurd input before any work.
_MAX_TOKEN_BYTES = 1024


class InvalidToken(Exception):
    """A card token that must not be trusted; the subclass says why."""


class MalformedToken(InvalidToken):
    """Not a card token of a version we know: garbage, wrong structure, unknown version."""


class UnknownKey(InvalidToken):
    """Signed with a key that is not (or no longer) published."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"unknown key id {kid}")
        self.kid = kid


class BadSignature(InvalidToken):
    """The signature does not match: the token was changed or forged."""


class Expired(InvalidToken):
    """Genuine, but past its validity; ``card`` says what the card showed."""

    def __init__(self, card: VerifiedCard) -> None:
        super().__init__(f"card {card.claims.card_number} expired at {card.expires_at}")
        self.card = card


@dataclass(frozen=True)
class CardClaims:
    """What a card's QR code asserts: all it carries, and no other personal data."""

    #: Canonical card number (see :mod:`ehrenamt.cardformat.card_numbers`).
    card_number: str
    #: The holder's name exactly as printed on the card.
    name: str
    card_type: CardType
    #: Last day of validity (inclusive, German time); ``None`` for cards without end.
    valid_until: date | None
    #: Slug of the issuing office (the CWT issuer).
    office: str
    #: When the card was signed, whole seconds, time-zone aware.
    issued_at: datetime

    def __post_init__(self) -> None:
        try:
            canonical = card_numbers.normalise_card_number(self.card_number)
        except card_numbers.InvalidCardNumber:
            canonical = None
        if canonical != self.card_number:
            raise ValueError(f"not a canonical card number: {self.card_number!r}")
        if not self.name or not self.office:
            raise ValueError("a card needs a name and an issuing office")
        if self.issued_at.tzinfo is None:
            raise ValueError("issued_at must be time-zone aware")

    @property
    def expires_at(self) -> datetime | None:
        """The CWT ``exp``: midnight after ``valid_until`` in German time, as UTC."""
        if self.valid_until is None:
            return None
        end = datetime.combine(self.valid_until + timedelta(days=1), time(), CARD_TIME_ZONE)
        return end.astimezone(UTC)


@dataclass(frozen=True)
class VerifiedCard:
    """A token whose signature verified with a published key and that has not expired."""

    claims: CardClaims
    #: Hex key id of the key that signed it.
    kid: str

    @property
    def expires_at(self) -> datetime | None:
        """When the card stops being valid; ``None`` for cards without end."""
        return self.claims.expires_at


class Verifier(Protocol):
    """Checks an Ed25519 signature; raises ``InvalidSignature`` (as Ed25519PublicKey does)."""

    def verify(self, signature: bytes, data: bytes) -> None: ...


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key id: hex of the first 8 bytes of SHA-256 over the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:KEY_ID_BYTES].hex()


def sign_card(claims: CardClaims, key: Ed25519PrivateKey) -> bytes:
    """The COSE_Sign1 bytes of ``claims`` signed with ``key``."""
    card = [
        FORMAT_VERSION,
        claims.card_number,
        claims.name,
        CARD_TYPE_CODES[claims.card_type],
        _days(claims.valid_until),
    ]
    payload_claims: dict[int, Any] = {
        CLAIM_ISS: claims.office,
        CLAIM_IAT: int(claims.issued_at.timestamp()),
    }
    if claims.expires_at is not None:
        payload_claims[CLAIM_EXP] = int(claims.expires_at.timestamp())
    payload_claims[CARD_CLAIM] = card
    payload = cbor2.dumps(payload_claims)
    kid = bytes.fromhex(key_id(key.public_key()))
    protected = cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: kid})
    signature = key.sign(_sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def verify_token(
    token: bytes, public_keys: Mapping[str, Verifier], now: datetime | None = None
) -> VerifiedCard:
    """Check ``token`` against the published ``public_keys`` (hex kid → key).

    Raises :class:`MalformedToken`, :class:`UnknownKey`, :class:`BadSignature` or
    :class:`Expired`, in that order of checking. The signature is checked before the
    payload is read, so a changed payload is a bad signature, never a parsing puzzle.
    """
    protected, payload, signature = _parse_sign1(token)
    kid = _parse_protected(protected)
    public_key = public_keys.get(kid)
    if public_key is None:
        raise UnknownKey(kid)
    try:
        public_key.verify(signature, _sig_structure(protected, payload))
    except InvalidSignature:
        raise BadSignature("signature does not match") from None
    card = VerifiedCard(_parse_claims(payload), kid)
    expires_at = card.expires_at
    if expires_at is not None and (now or datetime.now(UTC)) >= expires_at:
        raise Expired(card)
    return card


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """What Ed25519 signs (RFC 9052 section 4.4), with no external data."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _days(day: date | None) -> cbor2.CBORTag | None:
    return None if day is None else cbor2.CBORTag(TAG_DAYS, (day - date(1970, 1, 1)).days)


def _loads(data: bytes, *, canonical: bool = False) -> Any:
    """Strict CBOR decoding: no duplicate keys, nothing indefinite; optionally only the
    canonical encoding of the value."""
    try:
        value = cbor2.loads(data, allow_duplicate_keys=False, allow_indefinite=False, max_depth=8)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError) as error:
        raise MalformedToken(f"not CBOR: {error}") from None
    # cbor2 ignores trailing bytes and accepts longer-than-needed encodings. The signature
    # covers only the protected header and the payload, so the envelope around them must be
    # byte for byte the canonical one: then every byte of a token is significant.
    if canonical and cbor2.dumps(value) != data:
        raise MalformedToken("not in canonical CBOR encoding")
    return value


def _parse_sign1(token: bytes) -> tuple[bytes, bytes, bytes]:
    if len(token) > _MAX_TOKEN_BYTES:
        raise MalformedToken("token too long")
    message = _loads(token, canonical=True)
    if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG:
        raise MalformedToken("not a tagged COSE_Sign1 message")
    parts = message.value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise MalformedToken("COSE_Sign1 must be an array of 4")
    protected, unprotected, payload, signature = parts
    if not (
        isinstance(protected, bytes)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
        and isinstance(unprotected, Mapping)
        and not unprotected
    ):
        raise MalformedToken("COSE_Sign1 parts have the wrong types")
    return protected, payload, signature


def _parse_protected(protected: bytes) -> str:
    header = _loads(protected)
    if not isinstance(header, Mapping) or set(header) != {HEADER_ALG, HEADER_KID}:
        raise MalformedToken("protected header must hold exactly alg and kid")
    if header[HEADER_ALG] != ALG_EDDSA:
        raise MalformedToken(f"unsupported algorithm {header[HEADER_ALG]!r}")
    kid = header[HEADER_KID]
    if not isinstance(kid, bytes) or len(kid) != KEY_ID_BYTES:
        raise MalformedToken("key id must be 8 bytes")
    return kid.hex()


def _parse_claims(payload: bytes) -> CardClaims:
    claims = _loads(payload)
    if not isinstance(claims, Mapping) or CARD_CLAIM not in claims:
        raise MalformedToken("no card claim")
    card = claims[CARD_CLAIM]
    if not isinstance(card, list | tuple) or not card or card[0] != FORMAT_VERSION:
        raise MalformedToken("unknown card format version")
    try:
        _, number, name, type_code, valid_until = card
        card_type = next(t for t, code in CARD_TYPE_CODES.items() if code == type_code)
        office, iat, exp = claims[CLAIM_ISS], claims[CLAIM_IAT], claims.get(CLAIM_EXP)
        if not all(isinstance(text, str) for text in (number, name, office)) or not (
            isinstance(iat, int)
        ):
            raise TypeError("wrong claim types")
        if not (valid_until is None or type(valid_until) is date):
            raise TypeError("valid-until must be a date")
        result = CardClaims(
            card_number=number,
            name=name,
            card_type=card_type,
            valid_until=valid_until,
            office=office,
            issued_at=datetime.fromtimestamp(iat, UTC),
        )
    except (ValueError, TypeError, KeyError, StopIteration, OverflowError, OSError) as error:
        raise MalformedToken(f"bad card claim: {error}") from None
    expected_exp = result.expires_at
    if exp != (None if expected_exp is None else int(expected_exp.timestamp())):
        raise MalformedToken("exp does not match the valid-until date")
    return result


def encode_token(token: bytes) -> str:
    """``token`` as decimal digits: each 7-byte group as 17 digits (a shorter last group
    as 3, 5, 8, 10, 13 or 15), big-endian, zero-padded.

    Digits use the QR code's numeric mode (3.33 bits per digit, so 8.03 bits per byte),
    smaller than base45 (8.25, and its space and % need escaping in a URL) or base64url
    (10.67); docs/card-format.md has the measurements.
    """
    groups = (token[i : i + _GROUP_BYTES] for i in range(0, len(token), _GROUP_BYTES))
    return "".join(
        str(int.from_bytes(group, "big")).zfill(_DIGITS_FOR_BYTES[len(group)]) for group in groups
    )


def decode_token(text: str) -> bytes:
    """The bytes of a token in text form; raises :class:`MalformedToken`."""
    width = _DIGITS_FOR_BYTES[_GROUP_BYTES]
    # isdigit() alone accepts other scripts' digits, which int() reads too.
    if not text.isascii() or not text.isdigit() or len(text) > 3 * _MAX_TOKEN_BYTES:
        raise MalformedToken("a card token consists of digits only")
    groups = []
    for start in range(0, len(text), width):
        digits = text[start : start + width]
        size, limit = _GROUP_OF_DIGITS.get(len(digits), (0, 0))
        value = int(digits)
        if value >= limit:
            raise MalformedToken("not a valid digit group")
        groups.append(value.to_bytes(size, "big"))
    return b"".join(groups)


def card_url(token: bytes, base_url: str) -> str:
    """The URL for the QR code: the verification page with the token as fragment."""
    base = base_url.rstrip("/")
    return f"{base}{CARD_PATH}#{encode_token(token)}"


def parse_card_url(url_or_token: str) -> bytes:
    """The token bytes from a scanned URL (any host) or from the bare digits."""
    text = url_or_token.strip()
    if "#" in text:
        text = urlsplit(text).fragment
    return decode_token(text)
