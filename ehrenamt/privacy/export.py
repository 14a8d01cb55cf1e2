"""Exports of a volunteer's data (DSGVO Art. 15/20): requested from the account, built
at once when small or by a worker when large (then the link is mailed), downloaded by
the owner after a fresh sign-in, and deleted when they expire.

The archive holds ``daten.json`` (machine-readable, :mod:`ehrenamt.privacy.export_data`),
``uebersicht.html`` (the same, readable, every value escaped) and the files: uploaded
proofs under ``uploads/``, the card documents under ``cards/``.
"""

from __future__ import annotations

import json
import logging
import secrets
import zipfile
from datetime import timedelta
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ehrenamt.accounts import users
from ehrenamt.core import mail, outbox
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import DataExport, ExportState, User, utcnow
from ehrenamt.privacy import export_data, export_summary

log = logging.getLogger(__name__)

BUILD_EXPORT_TASK = "ehrenamt.build_data_export"
#: Names inside the archive.
JSON_NAME = "daten.json"
SUMMARY_NAME = "uebersicht.html"


def export_folder() -> Path:
    """The folder export files live in, created on first use with private permissions."""
    folder = Path(current_app.config["EXPORT_FOLDER"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def request_export(user: User) -> DataExport:
    """Start an export of ``user``'s data and commit.

    A small one is built now and is READY on return; a large one (files over
    ``EXPORT_WORKER_THRESHOLD_BYTES``) is PENDING and a worker builds it and mails the
    link. While one is pending, asking again returns that one.
    """
    pending = db.session.scalar(
        select(DataExport).where(
            DataExport.user_id == user.id, DataExport.state == ExportState.PENDING
        )
    )
    if pending is not None:
        return pending
    export = DataExport(
        public_id=secrets.token_hex(16),
        user_id=user.id,
        state=ExportState.PENDING,
        expires_at=utcnow() + timedelta(days=current_app.config["EXPORT_MAX_AGE_DAYS"]),
    )
    db.session.add(export)
    db.session.flush()
    if export_data.file_bytes(user.id) > current_app.config["EXPORT_WORKER_THRESHOLD_BYTES"]:
        outbox.enqueue(BUILD_EXPORT_TASK, export_id=export.id)
        outbox.commit()
        return export
    _write(export)
    db.session.commit()
    return export


def build(export_id: int) -> bool:
    """The worker's part: build a pending export and mail its link (caller commits).

    False if there is nothing to do (built already, or deleted): a second delivery of the
    task then changes nothing.
    """
    export = db.session.get(DataExport, export_id)
    if export is None or export.state != ExportState.PENDING:
        return False
    _write(export)
    user = export.user
    with force_locale(user.language):
        mail.queue_mail(
            users.email_of(user),
            _("Ihre Daten zum Herunterladen"),
            "export_ready",
            expires_at=export.expires_at,
            link=external_url("account.download_export", public_id=export.public_id),
        )
    return True


def _write(export: DataExport) -> None:
    """Write the archive under a new random name and mark the export ready."""
    user = export.user
    now = utcnow()
    data = export_data.collect(user, now)
    with force_locale(user.language):
        summary = render_template(
            "privacy/export_summary.html",
            data=data.document,
            user=user,
            exported_at=now,
            facts=export_summary.facts,
            table=export_summary.table,
            text=export_summary.text,
            draft_answers=export_summary.draft_answers,
        )
    name = secrets.token_hex(16) + ".zip"
    path = export_folder() / name
    # Written beside, then renamed: a worker dying halfway leaves no half archive under
    # the name a download would open.
    partial = path.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_NAME, json.dumps(data.document, ensure_ascii=False, indent=2))
        archive.writestr(SUMMARY_NAME, summary)
        for item in data.files:
            if item.content is not None:
                archive.writestr(item.name, item.content)
            elif item.path is not None and item.path.exists():
                archive.write(item.path, item.name)
    partial.replace(path)
    if export.stored_name:  # an earlier run died after writing: its file goes
        (export_folder() / export.stored_name).unlink(missing_ok=True)
    export.stored_name = name
    export.size = path.stat().st_size
    export.state = ExportState.READY
    export.ready_at = now
    log.info("data export %s built: %d files, %d bytes", export.id, len(data.files), export.size)


def exports_of(user_id: int) -> list[DataExport]:
    """The volunteer's exports not yet expired, newest first."""
    return list(
        db.session.scalars(
            select(DataExport)
            .where(DataExport.user_id == user_id, DataExport.expires_at > utcnow())
            .order_by(DataExport.id.desc())
        )
    )


def get_for_owner(user_id: int, public_id: str) -> DataExport | None:
    """The owner's export if it is ready and not expired; None for anything else (another
    person's export included)."""
    export = db.session.scalar(
        select(DataExport).where(
            DataExport.public_id == public_id,
            DataExport.user_id == user_id,
            DataExport.state == ExportState.READY,
            DataExport.expires_at > utcnow(),
        )
    )
    if export is None or not export.stored_name:
        return None
    return export


def path_of(export: DataExport) -> Path:
    """Where the export's archive is stored."""
    return export_folder() / str(export.stored_name)


def download_name(export: DataExport) -> str:
    """The archive's file name for the browser."""
    return f"ehrenamtskarte-daten-{export.created_at:%Y-%m-%d}.zip"
