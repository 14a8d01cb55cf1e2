"""Sending an uploaded proof: always as a download, never inline."""

from __future__ import annotations

from flask import Response, send_file

from ehrenamt.models import Upload
from ehrenamt.services import uploads


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
