"""Signed card payloads for the QR code, and the key ring that signs them.

A card's QR code holds ``<BASE_URL>/karte#<digits>``: a COSE_Sign1 message (RFC 9052)
signed with Ed25519, carrying CWT claims (RFC 8392), as the EU Digital COVID Certificate
does, written as decimal digits so that the QR code can use its compact numeric mode. The
token sits in the URL fragment, which browsers never send, so no server log records it.
``docs/card-format.md`` describes the format byte by byte, with test vectors.

Keys live in ``CARD_KEYS_FOLDER`` (outside the repository and the database) as
``<kid>.key`` (private, PEM PKCS#8, mode 0600) and ``<kid>.pub`` (public, PEM), or the
private key comes from the environment (``EHRENAMT_CARD_SIGNING_KEY``). Retiring a key
deletes its private part and keeps the public one published, so cards it signed stay
verifiable.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import logging
import math
import os
import re
import threading
import time as time_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import cbor2
import nacl.exceptions
import nacl.signing
import qrcode
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from ehrenamt.extensions import per_app
from ehrenamt.models import CardType
from ehrenamt.services import card_numbers

log = logging.getLogger(__name__)

# --- The format ---------------------------------------------------------------------------

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

    #: Canonical card number (see :mod:`ehrenamt.services.card_numbers`).
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


# --- Text form: decimal digits for the QR code's numeric mode ------------------------------


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


def card_url(token: bytes, base_url: str | None = None) -> str:
    """The URL for the QR code: the verification page with the token as fragment."""
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    return f"{base}{CARD_PATH}#{encode_token(token)}"


def parse_card_url(url_or_token: str) -> bytes:
    """The token bytes from a scanned URL (any host) or from the bare digits."""
    text = url_or_token.strip()
    if "#" in text:
        text = urlsplit(text).fragment
    return decode_token(text)


def make_qr_code(url: str) -> qrcode.QRCode:
    """The card's QR code (error correction M, smallest version that fits) for ``url``.

    qrcode splits the data into segments: the URL in byte mode, the digits in numeric mode.
    The symbol is exactly what qrcode's ``make(fit=True)`` gives; only its choice of the
    mask is done faster (:func:`_best_mask`).
    """
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.best_fit()
    qr.makeImpl(False, _best_mask(qr))
    return qr


#: ISO/IEC 18004 penalty patterns: five or more modules of one colour in a line, and the
#: finder-like 1:1:3:1:1 sequence with four light modules on either side.
_RUNS = re.compile("0{5,}|1{5,}")
_FINDER_LIKE = ("10111010000", "00001011101")
_BIT_CHARACTERS = bytes.maketrans(b"\x00\x01", b"01")


def _best_mask(qr: qrcode.QRCode) -> int:
    """The mask qrcode's ``best_mask_pattern()`` picks: least penalty, the first on a tie.

    qrcode lays the symbol out eight times and scores each cell by cell in Python, which
    took a quarter of the time of making a card (bench/issuing.py). The eight layouts
    differ only in the data modules where the masks differ, so this lays it out once,
    derives the others by XOR of whole rows, and scores rows and columns as bit strings
    and integers. Like qrcode, it scores the layout with the format information left
    light (its "test" layout); tests/test_qr_code.py checks that the choice is qrcode's.
    """
    qr.makeImpl(True, 0)
    size = qr.modules_count
    base = [_row_bits(row) for row in qr.modules]
    penalties = [
        _penalty([row ^ flip for row, flip in zip(base, flips, strict=True)], size)
        for flips in _mask_flips(qr.version)
    ]
    return penalties.index(min(penalties))


@functools.cache
def _mask_flips(version: int) -> tuple[tuple[int, ...], ...]:
    """For each mask, row by row, the data modules where it differs from mask 0."""
    qr = qrcode.QRCode(version=version, error_correction=qrcode.constants.ERROR_CORRECT_M)
    # With no data every data module shows its mask alone, and all other modules are the
    # same under every mask in the test layout.
    qr.data_cache = []
    layouts = []
    for mask in range(8):
        qr.makeImpl(True, mask)
        layouts.append([_row_bits(row) for row in qr.modules])
    first = layouts[0]
    return tuple(
        tuple(row ^ other for row, other in zip(first, layout, strict=True)) for layout in layouts
    )


def _row_bits(row: list[bool]) -> int:
    """A row of modules as an integer, the first module as the highest bit."""
    return int(bytes(row).translate(_BIT_CHARACTERS), 2)


def _penalty(rows: list[int], size: int) -> int:
    """What qrcode's ``util.lost_point`` gives for the symbol with these rows.

    Rule 1: each run of five or more modules of one colour in a row or column costs its
    length minus 2; rule 2: each 2x2 block of one colour 3; rule 3: each finder-like
    sequence 40; rule 4: every full 5 % away from half the modules dark 10.
    """
    texts = [format(row, f"0{size}b") for row in rows]
    lines = ",".join(texts + ["".join(column) for column in zip(*texts, strict=True)])
    runs = sum(len(run) - 2 for run in _RUNS.findall(lines))
    # Neither sequence overlaps itself, so counting without overlaps counts them all.
    finder_like = sum(lines.count(sequence) for sequence in _FINDER_LIKE)
    left_columns = (1 << (size - 1)) - 1  # bits p whose neighbour p + 1 is in the row too
    blocks = sum(
        (
            ~(upper ^ lower) & ~(upper ^ (upper >> 1)) & ~(lower ^ (lower >> 1)) & left_columns
        ).bit_count()
        for upper, lower in itertools.pairwise(rows)
    )
    dark = sum(row.bit_count() for row in rows)
    # The same float operations as qrcode, so that a border case rounds the same way.
    rating = int(abs(float(dark) / (size**2) * 100 - 50) / 5)
    return runs + 3 * blocks + 40 * finder_like + 10 * rating


# --- Keys ----------------------------------------------------------------------------------


class NoSigningKey(RuntimeError):
    """No usable private key: generate one with ``flask ehrenamt keys generate``."""


@dataclass(frozen=True)
class CardKey:
    """One key of the ring; ``private_key`` is ``None`` once it is retired."""

    kid: str
    public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey | None
    #: When it was generated; ``None`` for the key from the environment.
    created_at: datetime | None
    #: True for the key given by ``EHRENAMT_CARD_SIGNING_KEY``.
    from_environment: bool = False


@dataclass
class KeyRing:
    """The published public keys and which private key signs new cards."""

    keys: dict[str, CardKey] = field(default_factory=dict)
    active_kid: str | None = None

    def signing_key(self) -> CardKey:
        """The key that signs new cards; raises :class:`NoSigningKey`."""
        key = self.keys.get(self.active_kid or "")
        if key is None or key.private_key is None:
            raise NoSigningKey(
                f"no private key {self.active_kid}"
                if self.active_kid
                else "no card signing key: run `flask ehrenamt keys generate`"
            )
        return key

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """kid → public key, for :func:`verify_token`."""
        return {kid: key.public_key for kid, key in self.keys.items()}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as a JWK Set (RFC 7517) of OKP keys (RFC 8037)."""
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": kid,
                    "x": _b64url(_raw_public(key.public_key)),
                }
                for kid, key in sorted(self.keys.items())
            ]
        }


