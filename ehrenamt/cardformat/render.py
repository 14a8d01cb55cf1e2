"""Rendering a card: its PDF and PNG from one face."""

from __future__ import annotations

from ehrenamt.cardformat.layout import CardFace, RenderedCard, qr_modules
from ehrenamt.cardformat.pdf import draw_card_pdf
from ehrenamt.cardformat.png import draw_card_png


def render_card(face: CardFace) -> RenderedCard:
    """The card as PDF and PNG; the QR code is computed once for both."""
    modules = qr_modules(face.url)
    return RenderedCard(pdf=draw_card_pdf(face, modules), png=draw_card_png(face, modules))


def render_pdf(face: CardFace) -> bytes:
    """The card as a PDF of two ID-1 pages (front, back) for the card printer.

    The bytes depend only on ``face``: no creation date or random document id.
    """
    return draw_card_pdf(face, qr_modules(face.url))


def render_png(face: CardFace) -> bytes:
    """The card as one PNG for phones: the front's information above the QR code."""
    return draw_card_png(face, qr_modules(face.url))
