"""The Ehrenamtskarte as a printable PDF (ID-1, front and back) and as a PNG for phones.

Both show what the signed QR code carries (name, card number, type, validity, office)
and no other personal data. Text is set in the vendored DejaVu Sans (``ehrenamt/static/fonts``),
which covers every Latin letter a name may contain; the PDF embeds a subset of it. The
QR code is drawn from its module matrix: vector rectangles in the PDF, whole pixels per
module in the PNG, so it stays sharp at any print resolution or zoom.

Long names and office names shrink down to a minimum size, then wrap onto more lines,
shrinking further only if they still do not fit: no text ever runs past its box, and the
name is always printed in full, because the signed token holds it exactly as printed.

The card is an official German document, so its text is German in every locale.
Rendering needs no app context and is safe to call from several threads.
"""

from __future__ import annotations

import functools
import io
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ehrenamt.models import CardType
from ehrenamt.services import signing
from ehrenamt.services.card_numbers import format_card_number

#: The vendored fonts and their licence (LICENSE-DejaVu.txt).
FONT_FOLDER = Path(__file__).resolve().parent.parent / "static" / "fonts"
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
_FONT_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}

#: ISO/IEC 7810 ID-1, the size of a bank card, in PDF points.
CARD_WIDTH = 85.6 * mm
CARD_HEIGHT = 54.0 * mm
#: Width of the PNG in pixels; its height follows from the content.
PNG_WIDTH = 1000
#: Smallest QR module in the PNG; phone screens and scanners need a few pixels each.
PNG_MIN_MODULE = 6
#: The QR code's quiet zone in modules (ISO/IEC 18004 requires 4).
QUIET_ZONE = 4

#: Printed as the card's kind, under the programme name.
CARD_TYPE_LABELS = {
    CardType.STANDARD: "Ehrenamtskarte",
    CardType.LONG_SERVICE: "Ehrenamtskarte · Jubiläumskarte",
}
#: Printed instead of an end date on long-service cards.
WITHOUT_END = "unbefristet"
#: Line distance as a multiple of the font size.
LEADING = 1.2
# DejaVu Sans: height of capitals as a fraction of the font size, to place text by its top.
_CAP_HEIGHT = 0.73

_BAND_COLOURS = {CardType.STANDARD: (0x1F, 0x4E, 0x79), CardType.LONG_SERVICE: (0x6E, 0x2A, 0x45)}
_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
_INK = (0x1A, 0x1A, 0x1A)
_MUTED = (0x5F, 0x63, 0x68)
_RULE = (0xD0, 0xD4, 0xD9)

# Lines break after a space or a hyphen; a word too wide for a line breaks after a slash
# or a full stop (host names), and only failing that anywhere.
_WORD_BREAKS = re.compile(r"(?<=[ \-])")
_PART_BREAKS = re.compile(r"(?<=[/.])")


@dataclass(frozen=True)
class CardFace:
    """Everything printed on a card; the same values the signed QR code asserts."""

    #: The name exactly as printed (also inside the signed token).
    holder_name: str
    #: Canonical card number; printed in groups (:func:`format_card_number`).
    card_number: str
    card_type: CardType
    valid_from: date
    #: ``None``: a long-service card, valid without end ("unbefristet").
    valid_until: date | None
    #: The issuing office, e.g. "Stadt Dessau-Roßlau".
    office_name: str
    #: E.g. "Ehrenamtskarte Sachsen-Anhalt".
    programme_name: str
    #: The QR code's content: :func:`ehrenamt.services.signing.card_url` of the token.
    url: str


@dataclass(frozen=True)
class RenderedCard:
    """A card as PDF (two ID-1 pages: front, back) and as PNG (one image for phones)."""

    pdf: bytes
    png: bytes


@dataclass(frozen=True)
class FittedText:
    """Text set to fit a box: the font size and the lines to draw."""

    size: float
    lines: tuple[str, ...]


#: Width of a text at a font size, in the units of the box it must fit.
Measure = Callable[[str, float], float]


def render_card(face: CardFace) -> RenderedCard:
    """The card as PDF and PNG; the QR code is computed once for both."""
    modules = _qr_modules(face.url)
    return RenderedCard(pdf=_render_pdf(face, modules), png=_render_png(face, modules))


