"""A print run's PDF: each card with its cover letter, imposed for printing. Pure.

Two layouts. ``sheet``: ten cards (2 × 5) on A4 with crop marks, in groups of ten:
the ten cover letters, then the sheet of fronts, then the sheet of backs mirrored
left to right for duplex printing (long-edge flip), so the letters and the cards of a
group come off the printer together and in the same order. ``card_printer``: per
card, its letter, then the front and the back on pages of ID-1 size.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ehrenamt.cardformat.layout import CARD_HEIGHT, CARD_WIDTH, CardFace, qr_modules
from ehrenamt.cardformat.letter import LetterContent, draw_letter
from ehrenamt.cardformat.pdf import draw_card_side, register_pdf_fonts, save_canvas

SHEET = "sheet"
CARD_PRINTER = "card_printer"
COLUMNS, ROWS = 2, 5
CARDS_PER_SHEET = COLUMNS * ROWS
SHEET_WIDTH, SHEET_HEIGHT = A4
#: The grid of cards, centred on the sheet; cards touch, so one cut separates two.
GRID_LEFT = (SHEET_WIDTH - COLUMNS * CARD_WIDTH) / 2
GRID_BOTTOM = (SHEET_HEIGHT - ROWS * CARD_HEIGHT) / 2
#: Crop marks: hairlines in the margin, off the card by this gap, this long.
MARK_GAP = 2 * mm
MARK_LENGTH = 6 * mm


@dataclass(frozen=True)
class PrintItem:
    """One card of the run: what it shows, and its cover letter."""

    face: CardFace
    letter: LetterContent


@dataclass(frozen=True)
class PrintedRun:
    """The PDF and its number of pages."""

    pdf: bytes
    pages: int


def card_position(index: int, *, back: bool) -> tuple[float, float]:
    """Bottom left corner of the ``index``-th card (0–9) of a sheet, in points.

    Filled row by row from the top left; on the back sheet the columns swap, so that
    after a long-edge flip each back lies behind its front.
    """
    row, column = divmod(index, COLUMNS)
    if back:
        column = COLUMNS - 1 - column
    return GRID_LEFT + column * CARD_WIDTH, GRID_BOTTOM + (ROWS - 1 - row) * CARD_HEIGHT


def print_run_pdf(
    items: Sequence[PrintItem],
    layout: str,
    *,
    title: str = "Druckauftrag",
    progress: Callable[[int], None] | None = None,
) -> PrintedRun:
    """Every card of the run with its letter, in one PDF; ``progress(n)`` after each card."""
    register_pdf_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("ehrenamt")
    pages = 0
    done = 0
    if layout == CARD_PRINTER:
        for item in items:
            canvas.setPageSize(A4)
            pages += draw_letter(canvas, item.letter)
            modules = qr_modules(item.face.url)
            for back in (False, True):
                canvas.setPageSize((CARD_WIDTH, CARD_HEIGHT))
                draw_card_side(canvas, item.face, modules, back=back)
                canvas.showPage()
                pages += 1
            done += 1
            if progress is not None:
                progress(done)
    else:
        for start in range(0, len(items), CARDS_PER_SHEET):
            group = items[start : start + CARDS_PER_SHEET]
            for item in group:
                pages += draw_letter(canvas, item.letter)
            codes = [qr_modules(item.face.url) for item in group]
            for back in (False, True):
                _draw_sheet(canvas, group, codes, back=back)
                pages += 1
            done += len(group)
            if progress is not None:
                progress(done)
    save_canvas(canvas)
    return PrintedRun(buffer.getvalue(), pages)


def _draw_sheet(
    canvas: Canvas, group: Sequence[PrintItem], modules: list[list[list[bool]]], *, back: bool
) -> None:
    for index, item in enumerate(group):
        x, y = card_position(index, back=back)
        canvas.saveState()
        canvas.translate(x, y)
        draw_card_side(canvas, item.face, modules[index], back=back)
        canvas.restoreState()
    _draw_crop_marks(canvas)
    canvas.showPage()


def _draw_crop_marks(canvas: Canvas) -> None:
    """Marks in the margins at every cut line, never on a card."""
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.setLineWidth(0.25)
    right = GRID_LEFT + COLUMNS * CARD_WIDTH
    top = GRID_BOTTOM + ROWS * CARD_HEIGHT
    for column in range(COLUMNS + 1):
        x = GRID_LEFT + column * CARD_WIDTH
        canvas.line(x, top + MARK_GAP, x, top + MARK_GAP + MARK_LENGTH)
        canvas.line(x, GRID_BOTTOM - MARK_GAP, x, GRID_BOTTOM - MARK_GAP - MARK_LENGTH)
    for row in range(ROWS + 1):
        y = GRID_BOTTOM + row * CARD_HEIGHT
        canvas.line(GRID_LEFT - MARK_GAP, y, GRID_LEFT - MARK_GAP - MARK_LENGTH, y)
        canvas.line(right + MARK_GAP, y, right + MARK_GAP + MARK_LENGTH, y)