def keys_folder() -> Path:
    """The configured key folder; ``instance/card-keys`` unless set."""
    configured = current_app.config.get("CARD_KEYS_FOLDER")
    return Path(configured or Path(current_app.instance_path) / "card-keys")


def load_key_ring() -> KeyRing:
    """The key ring of the current app: the key folder plus the environment's key."""
    config = current_app.config
    return read_key_ring(
        keys_folder(), config.get("CARD_SIGNING_KEY"), config.get("CARD_SIGNING_KEY_ID")
    )


class Verifier(Protocol):
    """Checks an Ed25519 signature; raises ``InvalidSignature`` (as Ed25519PublicKey does)."""

    def verify(self, signature: bytes, data: bytes) -> None: ...


class SodiumVerifier:
    """An Ed25519 public key whose signatures libsodium (PyNaCl) checks.

    Checking a card's signature is most of a till's check; libsodium does it in about half
    the time of OpenSSL through ``cryptography`` (61 against 121 microseconds here), with
    the same answer for genuine signatures and a stricter one (small-order points) for
    forged ones. Keys are still read and written with ``cryptography``.
    """

    def __init__(self, key: Ed25519PublicKey) -> None:
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._key = nacl.signing.VerifyKey(raw)

    def verify(self, signature: bytes, data: bytes) -> None:
        try:
            self._key.verify(data, signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            raise InvalidSignature from None


class PublishedKeys:
    """The public keys of the key ring, kept in memory by each process for verification.

    A check must not read the key folder from disk each time (a till checks many cards a
    second). The keys are read again after ``CARD_KEYS_CACHE_SECONDS``, and at once when a
    card names a key that is not in memory but whose file is now in the key folder (a key
    generated since, on any machine). Forged codes naming random keys cost one ``stat``.
    """

    def __init__(self, folder: Path, load: Callable[[], dict[str, Verifier]], ttl: float):
        self._folder = folder
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._keys: dict[str, Verifier] = {}
        self._loaded_at = -math.inf

    def keys(self) -> dict[str, Verifier]:
        """The keys, read again once they are older than the TTL."""
        if time_module.monotonic() - self._loaded_at >= self._ttl:
            self._reload(lambda: time_module.monotonic() - self._loaded_at >= self._ttl)
        return self._keys

    def key(self, kid: str) -> Verifier | None:
        """The key ``kid``, reading the folder again if its file appeared since."""
        keys = self.keys()
        if kid not in keys and (self._folder / f"{kid}.pub").is_file():
            self._reload(lambda: kid not in self._keys)
        return self._keys.get(kid)

    def _reload(self, still_needed: Callable[[], bool]) -> None:
        with self._lock:  # one thread reads the folder; the others use its result
            if still_needed():
                self._keys = self._load()
                self._loaded_at = time_module.monotonic()


def published_keys() -> PublishedKeys:
    """The current app's in-memory copy of the public keys (one per app and process)."""

    def make(app: Any) -> PublishedKeys:
        def load() -> dict[str, Verifier]:
            with app.app_context():
                keys = load_key_ring().public_keys()
            return {kid: SodiumVerifier(key) for kid, key in keys.items()}

        return PublishedKeys(keys_folder(), load, float(app.config["CARD_KEYS_CACHE_SECONDS"]))

    return per_app("ehrenamt.published_keys", make)


def verify_with_published_keys(token: bytes, now: datetime | None = None) -> VerifiedCard:
    """:func:`verify_token` against this service's published keys (kept in memory)."""
    cache = published_keys()
    try:
        return verify_token(token, cache.keys(), now)
    except UnknownKey as unknown:
        if cache.key(unknown.kid) is None:
            raise
        return verify_token(token, cache.keys(), now)


def read_key_ring(
    folder: Path, environment_pem: str | None = None, active_kid: str | None = None
) -> KeyRing:
    """Read the keys in ``folder`` and the private key given as PEM text.

    The active key is ``active_kid`` if given, else the environment's key, else the newest
    key with a private part. A file that cannot be read is logged and left out, so one
    broken file does not stop verification with the others.
    """
    ring = KeyRing()
    for path in sorted(folder.glob("*.pub")) if folder.is_dir() else []:
        try:
            key = _read_key_files(path)
        except (ValueError, TypeError, OSError, UnsupportedAlgorithm) as error:
            log.error("card key %s unreadable, left out: %s", path.name, error)
            continue
        ring.keys[key.kid] = key
    environment_kid = None
    if environment_pem:
        private = _load_environment_key(environment_pem)
        environment_kid = key_id(private.public_key())
        ring.keys[environment_kid] = CardKey(
            environment_kid, private.public_key(), private, None, from_environment=True
        )
    if active_kid:
        ring.active_kid = active_kid.strip().lower()
    elif environment_kid:
        ring.active_kid = environment_kid
    else:
        signing = [k for k in ring.keys.values() if k.private_key and k.created_at]
        if signing:
            ring.active_kid = max(signing, key=lambda k: (k.created_at, k.kid)).kid
    return ring


def _load_environment_key(pem: str) -> Ed25519PrivateKey:
    """The private key given by ``EHRENAMT_CARD_SIGNING_KEY``; a clear error if it is not one."""
    try:
        private = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"EHRENAMT_CARD_SIGNING_KEY is not a PEM private key: {error}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("EHRENAMT_CARD_SIGNING_KEY is not an Ed25519 private key")
    return private


def _read_key_files(public_path: Path) -> CardKey:
    text = public_path.read_bytes()
    public = serialization.load_pem_public_key(text)
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    kid = key_id(public)
    if public_path.stem != kid:
        raise ValueError(f"file name does not match its key id {kid}")
    private: Ed25519PrivateKey | None = None
    private_path = public_path.with_suffix(".key")
    if private_path.exists():
        loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey) or key_id(loaded.public_key()) != kid:
            raise ValueError(f"{private_path.name} does not belong to {public_path.name}")
        private = loaded
    return CardKey(kid, public, private, _created_at(text, public_path))