def render_pdf(face: CardFace) -> bytes:
    """The card as a PDF of two ID-1 pages (front, back) for the card printer.

    The bytes depend only on ``face``: no creation date or random document id.
    """
    return _render_pdf(face, _qr_modules(face.url))


def render_png(face: CardFace) -> bytes:
    """The card as one PNG for phones: the front's information above the QR code."""
    return _render_png(face, _qr_modules(face.url))


def unprintable_characters(text: str) -> set[str]:
    """The characters of ``text`` the card's fonts have no glyph for (e.g. CJK).

    They would print as empty boxes; callers can refuse such names before signing.
    """
    _register_pdf_fonts()
    missing: set[str] = set()
    for name in _FONT_FILES:
        font = pdfmetrics.getFont(name)
        assert isinstance(font, TTFont)
        missing |= {char for char in text if ord(char) not in font.face.charToGlyph}
    return missing


def pdf_text_width(text: str, *, bold: bool, size: float) -> float:
    """Width in points of ``text`` as the PDF sets it."""
    _register_pdf_fonts()
    return pdfmetrics.stringWidth(text, BOLD if bold else REGULAR, size)


def fit_text(
    text: str,
    measure: Measure,
    width: float,
    *,
    largest: float,
    smallest: float,
    max_lines: int = 1,
    height: float | None = None,
    step: float = 0.25,
) -> FittedText:
    """Set ``text`` into a box ``width`` wide (and ``height`` high, if given).

    One line at ``largest`` size, shrinking down to ``smallest``; then up to ``max_lines``
    lines, as large as the height allows, shrinking further (below ``smallest`` if need be)
    until every line fits. Lines break after spaces and hyphens; a word too wide for a line
    breaks after a slash or full stop, and failing that anywhere.
    """
    sizes = _sizes(largest, step)
    full = measure(text, largest)
    # Width grows in proportion to the size (up to hinting), so start near the answer.
    estimate = largest if full <= width else largest * width / full
    for size in sizes:
        if size < smallest:
            break
        if size <= estimate + step and measure(text, size) <= width:
            return FittedText(size, (text,))
    cap = largest if height is None else min(largest, height / (max_lines * LEADING))
    candidates = [size for size in sizes if size <= cap]
    # Smaller sizes need no more lines, so search for the largest size that fits by
    # bisection: a 200-character name takes a handful of trial wraps instead of dozens.
    best: FittedText | None = None
    low, high = 0, len(candidates) - 1
    while low <= high:
        middle = (low + high) // 2
        size = candidates[middle]
        lines = _wrap(text, measure, size, width)
        if len(lines) <= max_lines and all(measure(line, size) <= width for line in lines):
            best = FittedText(size, tuple(lines))
            high = middle - 1
        else:
            low = middle + 1
    if best is not None:
        return best
    return FittedText(sizes[-1], tuple(_wrap(text, measure, sizes[-1], width)))


def _sizes(largest: float, step: float) -> list[float]:
    """Candidate sizes from ``largest`` down in ``step``s, without float drift."""
    count = int(largest / step)
    return [largest - i * step for i in range(count)]


def _wrap(text: str, measure: Measure, size: float, width: float) -> list[str]:
    """Greedy line breaking: between words, else inside host names, else anywhere."""

    def fits(line: str) -> bool:
        return measure(line.rstrip(" "), size) <= width

    lines: list[str] = []
    current = ""
    for word in _WORD_BREAKS.split(text):
        if fits(current + word):
            current += word
            continue
        if current.strip():
            lines.append(current.rstrip(" "))
        current = ""
        for part in _PART_BREAKS.split(word):
            if fits(current + part):
                current += part
                continue
            if current.strip():
                lines.append(current.rstrip(" "))
            while not fits(part) and len(part) > 1:
                cut = _longest_fitting_prefix(part, measure, size, width)
                lines.append(part[:cut])
                part = part[cut:]
            current = part
    if current.strip() or not lines:
        lines.append(current.rstrip(" "))
    return lines


def _longest_fitting_prefix(word: str, measure: Measure, size: float, width: float) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(word[:middle], size) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _qr_modules(url: str) -> list[list[bool]]:
    """The QR code's dark modules without quiet zone, row by row."""
    qr = signing.make_qr_code(url)
    return [[bool(module) for module in row] for row in qr.modules]


