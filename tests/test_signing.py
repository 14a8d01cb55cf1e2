"""The card's signed QR payload (COSE_Sign1 + CWT, Ed25519), its keys and their publication."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
import qrcode
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask

from ehrenamt import ROOT, create_app
from ehrenamt.cardformat import keys as cardformat_keys
from ehrenamt.cardformat import qr as cardformat_qr
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.cardformat.card_numbers import new_card_number
from ehrenamt.cardformat.token import (
    BadSignature,
    CardClaims,
    Expired,
    InvalidToken,
    MalformedToken,
    UnknownKey,
    verify_token,
)
from ehrenamt.cards import keys as cards_keys
from ehrenamt.cards.production import card_url
from ehrenamt.models import CardType
from tests.harness import wait_until
from tests.vectors.make_card_vectors import (
    VECTORS_FILE,
    build_vectors,
    claims_from_json,
    render,
    vector_key,
)

VECTORS: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
ERRORS: dict[str, type[InvalidToken]] = {
    "BadSignature": BadSignature,
    "MalformedToken": MalformedToken,
    "UnknownKey": UnknownKey,
    "Expired": Expired,
}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
#: As long as an office slug can be (the column holds 60 characters).
LONGEST_SLUG = "landkreis-mecklenburgische-seenplatte-und-vorpommern-greifsw"
#: 40 characters, three of them taking two bytes in UTF-8.
LONG_NAME = "Maximiliane-Charlotte Müller-Lüdenscheid"
#: A realistic production address (44 characters).
LONG_BASE_URL = "https://ehrenamtskarte.landkreis-beispiel.de"


def make_claims(**changes: Any) -> CardClaims:
    """Claims of a standard card; ``changes`` override single fields."""
    values: dict[str, Any] = {
        "card_number": new_card_number(),
        "name": "Erika Mustermann",
        "card_type": CardType.STANDARD,
        "valid_until": date(2029, 2, 28),
        "office": "dessau-rosslau",
        "issued_at": datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    }
    values.update(changes)
    return CardClaims(**values)


def keys_of(*private_keys: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    """kid → public key, as a verifier holds them."""
    return {cardformat_token.key_id(k.public_key()): k.public_key() for k in private_keys}


def keys_from_jwks(document: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """What an offline verifier does with the published JSON, using nothing of ours."""
    result = {}
    for jwk in document["keys"]:
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        result[jwk["kid"]] = Ed25519PublicKey.from_public_bytes(raw)
    return result


def resign(cose: bytes, key: Ed25519PrivateKey, change_payload: Any) -> bytes:
    """``cose`` with its decoded payload changed by ``change_payload`` and signed again:
    a genuine signature over content our format does not allow."""
    protected, _, payload, _ = cbor2.loads(cose).value
    claims = dict(cbor2.loads(payload))
    change_payload(claims)
    new_payload = cbor2.dumps(claims)
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", new_payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [protected, {}, new_payload, signature]))


# --- Test vectors ----------------------------------------------------------------------------


def test_vectors_file_matches_the_code() -> None:
    """The committed vectors are exactly what the code produces: the format has not drifted."""
    assert VECTORS_FILE.read_text(encoding="utf-8") == render(build_vectors())


def test_vector_keys_are_marked_and_derived_from_their_seed() -> None:
    """The committed test keys say they are for tests only and follow from their label."""
    for label, entry in VECTORS["keys"].items():
        assert "TEST KEY" in entry["seed_label"] and "NOT FOR PRODUCTION" in entry["seed_label"]
        private = serialization.load_pem_private_key(entry["private_pem"].encode(), None)
        assert isinstance(private, Ed25519PrivateKey)
        assert private.private_bytes_raw() == vector_key(label).private_bytes_raw()
        assert cardformat_token.key_id(private.public_key()) == entry["kid"]


@pytest.mark.parametrize("library", ["cryptography", "libsodium"])
@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_vectors_verify(vector: dict[str, Any], library: str) -> None:
    """Each valid vector signs to its bytes, encodes to its URL and verifies with the
    published keys alone."""
    claims = claims_from_json(vector["claims"])
    cose = bytes.fromhex(vector["cose_hex"])
    assert cardformat_token.sign_card(claims, vector_key("A")) == cose
    assert cardformat_token.encode_token(cose) == vector["token"]
    assert vector["url"] == f"https://ehrenamtskarte.example.org/karte#{vector['token']}"
    assert cardformat_token.parse_card_url(vector["url"]) == cose
    card = verify_token(
        cose,
        as_verifiers(keys_from_jwks(VECTORS["published_keys"]), library),
        datetime.fromisoformat(vector["verify_at"]),
    )
    assert card.claims == claims
    assert card.kid == vector["expected"]["kid"]


@pytest.mark.parametrize("library", ["cryptography", "libsodium"])
@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_vectors_fail_with_their_error(vector: dict[str, Any], library: str) -> None:
    """Each invalid vector fails with exactly the error it names."""
    cose = cardformat_token.parse_card_url(vector["url"])
    assert cose.hex() == vector["cose_hex"]
    with pytest.raises(ERRORS[vector["expected"]["result"]]):
        verify_token(
            cose,
            as_verifiers(keys_from_jwks(VECTORS["published_keys"]), library),
            datetime.fromisoformat(vector["verify_at"]),
        )


def test_documentation_shows_the_current_vector() -> None:
    """docs/card-format.md quotes the standard vector as the code makes it."""
    document = (ROOT / "docs" / "card-format.md").read_text(encoding="utf-8")
    standard = VECTORS["valid"][0]
    assert standard["url"] in document
    hex_in_document = "".join(
        line.strip().replace(" ", "")
        for line in document.split("```hex\n", 1)[1].split("```", 1)[0].splitlines()
    )
    assert hex_in_document == standard["cose_hex"]
    assert VECTORS["keys"]["A"]["kid"] in document


# --- Round trips and failures -------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"card_type": CardType.LONG_SERVICE, "valid_until": None},
        {"name": LONG_NAME, "office": LONGEST_SLUG},
        {"name": "Zoë O’Brien-Ğüneş 李小龍"},
        {"valid_until": date(2026, 12, 31)},
    ],
    ids=["standard", "long-service", "longest", "non-latin", "end-of-year"],
)
def test_round_trip(changes: dict[str, Any]) -> None:
    """A signed card verifies to exactly the claims it was signed with."""
    key = Ed25519PrivateKey.generate()
    claims = make_claims(**changes)
    card = verify_token(cardformat_token.sign_card(claims, key), keys_of(key), NOW)
    assert card.claims == claims
    assert card.kid == cardformat_token.key_id(key.public_key())


def test_payload_holds_only_the_documented_claims() -> None:
    """The payload carries iss, iat, exp and the card claim, and nothing else."""
    claims = make_claims()
    _, _, payload, _ = cbor2.loads(
        cardformat_token.sign_card(claims, Ed25519PrivateKey.generate())
    ).value
    decoded = cbor2.loads(payload)
    assert decoded == {
        1: "dessau-rosslau",
        6: int(claims.issued_at.timestamp()),
        4: int(datetime(2029, 2, 28, 23, 0, tzinfo=UTC).timestamp()),
        -1: [1, claims.card_number, "Erika Mustermann", 1, date(2029, 2, 28)],
    }


def test_long_service_card_has_no_exp_and_never_expires() -> None:
    """A card without end carries no exp and verifies at any time."""
    key = Ed25519PrivateKey.generate()
    token = cardformat_token.sign_card(
        make_claims(card_type=CardType.LONG_SERVICE, valid_until=None), key
    )
    assert 4 not in cbor2.loads(cbor2.loads(token).value[2])
    far_future = datetime(9999, 12, 31, tzinfo=UTC)
    assert verify_token(token, keys_of(key), far_future).expires_at is None


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        (datetime(2029, 2, 28, 23, 59, 59, tzinfo=cardformat_token.CARD_TIME_ZONE), False),
        (datetime(2029, 3, 1, 0, 0, 0, tzinfo=cardformat_token.CARD_TIME_ZONE), True),
        (datetime(2031, 1, 1, tzinfo=UTC), True),
    ],
    ids=["last-second", "midnight-after", "years-later"],
)
def test_expiry_at_midnight_after_valid_until(now: datetime, expired: bool) -> None:
    """A card is valid through its last day (German time) and expired from midnight."""
    key = Ed25519PrivateKey.generate()
    token = cardformat_token.sign_card(make_claims(), key)
    if expired:
        with pytest.raises(Expired) as error:
            verify_token(token, keys_of(key), now)
        assert error.value.card.claims.valid_until == date(2029, 2, 28)
    else:
        assert verify_token(token, keys_of(key), now).claims.valid_until == date(2029, 2, 28)


def _region(offset: int, token: bytes) -> type[InvalidToken]:
    """The error a changed byte at ``offset`` of a standard token must cause."""
    payload_end = len(token) - 2 - 64
    if 8 <= offset < 16:  # the key id inside the protected header
        return UnknownKey
    if 19 <= offset < payload_end or offset >= payload_end + 2:  # payload or signature
        return BadSignature
    return MalformedToken  # envelope, header labels, algorithm, length bytes


def as_verifiers(keys: dict[str, Ed25519PublicKey], library: str) -> dict[str, Any]:
    """The keys as ``cryptography`` holds them, or as the service checks cards (libsodium)."""
    if library == "cryptography":
        return dict(keys)
    return {kid: cardformat_keys.SodiumVerifier(key) for kid, key in keys.items()}


@pytest.mark.parametrize("library", ["cryptography", "libsodium"])
@pytest.mark.parametrize("flip", [0x01, 0x80, 0xFF], ids=["low-bit", "high-bit", "all-bits"])
def test_any_changed_byte_fails(flip: int, library: str) -> None:
    """Changing any single byte of a token anywhere makes verification fail, with the
    error that fits where the byte is, whichever library checks the signature."""
    key = Ed25519PrivateKey.generate()
    token = cardformat_token.sign_card(make_claims(), key)
    assert token[:3] == bytes.fromhex("d2844d") and token[-66:-64] == bytes.fromhex("5840")
    keys = as_verifiers(keys_of(key), library)
    assert verify_token(token, keys, NOW).kid == cardformat_token.key_id(key.public_key())
    for offset in range(len(token)):
        changed = token[:offset] + bytes([token[offset] ^ flip]) + token[offset + 1 :]
        with pytest.raises(InvalidToken) as error:
            verify_token(changed, keys, NOW)
        assert type(error.value) is _region(offset, token), offset


def test_any_changed_digit_fails() -> None:
    """Changing any single digit of the text in the QR code makes it fail."""
    key = Ed25519PrivateKey.generate()
    text = cardformat_token.encode_token(cardformat_token.sign_card(make_claims(), key))
    for position, digit in enumerate(text):
        changed = text[:position] + str((int(digit) + 5) % 10) + text[position + 1 :]
        with pytest.raises(InvalidToken):
            verify_token(cardformat_token.parse_card_url(changed), keys_of(key), NOW)


@pytest.mark.parametrize("cut", [1, 10, 66, 100])
def test_truncated_or_extended_tokens_fail(cut: int) -> None:
    """A token with bytes missing or appended is malformed."""
    key = Ed25519PrivateKey.generate()
    token = cardformat_token.sign_card(make_claims(), key)
    for changed in (token[:-cut], token + bytes(cut)):
        with pytest.raises(MalformedToken):
            verify_token(changed, keys_of(key), NOW)


def _unknown_version(claims: dict[int, Any]) -> None:
    claims[-1] = [2, *claims[-1][1:]]


def _unknown_card_type(claims: dict[int, Any]) -> None:
    claims[-1] = [*claims[-1][:3], 9, claims[-1][4]]


def _exp_not_matching(claims: dict[int, Any]) -> None:
    claims[4] += 86400


def _no_card_claim(claims: dict[int, Any]) -> None:
    del claims[-1]


def _card_number_not_text(claims: dict[int, Any]) -> None:
    claims[-1] = [1, 12345, *claims[-1][2:]]


@pytest.mark.parametrize(
    "change",
    [
        _unknown_version,
        _unknown_card_type,
        _exp_not_matching,
        _no_card_claim,
        _card_number_not_text,
    ],
)
def test_genuinely_signed_but_foreign_content_is_malformed(change: Any) -> None:
    """A correct signature over content of another version or layout is malformed."""
    key = Ed25519PrivateKey.generate()
    token = resign(cardformat_token.sign_card(make_claims(), key), key, change)
    with pytest.raises(MalformedToken):
        verify_token(token, keys_of(key), NOW)


@pytest.mark.parametrize(
    "token",
    [
        b"",
        b"garbage",
        bytes(200),
        cbor2.dumps([b"", {}, b"", b""]),
        cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])),
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""])),
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""])),
        cbor2.dumps(cbor2.CBORTag(18, ["a", {}, b"", b""])),
        cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -8, 4: b"12345678"}), {4: b""}, b"", b""])),
        cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -8, 4: b"1234"}), {}, b"", b""])),
        cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -8}), {}, b"", b""])),
        bytes(2000),
    ],
    ids=[
        "empty",
        "not-cbor",
        "zeros",
        "untagged",
        "other-tag",
        "three-parts",
        "empty-header",
        "header-not-bytes",
        "unprotected-header-used",
        "short-kid",
        "no-kid",
        "too-long",
    ],
)
def test_malformed_tokens(token: bytes) -> None:
    """Garbage and wrong structures are malformed, never another error."""
    with pytest.raises(MalformedToken):
        verify_token(token, keys_of(Ed25519PrivateKey.generate()), NOW)


def test_unknown_key_names_the_key_id() -> None:
    """A token signed by a key that is not published reports which key it names."""
    signer, published = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with pytest.raises(UnknownKey) as error:
        verify_token(cardformat_token.sign_card(make_claims(), signer), keys_of(published), NOW)
    assert error.value.kid == cardformat_token.key_id(signer.public_key())


def test_signature_of_another_key_under_a_published_kid_fails() -> None:
    """A kid that is published does not help a signature made with another key."""
    real, forger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    token = cardformat_token.sign_card(make_claims(), forger)
    forged_keys = {cardformat_token.key_id(forger.public_key()): real.public_key()}
    with pytest.raises(BadSignature):
        verify_token(token, forged_keys, NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"card_number": "K7QM-3RXA-9TWP"},
        {"card_number": "k7qm3rxa9twp"},
        {"card_number": "K7QM3RXA9TWQ"},
        {"name": ""},
        {"office": ""},
        {"issued_at": datetime(2026, 3, 1, 9, 30)},
    ],
    ids=["dashes", "lower-case", "bad-check", "no-name", "no-office", "naive-time"],
)
def test_claims_refuse_bad_values(changes: dict[str, Any]) -> None:
    """Claims take only canonical card numbers, a name, an office and an aware time."""
    with pytest.raises(ValueError):
        make_claims(**changes)


# --- URL and QR code ------------------------------------------------------------------------


def test_url_carries_the_token_in_the_fragment() -> None:
    """The URL is BASE_URL/karte#digits: the token never reaches a server log."""
    token = cardformat_token.sign_card(make_claims(), Ed25519PrivateKey.generate())
    url = cardformat_token.card_url(token, "https://karte.example.org/")
    path, fragment = url.split("#")
    assert path == "https://karte.example.org/karte"
    assert fragment.isdigit()
    assert cardformat_token.decode_token(fragment) == token


