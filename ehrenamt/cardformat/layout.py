"""What a card shows and how its text fits: faces, sizes, line breaks."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from reportlab.lib.units import mm

from ehrenamt.cardformat import qr as cardformat_qr
from ehrenamt.cardformat.card_type import CardType

#: The vendored fonts and their licence (LICENSE-DejaVu.txt).
FONT_FOLDER = Path(__file__).resolve().parent.parent / "static" / "fonts"


REGULAR = "DejaVuSans"


BOLD = "DejaVuSans-Bold"


FONT_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}


#: ISO/IEC 7810 ID-1, the size of a bank card, in PDF points.
CARD_WIDTH = 85.6 * mm


CARD_HEIGHT = 54.0 * mm


#: Width of the PNG in pixels; its height follows from the content.
PNG_WIDTH = 1000


#: PNG pixels per PDF point: what is placed on the printed card by size relative to the
#: card (the logo) takes the same share of the PNG's width.
PNG_PER_POINT = PNG_WIDTH / CARD_WIDTH


#: The office's logo on the front, right of the name, in both renderers: scaled into a
#: box this wide and high (aspect ratio kept), its top right corner LOGO_BELOW_BAND below
#: the coloured band at the right margin, LOGO_GAP clear of the name beside it. In points;
#: the PNG multiplies by PNG_PER_POINT.
LOGO_BOX = (20 * mm, 13 * mm)


LOGO_BELOW_BAND = 2.5 * mm


LOGO_GAP = 3 * mm


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
CAP_HEIGHT = 0.73


BAND_COLOURS = {CardType.STANDARD: (0x1F, 0x4E, 0x79), CardType.LONG_SERVICE: (0x6E, 0x2A, 0x45)}


WHITE = (255, 255, 255)


BLACK = (0, 0, 0)


INK = (0x1A, 0x1A, 0x1A)


MUTED = (0x5F, 0x63, 0x68)


RULE = (0xD0, 0xD4, 0xD9)


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
    #: The QR code's content: :func:`ehrenamt.cardformat.token.card_url` of the token.
    url: str
    # The office's face, not signed (it says nothing about the holder's entitlement):
    #: the office's logo or coat of arms, a PNG, printed on the front; None: none.
    office_logo: bytes | None = None
    #: Where a found card goes: the office's postal address below its name, one line
    #: each; empty: the back names only the office.
    return_address: tuple[str, ...] = ()


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


def fit_text(
    text: str,
    measure: Measure,
    width: float,
    *,
    largest: float,
    smallest: float | None = None,
    max_lines: int = 1,
    height: float | None = None,
    step: float = 0.25,
) -> FittedText:
    """Set ``text`` into a box ``width`` wide (and ``height`` high, if given).

    One line at ``largest`` size, shrinking down to ``smallest`` (by default ``largest``:
    no shrinking); then up to ``max_lines``
    lines, as large as the height allows, shrinking further (below ``smallest`` if need be)
    until every line fits. Lines break after spaces and hyphens; a word too wide for a line
    breaks after a slash or full stop, and failing that anywhere.
    """
    smallest = largest if smallest is None else smallest
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

    def added(piece: str) -> bool:
        """Put ``piece`` on the current line if it fits; else end that line (False)."""
        nonlocal current
        if fits(current + piece):
            current += piece
            return True
        if current.strip():
            lines.append(current.rstrip(" "))
        current = ""
        return False

    for word in _WORD_BREAKS.split(text):
        if added(word):
            continue
        for part in _PART_BREAKS.split(word):
            if added(part):
                continue
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


def logo_size(
    pixels: tuple[int, int], box: tuple[float, float], *, upscale: float | None = None
) -> tuple[float, float]:
    """Width and height of a logo of ``pixels`` scaled into ``box``, aspect ratio kept.

    ``upscale``: the most each of the logo's pixels may be enlarged (None: no limit); a
    small logo then stays smaller than the box rather than turning to blur.
    """
    pixel_width, pixel_height = pixels
    scale = min(box[0] / pixel_width, box[1] / pixel_height)
    if upscale is not None:
        scale = min(scale, upscale)
    return pixel_width * scale, pixel_height * scale


def qr_modules(url: str) -> list[list[bool]]:
    """The QR code's dark modules without quiet zone, row by row."""
    qr = cardformat_qr.make_qr_code(url)
    return [[bool(module) for module in row] for row in qr.modules]


def dark_runs(row: Sequence[bool]) -> list[tuple[int, int]]:
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


def german_date(day: date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"


def check_line(url: str) -> str:
    """Where to check a card by hand, e.g. ``ehrenamtskarte.example.org/karte``."""
    parts = urlsplit(url)
    return f"Prüfen: {parts.netloc}{parts.path}"


def found_note(office_name: str) -> str:
    """The back's note for a found card when the office has no postal address."""
    return f"Gefunden? Bitte bei der ausgebenden Stelle abgeben: {office_name}"


#: Above the return address on the back.
RETURN_CAPTION = "Gefunden? Bitte abgeben oder senden an:"


#: The card's last line: the office thanks the holder.
THANKS = "Danke für Ihr Engagement!"
