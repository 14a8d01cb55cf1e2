"""The printable card: ID-1 PDF, front and back, fonts embedded."""

from __future__ import annotations

import io
import threading

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ehrenamt.cardformat.card_numbers import format_card_number
from ehrenamt.cardformat.layout import (
    BAND_COLOURS,
    BOLD,
    CAP_HEIGHT,
    CARD_HEIGHT,
    CARD_TYPE_LABELS,
    CARD_WIDTH,
    FONT_FILES,
    FONT_FOLDER,
    INK,
    LEADING,
    LOGO_BELOW_BAND,
    LOGO_BOX,
    LOGO_GAP,
    MUTED,
    QUIET_ZONE,
    REGULAR,
    RETURN_CAPTION,
    THANKS,
    WHITE,
    WITHOUT_END,
    CardFace,
    Measure,
    check_line,
    dark_runs,
    fit_text,
    found_note,
    german_date,
    logo_size,
)

_pdf_fonts_lock = threading.Lock()
_pdf_save_lock = threading.Lock()
_pdf_fonts_registered = False


def unprintable_characters(text: str) -> set[str]:
    """The characters of ``text`` the card's fonts have no glyph for (e.g. CJK).

    They would print as empty boxes; callers can refuse such names before signing.
    """
    register_pdf_fonts()
    missing: set[str] = set()
    for name in FONT_FILES:
        font = pdfmetrics.getFont(name)
        assert isinstance(font, TTFont)
        missing |= {char for char in text if ord(char) not in font.face.charToGlyph}
    return missing


def pdf_text_width(text: str, *, bold: bool, size: float) -> float:
    """Width in points of ``text`` as the PDF sets it."""
    register_pdf_fonts()
    return pdfmetrics.stringWidth(text, BOLD if bold else REGULAR, size)


def register_pdf_fonts() -> None:
    """Register the fonts with reportlab once per process (its registry is global)."""
    global _pdf_fonts_registered
    if _pdf_fonts_registered:
        return
    with _pdf_fonts_lock:
        if not _pdf_fonts_registered:
            for name, file in FONT_FILES.items():
                pdfmetrics.registerFont(TTFont(name, str(FONT_FOLDER / file)))
            _pdf_fonts_registered = True


def _pdf_measure(font: str) -> Measure:
    return lambda text, size: pdfmetrics.stringWidth(text, font, size)


class _PdfWriter:
    """Draws fitted text onto a reportlab canvas, placed by the top of its capitals."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas

    def text(
        self,
        text: str,
        font: str,
        x: float,
        top: float,
        width: float,
        colour: tuple[int, int, int],
        *,
        largest: float,
        smallest: float | None = None,
        max_lines: int = 1,
        height: float | None = None,
    ) -> None:
        """Draw ``text`` fitted into ``width`` with its capitals' top at ``top``."""
        fitted = fit_text(
            text,
            _pdf_measure(font),
            width,
            largest=largest,
            smallest=smallest,
            max_lines=max_lines,
            height=height,
        )
        self.canvas.setFillColorRGB(*(channel / 255 for channel in colour))
        self.canvas.setFont(font, fitted.size)
        baseline = top - fitted.size * CAP_HEIGHT
        for index, line in enumerate(fitted.lines):
            if index:
                baseline -= fitted.size * LEADING
            self.canvas.drawString(x, baseline, line)

    def label(self, text: str, x: float, top: float, width: float) -> None:
        self.text(text, REGULAR, x, top, width, MUTED, largest=5.5, smallest=4.5)


def draw_card_pdf(face: CardFace, modules: list[list[bool]]) -> bytes:
    register_pdf_fonts()
    buffer = io.BytesIO()
    # invariant: no creation date or random id, so equal faces give equal bytes.
    canvas = Canvas(buffer, pagesize=(CARD_WIDTH, CARD_HEIGHT), invariant=1, pageCompression=1)
    number = format_card_number(face.card_number)
    canvas.setTitle(f"{face.programme_name} – {number}")
    canvas.setCreator("ehrenamt")
    canvas.setAuthor(face.office_name)
    canvas.setSubject(CARD_TYPE_LABELS[face.card_type])
    _draw_front(_PdfWriter(canvas), face, number)
    canvas.showPage()
    _draw_back(_PdfWriter(canvas), face, number, modules)
    canvas.showPage()
    save_canvas(canvas)
    return buffer.getvalue()