def test_card_url_uses_the_configured_base_url(app: Flask, ctx: None) -> None:
    """Without an explicit base, the app's BASE_URL is used."""
    token = cardformat_token.sign_card(make_claims(), Ed25519PrivateKey.generate())
    assert card_url(token).startswith(f"{app.config['BASE_URL']}/karte#")


@pytest.mark.parametrize(
    "wrap",
    [
        lambda url, digits: url,
        lambda url, digits: digits,
        lambda url, digits: f"  {url}\n",
        lambda url, digits: f"#{digits}",
        lambda url, digits: f"https://other.example/karte#{digits}",
    ],
    ids=["url", "digits", "whitespace", "bare-fragment", "other-host"],
)
def test_parse_card_url_accepts_url_or_token(wrap: Any) -> None:
    """A scanned URL, the bare digits or a copied fragment all give the token."""
    token = cardformat_token.sign_card(make_claims(), Ed25519PrivateKey.generate())
    url = cardformat_token.card_url(token, "https://karte.example.org")
    assert cardformat_token.parse_card_url(wrap(url, cardformat_token.encode_token(token))) == token


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://karte.example.org/karte",
        "https://karte.example.org/karte#",
        "https://karte.example.org/karte#12ab",
        "１２３",  # full-width digits, which int() would read
        "-123",
        "1" * 18,  # a 17-digit group and a 1-digit rest
        "999",  # 999 does not fit one byte
        "9" * 17,  # nor 10**17 - 1 seven bytes
        "1" * 5000,
    ],
)
def test_parse_card_url_rejects_garbage(text: str) -> None:
    """Text that is not a token's digits is malformed."""
    with pytest.raises(MalformedToken):
        cardformat_token.parse_card_url(text)


