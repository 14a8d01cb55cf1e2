"""Sending files: card documents and uploaded proofs, always as downloads."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from flask import Response, abort, send_file, stream_with_context

from ehrenamt.cards import production
from ehrenamt.core import spreadsheet, uploads
from ehrenamt.extensions import db
from ehrenamt.models import Application, Card, DocumentKind, Upload


def send_card_document(card: Card | None, kind: str) -> Response:
    """The card's current document as a download; 404 if there is none to give."""
    if card is None:
        abort(404)
    document = production.document_for_download(card, DocumentKind(kind))
    if document is None:
        abort(404)
    return _attachment(
        io.BytesIO(document.content),
        production.MEDIA_TYPES[document.kind],
        production.document_filename(card, document.kind),
        etag=False,
    )


def send_attached_upload(upload_id: int, may_see: Callable[[Application], bool]) -> Response:
    """The proof of an application the caller may see; 404 for anything else."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.application is None or not may_see(upload.application):
        abort(404)
    return send_upload(upload)


def send_upload(upload: Upload) -> Response:
    """The uploaded file as an attachment."""
    return _attachment(uploads.path_of(upload), upload.content_type, upload.original_name)


def send_archive(path: Path, name: str) -> Response:
    """A ZIP archive (a data export) as a download."""
    return _attachment(path, "application/zip", name, etag=False)


def send_pdf(content: bytes, name: str) -> Response:
    """A PDF made for this request (letters, a print run) as a download."""
    return _attachment(io.BytesIO(content), "application/pdf", name, etag=False)


def send_stream(chunks: Iterator[str] | Iterator[bytes], mimetype: str, name: str) -> Response:
    """A file made while it is sent (an export), as an attachment; the request's
    context (and database session) stays open until the last chunk."""
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    _no_cache_no_render(response)
    return response


#: The spreadsheet formats of exports and their media types.
TABLE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def send_table(
    kind: str, name: str, header: Sequence[object], rows: Iterable[Sequence[object]]
) -> Response:
    """Rows as a streamed CSV (UTF-8 with BOM) or XLSX download named ``name.kind``."""
    titles = [str(title) for title in header]
    chunks: Iterator[str] | Iterator[bytes] = (
        spreadsheet.xlsx_stream(name, titles, rows)
        if kind == "xlsx"
        else spreadsheet.csv_stream(titles, rows)
    )
    return send_stream(chunks, TABLE_TYPES[kind], f"{name}.{kind}")


def _no_cache_no_render(response: Response) -> None:
    """A download the browser never renders in our origin, and no cache keeps."""
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"


def _attachment(
    content: io.BytesIO | Path, mimetype: str, name: str, *, etag: bool = True
) -> Response:
    """A download the browser never renders in our origin, and no cache keeps."""
    response = send_file(
        content, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0, etag=etag
    )
    _no_cache_no_render(response)
    return response