def save_canvas(canvas: Canvas) -> None:
    """Write out a canvas of these fonts (cards, letters, print sheets).

    Embedding makes the font subset by seeking and reading in the one font face all
    threads share (reportlab keeps a registry per process): one thread at a time.
    """
    with _pdf_save_lock:
        canvas.save()


def draw_card_side(
    canvas: Canvas, face: CardFace, modules: list[list[bool]], *, back: bool
) -> None:
    """One side of the card with its bottom left corner at the canvas's origin (print
    sheets translate there first)."""
    register_pdf_fonts()
    number = format_card_number(face.card_number)
    if back:
        _draw_back(_PdfWriter(canvas), face, number, modules)
    else:
        _draw_front(_PdfWriter(canvas), face, number)


def _draw_front(pdf: _PdfWriter, face: CardFace, number: str) -> None:
    canvas = pdf.canvas
    margin = 5 * mm
    inner = CARD_WIDTH - 2 * margin
    band = 15 * mm
    canvas.setFillColorRGB(*(channel / 255 for channel in BAND_COLOURS[face.card_type]))
    canvas.rect(0, CARD_HEIGHT - band, CARD_WIDTH, band, stroke=0, fill=1)
    top = CARD_HEIGHT - 4 * mm
    pdf.text(face.programme_name, BOLD, margin, top, inner, WHITE, largest=10.5, smallest=6)
    pdf.text(
        CARD_TYPE_LABELS[face.card_type],
        REGULAR,
        margin,
        CARD_HEIGHT - 10.2 * mm,
        inner,
        WHITE,
        largest=7,
        smallest=5,
    )

    name_width = inner
    if face.office_logo:
        name_width = inner - LOGO_BOX[0] - LOGO_GAP
        _draw_logo(
            canvas, face.office_logo, CARD_WIDTH - margin, CARD_HEIGHT - band - LOGO_BELOW_BAND
        )
    top = CARD_HEIGHT - band - 4 * mm
    pdf.label("Name", margin, top, name_width)
    pdf.text(
        face.holder_name,
        BOLD,
        margin,
        top - 3.3 * mm,
        name_width,
        INK,
        largest=12,
        smallest=8,
        max_lines=2,
        height=9 * mm,
    )

    top = 22 * mm
    columns = [
        ("Kartennummer", number, margin, 33 * mm),
        ("Gültig ab", german_date(face.valid_from), margin + 35 * mm, 20 * mm),
        (
            "Gültig bis",
            WITHOUT_END if face.valid_until is None else german_date(face.valid_until),
            margin + 57 * mm,
            inner - 57 * mm,
        ),
    ]
    for caption, value, x, width in columns:
        pdf.label(caption, x, top, width)
        pdf.text(value, BOLD, x, top - 3 * mm, width, INK, largest=8.5, smallest=5)

    top = 11 * mm
    pdf.label("Ausgestellt von", margin, top, inner)
    pdf.text(
        face.office_name,
        REGULAR,
        margin,
        top - 3 * mm,
        inner,
        INK,
        largest=7,
        smallest=5.5,
        max_lines=2,
        height=6 * mm,
    )


def _draw_back(pdf: _PdfWriter, face: CardFace, number: str, modules: list[list[bool]]) -> None:
    canvas = pdf.canvas
    strip = 3 * mm
    canvas.setFillColorRGB(*(channel / 255 for channel in BAND_COLOURS[face.card_type]))
    canvas.rect(0, CARD_HEIGHT - strip, CARD_WIDTH, strip, stroke=0, fill=1)

    side = 41 * mm  # with the quiet zone; the code itself is about 36 mm wide
    left = 2.5 * mm
    bottom = (CARD_HEIGHT - strip - side) / 2
    _draw_pdf_qr(canvas, modules, left, bottom, side)

    x = left + side + 1 * mm
    width = CARD_WIDTH - x - 4 * mm
    top = CARD_HEIGHT - strip - 5 * mm
    pdf.label("Kartennummer", x, top, width)
    pdf.text(number, BOLD, x, top - 3 * mm, width, INK, largest=9, smallest=6)
    pdf.text(
        check_line(face.url),
        REGULAR,
        x,
        top - 9 * mm,
        width,
        INK,
        largest=6,
        smallest=5,
        max_lines=3,
        height=7.5 * mm,
    )
    if face.return_address:
        _draw_return_address(pdf, face, x, width)
    else:
        pdf.text(
            found_note(face.office_name),
            REGULAR,
            x,
            19 * mm,
            width,
            MUTED,
            largest=6,
            smallest=4.5,
            max_lines=5,
            height=11 * mm,
        )
    colour = BAND_COLOURS[face.card_type]
    pdf.text(THANKS, BOLD, x, 5.5 * mm, width, colour, largest=6.5, smallest=5)


