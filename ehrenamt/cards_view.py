"""Sending a card's PDF or PNG: to its holder and to staff of its office only."""

from __future__ import annotations

import io

from flask import Response, abort, send_file

from ehrenamt.models import Card, DocumentKind
from ehrenamt.services import cards


def send_card_document(card: Card | None, kind: str) -> Response:
    """The card's current document as a download; 404 if there is none to give."""
    if card is None:
        abort(404)
    document = cards.document_for_download(card, DocumentKind(kind))
    if document is None:
        abort(404)
    response = send_file(
        io.BytesIO(document.content),
        mimetype=cards.MEDIA_TYPES[document.kind],
        as_attachment=True,
        download_name=cards.document_filename(card, document.kind),
        max_age=0,
        etag=False,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
