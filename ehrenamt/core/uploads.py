"""Uploaded proofs: type checked on the bytes, size limited, stored under random names."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from pathlib import Path
from typing import IO

import filetype
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Upload

#: What we accept, detected from the bytes: content type → extension on disk.
ALLOWED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


#: What a claim token from :func:`secrets.token_urlsafe` looks like.
CLAIM_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class UploadRejected(ValueError):
    """The file is not acceptable; the message is for the applicant."""


def upload_folder() -> Path:
    """The folder uploads live in, created on first use with private permissions."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def store_upload(stream: IO[bytes], original_name: str) -> Upload:
    """Check and store a file; the returned Upload is added to the session, unattached."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    data = stream.read(limit + 1)
    if not data:
        raise UploadRejected(_l("Die Datei ist leer."))
    if len(data) > limit:
        raise UploadRejected(
            _l("Die Datei ist zu groß (höchstens %(mb)s MB).", mb=limit // (1024 * 1024))
        )
    kind = filetype.guess(data)
    content_type = kind.mime if kind else None
    if content_type not in ALLOWED_TYPES or not _structure_ok(content_type, data):
        raise UploadRejected(_l("Bitte laden Sie eine PDF-, JPEG- oder PNG-Datei hoch."))
    stored_name = f"{secrets.token_hex(16)}.{ALLOWED_TYPES[content_type]}"
    path = upload_folder() / stored_name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    upload = Upload(
        claim_token=secrets.token_urlsafe(24),
        stored_name=stored_name,
        original_name=_display_name(original_name),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    db.session.add(upload)
    return upload


def _structure_ok(content_type: str, data: bytes) -> bool:
    """A second look beyond the magic number: the file must also end like one."""
    if content_type == "application/pdf":
        return data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]
    if content_type == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n") and data.rstrip(b"\x00").endswith(
            b"IEND\xaeB`\x82"
        )
    if content_type == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff") and b"\xff\xd9" in data[-1024:]
    return False


def _display_name(name: str) -> str:
    """The browser's file name without any path, trimmed; only ever displayed.

    Control characters go: a CR/LF (which arrives percent-decoded from an RFC 2231
    ``filename*``) would make the download's Content-Disposition header fail. Format
    characters go too, so a right-to-left override cannot disguise the name.
    """
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf"))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return (name or "datei")[:255]


def find_unclaimed(claim_token: str) -> Upload | None:
    """An upload from an earlier, failed submission of the same form."""
    if not CLAIM_TOKEN.fullmatch(claim_token):
        # Not one of ours; looking it up could even fail (PostgreSQL refuses a NUL).
        return None
    return db.session.scalar(
        select(Upload).where(Upload.claim_token == claim_token, Upload.application_id.is_(None))
    )


def path_of(upload: Upload) -> Path:
    """Where the upload's bytes are."""
    return upload_folder() / upload.stored_name
