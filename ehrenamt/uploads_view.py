"""Sending an uploaded proof: always as a download, never inline."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, send_file

from ehrenamt.extensions import db
from ehrenamt.models import Application, Upload
from ehrenamt.services import uploads


def send_attached_upload(upload_id: int, may_see: Callable[[Application], bool]) -> Response:
    """The proof of an application the caller may see; 404 for anything else."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.application is None or not may_see(upload.application):
        abort(404)
    return send_upload(upload)


def send_upload(upload: Upload) -> Response:
    """The file as an attachment; the browser never renders it in our origin."""
    response = send_file(
        uploads.path_of(upload),
        mimetype=upload.content_type,
        as_attachment=True,
        download_name=upload.original_name,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
