"""Uploaded proofs: type checked on the bytes, size limited, stored under random names."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import filetype
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from ehrenamt.extensions import db
from ehrenamt.models import Upload

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class CheckedFile:
    """An acceptable file, held in memory until it is worth storing."""

    data: bytes
    content_type: str
    original_name: str


def store_upload(stream: IO[bytes], original_name: str) -> Upload:
    """Check and store a file; the returned Upload is added to the session, unattached."""
    return store_checked(check_upload(stream, original_name))


def check_upload(stream: IO[bytes], original_name: str) -> CheckedFile:
    """Read and check a file without storing it; UploadRejected says what is wrong."""
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
    if content_type not in ALLOWED_TYPES or not structure_ok(content_type, data):
        raise UploadRejected(_l("Bitte laden Sie eine PDF-, JPEG- oder PNG-Datei hoch."))
    return CheckedFile(data, content_type, _display_name(original_name))


#: Spreadsheets staff import, detected from the bytes: content type → kind.
SPREADSHEET_TYPES = {
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


def check_spreadsheet(stream: IO[bytes], original_name: str, limit: int) -> CheckedFile:
    """Read and check a CSV or XLSX file of at most ``limit`` bytes, on its bytes.

    An XLSX must be a zip archive holding a workbook; anything else that ``filetype``
    recognises (an image, a PDF, an old .xls) is refused; the rest must be UTF-8 text
    without NUL bytes, which is what a CSV is.
    """
    data = stream.read(limit + 1)
    if not data:
        raise UploadRejected(_l("Die Datei ist leer."))
    if len(data) > limit:
        raise UploadRejected(
            _l("Die Datei ist zu groß (höchstens %(mb)s MB).", mb=limit // (1024 * 1024))
        )
    kind = filetype.guess(data)
    if kind is not None:
        content_type = kind.mime
        if SPREADSHEET_TYPES.get(content_type) != "xlsx" or not _workbook_ok(data):
            raise UploadRejected(_l("Bitte laden Sie eine CSV- oder XLSX-Datei hoch."))
    else:
        content_type = "text/csv"
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UploadRejected(_l("Die CSV-Datei muss UTF-8-kodiert sein.")) from None
        if "\x00" in text:
            raise UploadRejected(_l("Bitte laden Sie eine CSV- oder XLSX-Datei hoch."))
    return CheckedFile(data, content_type, _display_name(original_name))


def _workbook_ok(data: bytes) -> bool:
    """An XLSX is a zip archive with a workbook part."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def store_checked(checked: CheckedFile) -> Upload:
    """Write a checked file under a random name; the Upload is added, unattached."""
    stored_name = f"{secrets.token_hex(16)}.{ALLOWED_TYPES[checked.content_type]}"
    path = upload_folder() / stored_name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(checked.data)
    upload = Upload(
        claim_token=secrets.token_urlsafe(24),
        stored_name=stored_name,
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=len(checked.data),
        sha256=hashlib.sha256(checked.data).hexdigest(),
    )
    db.session.add(upload)
    return upload


def keep_instead(checked: CheckedFile, replaced: Upload | None) -> Upload:
    """Store ``checked`` for a later try of the form and delete the unattached upload it
    replaces, so one visitor holds at most one; commits, then removes the old file."""
    upload = store_checked(checked)
    old_name = None
    if replaced is not None and replaced.application_id is None:
        old_name = replaced.stored_name
        db.session.delete(replaced)
    db.session.commit()
    if old_name is not None:
        (upload_folder() / old_name).unlink(missing_ok=True)
    return upload


def structure_ok(content_type: str, data: bytes) -> bool:
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


def delete_unclaimed(cutoff: datetime, *, limit: int, batch: int) -> int:
    """Delete up to ``limit`` uploads never attached to an application and made before
    ``cutoff``, with their files, ``batch`` rows per transaction; logs the count only.
    The retention job (privacy.retention) calls it with UNCLAIMED_UPLOAD_MAX_AGE_HOURS."""
    total = 0
    while total < limit:
        size = min(batch, limit - total)
        ids = db.session.scalars(
            select(Upload.id)
            .where(Upload.application_id.is_(None), Upload.created_at < cutoff)
            .order_by(Upload.id)
            .limit(size)
        ).all()
        if not ids:
            db.session.rollback()
            break
        # Only rows still unattached now go, and only their files: a form sent meanwhile
        # may have claimed one (not after 24 hours in practice: its CSRF token expired).
        names = db.session.scalars(
            delete(Upload)
            .where(Upload.id.in_(ids), Upload.application_id.is_(None))
            .returning(Upload.stored_name)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        folder = upload_folder()
        for name in names:
            (folder / name).unlink(missing_ok=True)
        total += len(names)
        if len(ids) < size:
            break
    if total:
        log.info("deleted %d unclaimed uploads", total)
    return total
