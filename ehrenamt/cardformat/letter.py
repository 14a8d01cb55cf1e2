"""Letters in DIN 5008 layout (form B) for window envelopes: pure drawing, no database.

The positions are the standard's, measured from the sheet's top left corner (A4,
210 × 297 mm): the address field (Anschriftfeld) lies 20 mm from the left and 45 mm from
the top, 85 × 45 mm; its first 17.7 mm are the Zusatz- und Vermerkzone, where the
sender's return line goes, the remaining 27.3 mm the Anschriftzone of at most six lines.
The information block (date) starts 125 mm from the left and 50 mm from the top; the
text runs from 25 mm to 20 mm before the right edge; fold marks at 105 and 210 mm. The
address field is what shows through the envelope's window, so nothing else may be in it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from ehrenamt.cardformat.layout import BOLD, INK, MUTED, REGULAR, fit_text
from ehrenamt.cardformat.pdf import register_pdf_fonts, save_canvas

PAGE_WIDTH, PAGE_HEIGHT = A4
#: The address field (window), from the sheet's top left corner.
WINDOW_LEFT = 20 * mm
WINDOW_TOP = 45 * mm
WINDOW_WIDTH = 85 * mm
WINDOW_HEIGHT = 45 * mm
#: The Zusatz- und Vermerkzone's height; the Anschriftzone follows it.
NOTE_ZONE_HEIGHT = 17.7 * mm
ADDRESS_LINES = 6
#: Where the address's text starts inside the field (DIN 5008: 5 mm indent is usual).
ADDRESS_INDENT = 5 * mm
INFO_LEFT = 125 * mm
INFO_TOP = 50 * mm
TEXT_LEFT = 25 * mm
TEXT_RIGHT = PAGE_WIDTH - 20 * mm
#: Form B: the subject two lines below the address field.
SUBJECT_TOP = 98.5 * mm
BOTTOM_MARGIN = 25 * mm
FOLD_MARKS = (105 * mm, 210 * mm)
HOLE_MARK = 148.5 * mm

BODY_SIZE = 11.0
BODY_LEADING = 1.35 * BODY_SIZE
ADDRESS_SIZE = 10.0
#: Sizes tried in turn until the address fits the Anschriftzone.
ADDRESS_SIZES = (ADDRESS_SIZE, 9.0, 8.0, 7.0)
RETURN_LINE_SIZE = 6.5


@dataclass(frozen=True)
class LetterContent:
    """What one letter says; the caller translates and formats (Babel) beforehand."""

    #: The sender: the office's name and postal address, one line each.
    sender_lines: tuple[str, ...]
    #: The recipient's address, one line each (name, street, postcode and town).
    recipient_lines: tuple[str, ...]
    #: The date as written in the recipient's language, with its caption.
    date_caption: str
    date_text: str
    subject: str
    body: str


def window_rectangle() -> tuple[float, float, float, float]:
    """The address field as (left, bottom, right, top) in PDF points (origin bottom left)."""
    return (
        WINDOW_LEFT,
        PAGE_HEIGHT - WINDOW_TOP - WINDOW_HEIGHT,
        WINDOW_LEFT + WINDOW_WIDTH,
        PAGE_HEIGHT - WINDOW_TOP,
    )


def draw_letter(canvas: Canvas, letter: LetterContent) -> int:
    """Draw ``letter`` from a fresh page on; returns the pages it took (ends the last)."""
    register_pdf_fonts()
    _draw_marks(canvas)
    _draw_sender(canvas, letter.sender_lines)
    _draw_window(canvas, letter.sender_lines, letter.recipient_lines)
    _set(canvas, REGULAR, 9, MUTED)
    canvas.drawString(INFO_LEFT, _y(INFO_TOP + 3.5 * mm), letter.date_caption)
    _set(canvas, REGULAR, 10, INK)
    canvas.drawString(INFO_LEFT, _y(INFO_TOP + 8 * mm), letter.date_text)

    top = SUBJECT_TOP
    _set(canvas, BOLD, BODY_SIZE, INK)
    for line in _wrap(letter.subject, BOLD, BODY_SIZE):
        top += BODY_LEADING
        canvas.drawString(TEXT_LEFT, _y(top), line)
    top += BODY_LEADING  # one blank line after the subject
    pages = 1
    _set(canvas, REGULAR, BODY_SIZE, INK)
    for line in _body_lines(letter.body):
        if top + BODY_LEADING > PAGE_HEIGHT - BOTTOM_MARGIN:
            canvas.showPage()
            pages += 1
            _draw_marks(canvas)
            top = 20 * mm
            _set(canvas, REGULAR, BODY_SIZE, INK)
        top += BODY_LEADING
        if line:
            canvas.drawString(TEXT_LEFT, _y(top), line)
    canvas.showPage()
    return pages


def _y(top: float) -> float:
    """A distance from the sheet's top as reportlab's y (from the bottom)."""
    return PAGE_HEIGHT - top


def _set(canvas: Canvas, font: str, size: float, colour: tuple[int, int, int]) -> None:
    canvas.setFont(font, size)
    canvas.setFillColorRGB(*(channel / 255 for channel in colour))


def _wrap(text: str, font: str, size: float) -> list[str]:
    # Words longer than the line are broken (simpleSplit does), never cut off.
    return list(simpleSplit(text, font, size, TEXT_RIGHT - TEXT_LEFT)) or [""]


def _body_lines(body: str) -> Iterable[str]:
    for paragraph in body.splitlines():
        if not paragraph.strip():
            yield ""
            continue
        yield from _wrap(paragraph, REGULAR, BODY_SIZE)


def _draw_marks(canvas: Canvas) -> None:
    """Fold marks and the hole mark at the left edge, as short hairlines."""
    canvas.setStrokeColorRGB(*(channel / 255 for channel in MUTED))
    canvas.setLineWidth(0.3)
    for top in FOLD_MARKS:
        canvas.line(3 * mm, _y(top), 8 * mm, _y(top))
    canvas.line(3 * mm, _y(HOLE_MARK), 10 * mm, _y(HOLE_MARK))


def _draw_sender(canvas: Canvas, sender: tuple[str, ...]) -> None:
    """The letterhead: the office's name and address at the top right, above the date."""
    if not sender:
        return
    _set(canvas, BOLD, 12, INK)
    canvas.drawString(INFO_LEFT, _y(20 * mm), sender[0])
    _set(canvas, REGULAR, 9, MUTED)
    for index, line in enumerate(sender[1:5]):
        canvas.drawString(INFO_LEFT, _y(25 * mm + index * 4 * mm), line)