def _dark_runs(row: Sequence[bool]) -> list[tuple[int, int]]:
    """(start, length) of each horizontal run of dark modules: fewer, larger shapes."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, dark in enumerate([*row, False]):
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            runs.append((start, index - start))
            start = None
    return runs


def _german_date(day: date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"


def _check_line(url: str) -> str:
    """Where to check a card by hand, e.g. ``ehrenamtskarte.example.org/karte``."""
    parts = urlsplit(url)
    return f"Prüfen: {parts.netloc}{parts.path}"


def _found_note(office_name: str) -> str:
    return f"Gefunden? Bitte bei der ausgebenden Stelle abgeben: {office_name}"


# --- PDF -------------------------------------------------------------------------------------

_pdf_fonts_lock = threading.Lock()
_pdf_fonts_registered = False


def _register_pdf_fonts() -> None:
    """Register the fonts with reportlab once per process (its registry is global)."""
    global _pdf_fonts_registered
    if _pdf_fonts_registered:
        return
    with _pdf_fonts_lock:
        if not _pdf_fonts_registered:
            for name, file in _FONT_FILES.items():
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
            smallest=largest if smallest is None else smallest,
            max_lines=max_lines,
            height=height,
        )
        self.canvas.setFillColorRGB(*(channel / 255 for channel in colour))
        self.canvas.setFont(font, fitted.size)
        baseline = top - fitted.size * _CAP_HEIGHT
        for index, line in enumerate(fitted.lines):
            if index:
                baseline -= fitted.size * LEADING
            self.canvas.drawString(x, baseline, line)

    def label(self, text: str, x: float, top: float, width: float) -> None:
        self.text(text, REGULAR, x, top, width, _MUTED, largest=5.5, smallest=4.5)


def _render_pdf(face: CardFace, modules: list[list[bool]]) -> bytes:
    _register_pdf_fonts()
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
    canvas.save()
    return buffer.getvalue()


def _draw_front(pdf: _PdfWriter, face: CardFace, number: str) -> None:
    canvas = pdf.canvas
    margin = 5 * mm
    inner = CARD_WIDTH - 2 * margin
    band = 15 * mm
    canvas.setFillColorRGB(*(channel / 255 for channel in _BAND_COLOURS[face.card_type]))
    canvas.rect(0, CARD_HEIGHT - band, CARD_WIDTH, band, stroke=0, fill=1)
    top = CARD_HEIGHT - 4 * mm
    pdf.text(face.programme_name, BOLD, margin, top, inner, _WHITE, largest=10.5, smallest=6)
    pdf.text(
        CARD_TYPE_LABELS[face.card_type],
        REGULAR,
        margin,
        CARD_HEIGHT - 10.2 * mm,
        inner,
        _WHITE,
        largest=7,
        smallest=5,
    )

    top = CARD_HEIGHT - band - 4 * mm
    pdf.label("Name", margin, top, inner)
    pdf.text(
        face.holder_name,
        BOLD,
        margin,
        top - 3.3 * mm,
        inner,
        _INK,
        largest=12,
        smallest=8,
        max_lines=2,
        height=9 * mm,
    )

    top = 22 * mm
    columns = [
        ("Kartennummer", number, margin, 33 * mm),
        ("Gültig ab", _german_date(face.valid_from), margin + 35 * mm, 20 * mm),
        (
            "Gültig bis",
            WITHOUT_END if face.valid_until is None else _german_date(face.valid_until),
            margin + 57 * mm,
            inner - 57 * mm,
        ),
    ]
    for caption, value, x, width in columns:
        pdf.label(caption, x, top, width)
        pdf.text(value, BOLD, x, top - 3 * mm, width, _INK, largest=8.5, smallest=5)

    top = 11 * mm
    pdf.label("Ausgestellt von", margin, top, inner)
    pdf.text(
        face.office_name,
        REGULAR,
        margin,
        top - 3 * mm,
        inner,
        _INK,
        largest=7,
        smallest=5.5,
        max_lines=2,
        height=6 * mm,
    )


def _draw_back(pdf: _PdfWriter, face: CardFace, number: str, modules: list[list[bool]]) -> None:
    canvas = pdf.canvas
    strip = 3 * mm
    canvas.setFillColorRGB(*(channel / 255 for channel in _BAND_COLOURS[face.card_type]))
    canvas.rect(0, CARD_HEIGHT - strip, CARD_WIDTH, strip, stroke=0, fill=1)

    side = 41 * mm  # with the quiet zone; the code itself is about 36 mm wide
    left = 2.5 * mm
    bottom = (CARD_HEIGHT - strip - side) / 2
    _draw_pdf_qr(canvas, modules, left, bottom, side)

    x = left + side + 1 * mm
    width = CARD_WIDTH - x - 4 * mm
    top = CARD_HEIGHT - strip - 5 * mm
    pdf.label("Kartennummer", x, top, width)
    pdf.text(number, BOLD, x, top - 3 * mm, width, _INK, largest=9, smallest=6)
    pdf.text(
        _check_line(face.url),
        REGULAR,
        x,
        top - 9 * mm,
        width,
        _INK,
        largest=6,
        smallest=5,
        max_lines=3,
        height=7.5 * mm,
    )
    pdf.text(
        _found_note(face.office_name),
        REGULAR,
        x,
        19 * mm,
        width,
        _MUTED,
        largest=6,
        smallest=4.5,
        max_lines=7,
        height=16 * mm,
    )


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
        for start, length in _dark_runs(row)
    )
    canvas.addLiteral(f"n {rectangles}")
    canvas.addLiteral("f*")
    canvas.restoreState()


# --- PNG -------------------------------------------------------------------------------------


@functools.cache
def _font_bytes(name: str) -> bytes:
    return (FONT_FOLDER / _FONT_FILES[name]).read_bytes()


_thread_fonts = threading.local()


def _pil_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """The font at ``size`` pixels, loaded once per thread: a FreeType face must not be
    used by two threads at once. Sizes are whole pixels up to 64, so this stays small."""
    fonts: dict[tuple[str, int], ImageFont.FreeTypeFont] = _thread_fonts.__dict__.setdefault(
        "fonts", {}
    )
    font = fonts.get((name, size))
    if font is None:
        font = fonts[name, size] = ImageFont.truetype(io.BytesIO(_font_bytes(name)), size)
    return font


def _pil_measure(font: str) -> Measure:
    return lambda text, size: _pil_font(font, int(size)).getlength(text)


@dataclass(frozen=True)
class _PngText:
    """Text fitted for the PNG, ready to draw; ``height`` is what its lines take."""

    fitted: FittedText
    font: str
    colour: tuple[int, int, int]

    @property
    def height(self) -> float:
        return len(self.fitted.lines) * self.fitted.size * LEADING


def _png_text(
    text: str,
    font: str,
    width: float,
    colour: tuple[int, int, int],
    *,
    largest: int,
    smallest: int | None = None,
    max_lines: int = 1,
) -> _PngText:
    fitted = fit_text(
        text,
        _pil_measure(font),
        width,
        largest=largest,
        smallest=largest if smallest is None else smallest,
        max_lines=max_lines,
        step=1,
    )
    return _PngText(fitted, font, colour)


def _png_label(text: str, width: float) -> _PngText:
    return _png_text(text, REGULAR, width, _MUTED, largest=28, smallest=22)


def _draw_png_text(
    draw: ImageDraw.ImageDraw, text: _PngText, x: float, top: float, *, centre_in: float = 0
) -> float:
    """Draw ``text`` with its top at ``top`` (centred in ``centre_in`` pixels from ``x``, if
    given); returns the y below it."""
    font = _pil_font(text.font, int(text.fitted.size))
    for line in text.fitted.lines:
        if centre_in:
            draw.text((x + centre_in / 2, top), line, text.colour, font, anchor="ma")
        else:
            draw.text((x, top), line, text.colour, font, anchor="la")
        top += text.fitted.size * LEADING
    return top


def _render_png(face: CardFace, modules: list[list[bool]]) -> bytes:
    count = len(modules) + 2 * QUIET_ZONE
    module = max(PNG_MIN_MODULE, 600 // count)
    margin = 56
    inner = PNG_WIDTH - 2 * margin
    half = inner // 2
    gap = 30

    programme = _png_text(
        face.programme_name, BOLD, inner, _WHITE, largest=52, smallest=36, max_lines=2
    )
    kind = _png_text(CARD_TYPE_LABELS[face.card_type], REGULAR, inner, _WHITE, largest=34)
    band = int(44 + programme.height + 6 + kind.height + 30)
    valid_until = WITHOUT_END if face.valid_until is None else _german_date(face.valid_until)
    # Rows of (caption, value) columns; a row of two has half-width columns.
    name = _png_text(face.holder_name, BOLD, inner, _INK, largest=64, smallest=40, max_lines=2)
    number = _png_text(format_card_number(face.card_number), BOLD, inner, _INK, largest=52)
    valid_from = _png_text(_german_date(face.valid_from), BOLD, half, _INK, largest=44)
    office = _png_text(face.office_name, REGULAR, inner, _INK, largest=38, smallest=28, max_lines=2)
    rows = [
        [(_png_label("Name", inner), name)],
        [(_png_label("Kartennummer", inner), number)],
        [
            (_png_label("Gültig ab", half), valid_from),
            (_png_label("Gültig bis", half), _png_text(valid_until, BOLD, half, _INK, largest=44)),
        ],
        [(_png_label("Ausgestellt von", inner), office)],
    ]
    row_heights = [max(caption.height + 4 + value.height for caption, value in row) for row in rows]
    check = _png_text(
        _check_line(face.url), REGULAR, inner, _MUTED, largest=30, smallest=22, max_lines=2
    )

    side = count * module
    height = band + 44 + sum(row_heights) + gap * len(rows) + 6 + 20 + side + 8 + check.height + 40
    image = Image.new("RGB", (PNG_WIDTH, int(height)), _WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, PNG_WIDTH, band - 1), fill=_BAND_COLOURS[face.card_type])
    top = _draw_png_text(draw, programme, margin, 44)
    _draw_png_text(draw, kind, margin, top + 6)

    top = band + 44
    for row, row_height in zip(rows, row_heights, strict=True):
        for column, (caption, value) in enumerate(row):
            x = margin + column * half
            _draw_png_text(draw, value, x, _draw_png_text(draw, caption, x, top) + 4)
        top += row_height + gap

    top += 6
    draw.line((margin, top, PNG_WIDTH - margin, top), fill=_RULE, width=2)
    qr_top = int(top) + 20
    image.paste(_qr_image(modules, module), ((PNG_WIDTH - side) // 2, qr_top))
    _draw_png_text(draw, check, margin, qr_top + side + 8, centre_in=inner)

    buffer = io.BytesIO()
    # A fixed palette keeps the QR code's black and white exact and the file small;
    # level 7 is as small as 9 within 2 % at a fraction of the time.
    palette_image = image.quantize(palette=_png_palette(face.card_type), dither=Image.Dither.NONE)
    palette_image.save(buffer, "PNG", compress_level=7)
    return buffer.getvalue()


@functools.cache
def _png_palette(card_type: CardType) -> Image.Image:
    """16 colours: those drawn, and steps between text and background for smooth edges."""
    band = _BAND_COLOURS[card_type]
    colours = [_WHITE, _BLACK, _INK, _MUTED, _RULE, band]
    colours += _blend(_INK, _WHITE, 4) + _blend(_MUTED, _WHITE, 3) + _blend(_WHITE, band, 3)
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for colour in colours for channel in colour])
    return palette


def _blend(
    start: tuple[int, int, int], end: tuple[int, int, int], steps: int
) -> list[tuple[int, int, int]]:
    """``steps`` colours evenly between ``start`` and ``end`` (both excluded)."""
    return [
        (
            round(start[0] + (end[0] - start[0]) * step / (steps + 1)),
            round(start[1] + (end[1] - start[1]) * step / (steps + 1)),
            round(start[2] + (end[2] - start[2]) * step / (steps + 1)),
        )
        for step in range(1, steps + 1)
    ]


def _qr_image(modules: list[list[bool]], module: int) -> Image.Image:
    """The QR code with its quiet zone, each module exactly ``module`` pixels square."""
    count = len(modules) + 2 * QUIET_ZONE
    quiet = b"\xff" * QUIET_ZONE
    data = bytearray(b"\xff" * count * QUIET_ZONE)
    for row in modules:
        data += quiet + bytes(0 if dark else 255 for dark in row) + quiet
    data += b"\xff" * count * QUIET_ZONE
    small = Image.frombytes("L", (count, count), bytes(data))
    # An integer factor with nearest neighbour copies pixels: no blur, no resampling.
    return small.resize((count * module, count * module), Image.Resampling.NEAREST)