def test_decimal_encoding_round_trips_every_length() -> None:
    """Every token length, including leading zero bytes, encodes and decodes exactly."""
    for length in range(1, 40):
        for data in (bytes(length), b"\xff" * length, bytes(range(length))):
            text = cardformat_token.encode_token(data)
            assert text.isdigit()
            assert cardformat_token.decode_token(text) == data


def test_longest_card_fits_qr_version_12_at_level_m() -> None:
    """A 40-character name and the longest office slug fit QR version 12 at level M."""
    token = cardformat_token.sign_card(
        make_claims(name=LONG_NAME, office=LONGEST_SLUG), Ed25519PrivateKey.generate()
    )
    url = cardformat_token.card_url(token, LONG_BASE_URL)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(url)
    qr.make(fit=True)
    assert qr.version <= 12
    assert cardformat_qr.make_qr_code(url).version <= 12
    assert cardformat_qr.make_qr_code(url).error_correction == qrcode.constants.ERROR_CORRECT_M


BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def base45(data: bytes) -> str:
    """RFC 9285 base45, for comparing QR sizes (the format does not use it)."""
    out = []
    for i in range(0, len(data), 2):
        if i + 1 < len(data):
            n = data[i] * 256 + data[i + 1]
            out += [BASE45[n % 45], BASE45[n // 45 % 45], BASE45[n // 2025]]
        else:
            out += [BASE45[data[i] % 45], BASE45[data[i] // 45]]
    return "".join(out)


@pytest.mark.parametrize(
    ("data", "encoded"), [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581")]
)
def test_base45_matches_rfc_9285(data: bytes, encoded: str) -> None:
    """The comparison's base45 is the RFC's (its examples)."""
    assert base45(data) == encoded


def _qr_version(url: str) -> int:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(url)
    qr.make(fit=True)
    return int(qr.version)


def test_decimal_token_gives_the_smallest_qr_code() -> None:
    """Digits (numeric mode) beat base45 in a URL (space and % escaped) and base64url."""
    token = cardformat_token.sign_card(
        make_claims(name=LONG_NAME, office=LONGEST_SLUG), Ed25519PrivateKey.generate()
    )
    prefix = f"{LONG_BASE_URL}/karte#"
    escaped_base45 = base45(token).replace("%", "%25").replace(" ", "%20")
    base64url = base64.urlsafe_b64encode(token).rstrip(b"=").decode()
    decimal = _qr_version(prefix + cardformat_token.encode_token(token))
    assert decimal <= _qr_version(prefix + escaped_base45)
    assert decimal < _qr_version(prefix + base64url)
    assert len(prefix + cardformat_token.encode_token(token)) > len(
        prefix + base64url
    )  # yet smaller QR


# --- Keys -----------------------------------------------------------------------------------


def settings_for(app: Flask, **overrides: object) -> dict[str, object]:
    """The test app's settings with some changed (same database), for an app of our own."""
    keys = ("SECRET_KEY", "DATABASE_URL", "BROKER_URL", "BASE_URL", "SESSION_COOKIE_SECURE")
    settings: dict[str, object] = {key: app.config[key] for key in keys}
    settings["TESTING"] = True
    settings.update(overrides)
    return settings


def private_of(ring: cardformat_keys.KeyRing) -> Ed25519PrivateKey:
    """The private key that signs new cards in ``ring``."""
    private = ring.signing_key().private_key
    assert private is not None
    return private


@pytest.fixture
def key_folder(tmp_path: Path) -> Path:
    """Where the keys of this test live (not created yet: generating creates it)."""
    return tmp_path / "card-keys"


@pytest.fixture
def keys_app(app: Flask, key_folder: Path) -> Iterator[Flask]:
    """An app whose key folder is this test's."""
    yield create_app(settings_for(app, CARD_KEYS_FOLDER=str(key_folder)))
    app.extensions["celery"].set_current()  # create_app made its own the current one


def test_generated_key_files_are_private(key_folder: Path) -> None:
    """The folder is 0700, the private key 0600 PKCS#8 PEM, the public key PEM."""
    key = cardformat_keys.generate_key(key_folder)
    assert stat.S_IMODE(key_folder.stat().st_mode) == 0o700
    private_file, public_file = key_folder / f"{key.kid}.key", key_folder / f"{key.kid}.pub"
    assert stat.S_IMODE(private_file.stat().st_mode) == 0o600
    assert private_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert "-----BEGIN PUBLIC KEY-----" in public_file.read_text()
    assert len(key.kid) == 16 and int(key.kid, 16) >= 0


def test_newest_key_with_private_part_signs(key_folder: Path) -> None:
    """Without configuration the newest key signs; a configured kid overrides it."""
    first = cardformat_keys.generate_key(key_folder)
    second = cardformat_keys.generate_key(key_folder)
    assert cardformat_keys.read_key_ring(key_folder).signing_key().kid == second.kid
    assert (
        cardformat_keys.read_key_ring(key_folder, active_kid=first.kid).signing_key().kid
        == first.kid
    )
    cardformat_keys.retire_key(key_folder, cardformat_keys.read_key_ring(key_folder), second.kid)
    assert cardformat_keys.read_key_ring(key_folder).signing_key().kid == first.kid


def test_no_key_is_a_clear_error(key_folder: Path) -> None:
    """With no key (or only retired ones) signing says how to get one."""
    with pytest.raises(cardformat_keys.NoSigningKey, match="keys generate"):
        cardformat_keys.read_key_ring(key_folder).signing_key()
    key = cardformat_keys.generate_key(key_folder)
    cardformat_keys.retire_key(key_folder, cardformat_keys.read_key_ring(key_folder), key.kid)
    with pytest.raises(cardformat_keys.NoSigningKey):
        cardformat_keys.read_key_ring(key_folder).signing_key()
    with pytest.raises(cardformat_keys.NoSigningKey):
        cardformat_keys.read_key_ring(key_folder, active_kid=key.kid).signing_key()


def test_rotation_keeps_old_cards_valid(keys_app: Flask, key_folder: Path) -> None:
    """Sign with A, generate B, retire A: A's card still verifies with the published keys
    and new cards are signed by B."""
    with keys_app.app_context():
        key_a = cardformat_keys.generate_key(key_folder)
        old_card = cardformat_token.sign_card(make_claims(), private_of(cards_keys.load_key_ring()))
        key_b = cardformat_keys.generate_key(key_folder)
        cardformat_keys.retire_key(key_folder, cards_keys.load_key_ring(), key_a.kid)
        ring = cards_keys.load_key_ring()
        assert not (key_folder / f"{key_a.kid}.key").exists()
        assert ring.keys[key_a.kid].private_key is None
        assert ring.signing_key().kid == key_b.kid
        new_card = cardformat_token.sign_card(make_claims(), private_of(ring))
    response = keys_app.test_client().get("/.well-known/ehrenamtskarte-keys.json")
    published = keys_from_jwks(response.get_json())
    assert set(published) == {key_a.kid, key_b.kid}
    assert verify_token(old_card, published, NOW).kid == key_a.kid
    assert verify_token(new_card, published, NOW).kid == key_b.kid


def test_checks_keep_the_published_keys_in_memory(
    keys_app: Flask, key_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check does not read the key folder each time; a key new in the folder is used at
    once; a key removed from it stops verifying after CARD_KEYS_CACHE_SECONDS."""
    keys_app.config["CARD_KEYS_CACHE_SECONDS"] = 0.3
    read = cards_keys.load_key_ring
    reads: list[None] = []

    def counted() -> cardformat_keys.KeyRing:
        reads.append(None)
        return read()

    monkeypatch.setattr(cards_keys, "load_key_ring", counted)
    with keys_app.app_context():
        first = cardformat_keys.generate_key(key_folder)
        card_a = cardformat_token.sign_card(make_claims(), private_of(read()))
        for _ in range(5):
            assert cards_keys.verify_with_published_keys(card_a, NOW).kid == first.kid
        assert len(reads) == 1
        forged = cardformat_token.sign_card(make_claims(), Ed25519PrivateKey.generate())
        for _ in range(3):
            with pytest.raises(UnknownKey):
                cards_keys.verify_with_published_keys(forged, NOW)
        assert len(reads) == 1  # a key that is not in the folder costs no reading

        second = cardformat_keys.generate_key(key_folder)  # e.g. on another machine
        card_b = cardformat_token.sign_card(make_claims(), private_of(read()))
        assert cards_keys.verify_with_published_keys(card_b, NOW).kid == second.kid
        assert len(reads) == 2

        # Removed outright (not retired, which keeps the public key published).
        (key_folder / f"{first.kid}.pub").unlink()
        (key_folder / f"{first.kid}.key").unlink()

        def refused() -> bool:
            try:
                cards_keys.verify_with_published_keys(card_a, NOW)
            except UnknownKey:
                return True
            return False

        wait_until(refused, timeout=5, message="a removed key still verifies")


def test_environment_key_signs_and_is_published(
    app: Flask, key_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EHRENAMT_CARD_SIGNING_KEY (PEM) signs new cards, its key id derived from it, and
    its public key is published beside the folder's."""
    folder_key = cardformat_keys.generate_key(key_folder)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    monkeypatch.setenv("EHRENAMT_CARD_SIGNING_KEY", pem)
    env_app = create_app(settings_for(app, CARD_KEYS_FOLDER=str(key_folder)))
    with env_app.app_context():
        signer = cards_keys.load_key_ring().signing_key()
    assert signer.kid == cardformat_token.key_id(private.public_key())
    assert signer.from_environment
    response = env_app.test_client().get("/.well-known/ehrenamtskarte-keys.json")
    assert set(keys_from_jwks(response.get_json())) == {folder_key.kid, signer.kid}


def test_bad_environment_key_is_a_clear_error(key_folder: Path) -> None:
    """A value that is not an Ed25519 PEM key says so."""
    with pytest.raises(ValueError, match="EHRENAMT_CARD_SIGNING_KEY"):
        cardformat_keys.read_key_ring(key_folder, environment_pem="not a key")


def test_unreadable_key_file_is_left_out(
    key_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken or misnamed file does not stop the other keys from verifying."""
    good = cardformat_keys.generate_key(key_folder)
    (key_folder / "0123456789abcdef.pub").write_text("not a key")
    other = cardformat_keys.generate_key(key_folder)
    (key_folder / f"{other.kid}.pub").rename(key_folder / "fedcba9876543210.pub")
    ring = cardformat_keys.read_key_ring(key_folder)
    assert set(ring.keys) == {good.kid}
    assert "0123456789abcdef.pub" in caplog.text and "fedcba9876543210.pub" in caplog.text


# --- /.well-known ---------------------------------------------------------------------------


def test_well_known_keys_verify_a_card_offline(keys_app: Flask, key_folder: Path) -> None:
    """The published JSON alone (as a till downloads it) verifies a card."""
    with keys_app.app_context():
        key = cardformat_keys.generate_key(key_folder)
    assert key.private_key is not None
    token = cardformat_token.sign_card(make_claims(), key.private_key)
    response = keys_app.test_client().get("/.well-known/ehrenamtskarte-keys.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = json.loads(response.get_data(as_text=True))
    assert document == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": key.kid,
                "x": base64.urlsafe_b64encode(
                    key.public_key.public_bytes(
                        serialization.Encoding.Raw, serialization.PublicFormat.Raw
                    )
                )
                .rstrip(b"=")
                .decode(),
            }
        ]
    }
    assert "PRIVATE" not in response.get_data(as_text=True)
    assert verify_token(token, keys_from_jwks(document), NOW).kid == key.kid


def test_well_known_keys_without_keys_is_an_empty_set(keys_app: Flask) -> None:
    """A fresh installation publishes an empty key set, not an error."""
    response = keys_app.test_client().get("/.well-known/ehrenamtskarte-keys.json")
    assert response.status_code == 200
    assert response.json == {"keys": []}


# --- CLI ------------------------------------------------------------------------------------


def test_cli_generate_list_retire(keys_app: Flask, key_folder: Path) -> None:
    """`keys generate` prints the new kid, `list` shows which signs, `retire` drops the
    private part and the next key signs."""
    runner = keys_app.test_cli_runner()
    first = runner.invoke(args=["ehrenamt", "keys", "generate"])
    assert first.exit_code == 0, first.output
    kid_a = first.output.strip()
    kid_b = runner.invoke(args=["ehrenamt", "keys", "generate"]).output.strip()
    assert {p.name for p in key_folder.iterdir()} == {
        f"{kid_a}.key",
        f"{kid_a}.pub",
        f"{kid_b}.key",
        f"{kid_b}.pub",
    }

    listing = runner.invoke(args=["ehrenamt", "keys", "list"])
    assert listing.exit_code == 0
    line_a, line_b = listing.output.splitlines()
    assert line_a.startswith(kid_a) and "private key: yes" in line_a and "active" not in line_a
    assert line_b.startswith(kid_b) and line_b.rstrip().endswith("active")

    retired = runner.invoke(args=["ehrenamt", "keys", "retire", kid_b])
    assert retired.exit_code == 0
    assert f"new cards are signed by {kid_a}" in retired.output
    assert not (key_folder / f"{kid_b}.key").exists() and (key_folder / f"{kid_b}.pub").exists()
    line_a, line_b = runner.invoke(args=["ehrenamt", "keys", "list"]).output.splitlines()
    assert line_a.rstrip().endswith("active")
    assert "private key: no" in line_b and "active" not in line_b


def test_cli_list_without_keys(keys_app: Flask) -> None:
    """`keys list` on a fresh installation says how to start."""
    result = keys_app.test_cli_runner().invoke(args=["ehrenamt", "keys", "list"])
    assert result.exit_code == 0
    assert "keys generate" in result.output


def test_cli_retire_unknown_key_fails(keys_app: Flask) -> None:
    """Retiring a key id that does not exist is an error, not silence."""
    result = keys_app.test_cli_runner().invoke(
        args=["ehrenamt", "keys", "retire", "00ff00ff00ff00ff"]
    )
    assert result.exit_code != 0
    assert "no key 00ff00ff00ff00ff" in result.output


def test_cli_refuses_to_retire_the_configured_key(app: Flask, key_folder: Path) -> None:
    """The key named by CARD_SIGNING_KEY_ID is not retired behind the configuration's back."""
    key = cardformat_keys.generate_key(key_folder)
    configured = create_app(
        settings_for(app, CARD_KEYS_FOLDER=str(key_folder), CARD_SIGNING_KEY_ID=key.kid)
    )
    result = configured.test_cli_runner().invoke(args=["ehrenamt", "keys", "retire", key.kid])
    assert result.exit_code != 0
    assert "CARD_SIGNING_KEY_ID" in result.output
    assert (key_folder / f"{key.kid}.key").exists()


def test_cli_retire_environment_key_keeps_it_published(
    app: Flask, key_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retiring the environment's key saves its public key, so it outlives the variable."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    kid = cardformat_token.key_id(private.public_key())
    monkeypatch.setenv("EHRENAMT_CARD_SIGNING_KEY", pem)
    env_app = create_app(settings_for(app, CARD_KEYS_FOLDER=str(key_folder)))
    result = env_app.test_cli_runner().invoke(args=["ehrenamt", "keys", "retire", kid])
    assert result.exit_code == 0
    assert "remove EHRENAMT_CARD_SIGNING_KEY" in result.output
    monkeypatch.delenv("EHRENAMT_CARD_SIGNING_KEY")
    ring = cardformat_keys.read_key_ring(key_folder)
    assert ring.keys[kid].private_key is None
    token = cardformat_token.sign_card(make_claims(), private)
    assert verify_token(token, ring.public_keys(), NOW).kid == kid


def test_expiry_boundary_is_german_midnight() -> None:
    """exp is midnight after the last day in Europe/Berlin, in winter and in summer time."""
    winter = make_claims(valid_until=date(2029, 2, 28)).expires_at
    summer = make_claims(valid_until=date(2029, 7, 31)).expires_at
    assert winter == datetime(2029, 2, 28, 23, 0, tzinfo=UTC)
    assert summer == datetime(2029, 7, 31, 22, 0, tzinfo=UTC)