def _draw_window(canvas: Canvas, sender: tuple[str, ...], recipient: tuple[str, ...]) -> None:
    """Return line at the bottom of the Vermerkzone, the address in the Anschriftzone."""
    left = WINDOW_LEFT + ADDRESS_INDENT
    width = WINDOW_WIDTH - ADDRESS_INDENT - 2 * mm
    # Name, street and town: a department line would shrink it below legibility.
    return_line = " · ".join(sender[:1] + sender[1:][-2:])
    size = RETURN_LINE_SIZE
    while size > 4.5 and canvas.stringWidth(return_line, REGULAR, size) > width:
        size -= 0.25
    _set(canvas, REGULAR, size, MUTED)
    canvas.drawString(left, _y(WINDOW_TOP + NOTE_ZONE_HEIGHT - 1.5 * mm), return_line)

    # Too wide or too many lines: the address is set smaller, down to a size the post's
    # machines still read, its long lines wrapped; never cut, never out of the window.
    def measure(text: str, size: float) -> float:
        return float(canvas.stringWidth(text, REGULAR, size))

    size, lines = ADDRESS_SIZE, list(recipient)
    for wanted in ADDRESS_SIZES:
        # The card's line breaking: after spaces and hyphens, a long word anywhere.
        fitted = [fit_text(line, measure, width, largest=wanted, max_lines=3) for line in recipient]
        size = min(f.size for f in fitted) if fitted else wanted
        lines = [part for f in fitted for part in f.lines]
        if size >= wanted and len(lines) <= ADDRESS_LINES:
            break
    line_height = (WINDOW_HEIGHT - NOTE_ZONE_HEIGHT) / max(ADDRESS_LINES, len(lines))
    _set(canvas, REGULAR, size, INK)
    for index, line in enumerate(lines):
        baseline = WINDOW_TOP + NOTE_ZONE_HEIGHT + (index + 1) * line_height - 1.2 * mm
        canvas.drawString(left, _y(baseline), line)


def letters_pdf(letters: Iterable[LetterContent], *, title: str = "Briefe") -> bytes:
    """Every letter in one PDF, each starting on a new sheet; fonts embedded."""
    register_pdf_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("ehrenamt")
    for letter in letters:
        draw_letter(canvas, letter)
    save_canvas(canvas)
    return buffer.getvalue()