def _created_at(pem: bytes, path: Path) -> datetime:
    """The ``Created:`` line before the PEM block (RFC 7468 explanatory text), which
    survives copying; the file's time for keys placed there by hand."""
    for line in pem.decode("ascii", "replace").splitlines():
        if line.startswith("Created: "):
            created = datetime.fromisoformat(line.removeprefix("Created: ").strip())
            return created if created.tzinfo else created.replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def generate_key(folder: Path) -> CardKey:
    """A new key pair written to ``folder`` (created 0700); it becomes the newest key."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    created_at = datetime.now(UTC)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: never overwrite a key; 0600 from the first byte, not chmod-ed afterwards.
    descriptor = os.open(folder / f"{kid}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_pem)
    _write_public(folder, private.public_key(), created_at)
    return CardKey(kid, private.public_key(), private, created_at)


def _write_public(folder: Path, public: Ed25519PublicKey, created_at: datetime | None) -> None:
    kid = key_id(public)
    header = "Ehrenamtskarte card signing key (public part)\n"
    if created_at is not None:
        header += f"Created: {created_at.isoformat()}\n"
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (folder / f"{kid}.pub").write_bytes(header.encode() + pem)


def retire_key(folder: Path, ring: KeyRing, kid: str) -> None:
    """Stop signing with ``kid``: delete its private part, keep the public key published.

    The environment's key cannot be deleted from here: its public part is saved in
    ``folder`` so it stays published when the variable is removed.
    """
    key = ring.keys.get(kid)
    if key is None:
        raise KeyError(kid)
    if key.from_environment:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_public(folder, key.public_key, datetime.now(UTC))
        return
    (folder / f"{kid}.key").unlink(missing_ok=True)


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