def _draw_logo(canvas: Canvas, png: bytes, right: float, top: float) -> None:
    """The logo scaled into LOGO_BOX, its top right corner at (right, top)."""
    image = ImageReader(io.BytesIO(png))
    width, height = logo_size(image.getSize(), LOGO_BOX)
    # mask="auto": a transparent ground stays transparent (an alpha channel, as SMask).
    canvas.drawImage(image, right - width, top - height, width, height, mask="auto")


def _draw_return_address(pdf: _PdfWriter, face: CardFace, x: float, width: float) -> None:
    """Where a found card goes: a caption, the office's name and postal address, all in
    one size (an address in several sizes looks like a ransom note), wrapped if need be."""
    top = 25.5 * mm
    pdf.text(RETURN_CAPTION, REGULAR, x, top, width, MUTED, largest=5, smallest=4.5)
    top -= 4 * mm
    entries = [(face.office_name, BOLD), *((line, REGULAR) for line in face.return_address[:4])]
    size, blocks = _address_blocks(entries, width, budget=top - 8.5 * mm)
    for lines, font in blocks:
        pdf.canvas.setFillColorRGB(*(channel / 255 for channel in INK))
        pdf.canvas.setFont(font, size)
        for line in lines:
            pdf.canvas.drawString(x, top - size * CAP_HEIGHT, line)
            top -= size * LEADING


#: Sizes the return address is set in, in points: as large as fits, no smaller; lines
#: wrap only once shrinking to ADDRESS_WRAP is not enough.
ADDRESS_LARGEST, ADDRESS_WRAP, ADDRESS_SMALLEST = 6.0, 5.0, 3.5


def _address_blocks(
    entries: list[tuple[str, str]], width: float, *, budget: float
) -> tuple[float, list[tuple[tuple[str, ...], str]]]:
    """The largest common size at which every entry fits ``width`` (wrapped onto two
    lines if need be) and all lines fit ``budget`` points of height; the lines."""
    size = ADDRESS_LARGEST
    while True:
        blocks = [
            (fit_text(text, _pdf_measure(font), width, largest=size, max_lines=2).lines, font)
            for text, font in entries
        ]
        count = sum(len(lines) for lines, _ in blocks)
        widest = max(
            pdfmetrics.stringWidth(line, font, size) for lines, font in blocks for line in lines
        )
        wraps = count > len(entries)
        fits = count * size * LEADING <= budget and widest <= width
        if size <= ADDRESS_SMALLEST or (fits and (not wraps or size <= ADDRESS_WRAP)):
            return size, blocks
        size -= 0.25


def _draw_pdf_qr(
    canvas: Canvas, modules: list[list[bool]], left: float, bottom: float, side: float
) -> None:
    """The QR code as filled rectangles, one per horizontal run of dark modules."""
    count = len(modules) + 2 * QUIET_ZONE
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(left, bottom, side, side, stroke=0, fill=1)
    canvas.saveState()
    # In module units, counted from the symbol's top left corner downwards: whole
    # numbers, exact and short in the content stream.
    module = side / count
    canvas.translate(left + QUIET_ZONE * module, bottom + side - QUIET_ZONE * module)
    canvas.scale(module, -module)
    canvas.setFillColorRGB(0, 0, 0)
    # The same operators as canvas.drawPath(path, stroke=0, fill=1) writes, byte for
    # byte ("n", the rectangles, "f*" for reportlab's even-odd default; the rectangles
    # never overlap), but formatted here: reportlab formats each of the thousand-odd
    # whole numbers as a float, in Python unless the optional rl_accel is installed,
    # and that took a third of the time of the whole PDF.
    rectangles = " ".join(
        f"{start} {row_index} {length} 1 re"
        for row_index, row in enumerate(modules)
        for start, length in dark_runs(row)
    )
    canvas.addLiteral(f"n {rectangles}")
    canvas.addLiteral("f*")
    canvas.restoreState()
