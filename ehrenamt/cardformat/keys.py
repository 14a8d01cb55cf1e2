"""Card signing keys on disk: the key ring, generation, retirement, published keys."""

from __future__ import annotations

import base64
import logging
import math
import os
import threading
import time as time_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ehrenamt.cardformat.token import Verifier, key_id

log = logging.getLogger(__name__)


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
