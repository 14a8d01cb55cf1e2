"""The card as a PNG for phones."""

from __future__ import annotations

import functools
import io
import threading
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from ehrenamt.cardformat.card_numbers import format_card_number
from ehrenamt.cardformat.card_type import CardType
from ehrenamt.cardformat.layout import (
    BAND_COLOURS,
    BLACK,
    BOLD,
    CARD_TYPE_LABELS,
    FONT_FILES,
    FONT_FOLDER,
    INK,
    LEADING,
    LOGO_BELOW_BAND,
    LOGO_BOX,
    LOGO_GAP,
    MUTED,
    PNG_MIN_MODULE,
    PNG_PER_POINT,
    PNG_WIDTH,
    QUIET_ZONE,
    REGULAR,
    RULE,
    WHITE,
    WITHOUT_END,
    CardFace,
    FittedText,
    Measure,
    check_line,
    fit_text,
    german_date,
    logo_size,
)

#: Most a logo's pixels are enlarged on the phone card. A logo stored at full size
#: (``LOGO_SIDE``, 400 px) only ever shrinks into the box; a small uploaded one grows at
#: most twice, beyond which its edges turn to blur, and stays smaller than the box instead.
PNG_LOGO_UPSCALE = 2.0

#: Colours of the card's own palette (:func:`_png_palette`); a logo gets the rest of 256.
CARD_COLOURS = 16


@functools.cache
def _font_bytes(name: str) -> bytes:
    return (FONT_FOLDER / FONT_FILES[name]).read_bytes()


#: Pillow fonts are not safe to share between threads: each thread loads its own.
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
        smallest=smallest,
        max_lines=max_lines,
        step=1,
    )
    return _PngText(fitted, font, colour)


def _png_label(text: str, width: float) -> _PngText:
    return _png_text(text, REGULAR, width, MUTED, largest=28, smallest=22)


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


def draw_card_png(face: CardFace, modules: list[list[bool]]) -> bytes:
    count = len(modules) + 2 * QUIET_ZONE
    module = max(PNG_MIN_MODULE, 600 // count)
    margin = 56
    inner = PNG_WIDTH - 2 * margin
    half = inner // 2
    gap = 30

    logo = _png_logo(face.office_logo) if face.office_logo else None
    # The same box as on the printed card, as the same share of the card's width.
    name_width = inner
    if logo is not None:
        name_width = inner - round((LOGO_BOX[0] + LOGO_GAP) * PNG_PER_POINT)

    programme = _png_text(
        face.programme_name, BOLD, inner, WHITE, largest=52, smallest=36, max_lines=2
    )
    kind = _png_text(CARD_TYPE_LABELS[face.card_type], REGULAR, inner, WHITE, largest=34)
    band = int(44 + programme.height + 6 + kind.height + 30)
    valid_until = WITHOUT_END if face.valid_until is None else german_date(face.valid_until)
    # Rows of (caption, value) columns; a row of two has half-width columns.
    name = _png_text(face.holder_name, BOLD, name_width, INK, largest=64, smallest=40, max_lines=2)
    number = _png_text(format_card_number(face.card_number), BOLD, inner, INK, largest=52)
    valid_from = _png_text(german_date(face.valid_from), BOLD, half, INK, largest=44)
    office = _png_text(face.office_name, REGULAR, inner, INK, largest=38, smallest=28, max_lines=2)
    rows = [
        [(_png_label("Name", name_width), name)],
        [(_png_label("Kartennummer", inner), number)],
        [
            (_png_label("Gültig ab", half), valid_from),
            (_png_label("Gültig bis", half), _png_text(valid_until, BOLD, half, INK, largest=44)),
        ],
        [(_png_label("Ausgestellt von", inner), office)],
    ]
    row_heights = [max(caption.height + 4 + value.height for caption, value in row) for row in rows]
    logo_top = band + round(LOGO_BELOW_BAND * PNG_PER_POINT)
    if logo is not None:
        # The rows below the name are as wide as the card: they begin below the logo.
        row_heights[0] = max(row_heights[0], logo_top + logo.height - (band + 44))
    check = _png_text(
        check_line(face.url), REGULAR, inner, MUTED, largest=30, smallest=22, max_lines=2
    )

    side = count * module
    height = band + 44 + sum(row_heights) + gap * len(rows) + 6 + 20 + side + 8 + check.height + 40
    image = Image.new("RGB", (PNG_WIDTH, int(height)), WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, PNG_WIDTH, band - 1), fill=BAND_COLOURS[face.card_type])
    top = _draw_png_text(draw, programme, margin, 44)
    _draw_png_text(draw, kind, margin, top + 6)

    top = band + 44
    for row, row_height in zip(rows, row_heights, strict=True):
        for column, (caption, value) in enumerate(row):
            x = margin + column * half
            _draw_png_text(draw, value, x, _draw_png_text(draw, caption, x, top) + 4)
        top += row_height + gap

    top += 6
    draw.line((margin, top, PNG_WIDTH - margin, top), fill=RULE, width=2)
    qr_top = int(top) + 20
    image.paste(_qr_image(modules, module), ((PNG_WIDTH - side) // 2, qr_top))
    _draw_png_text(draw, check, margin, qr_top + side + 8, centre_in=inner)

    buffer = io.BytesIO()
    # A fixed palette keeps the QR code's black and white exact and the file small;
    # level 7 is as small as 9 within 2 % at a fraction of the time.
    palette_image = image.quantize(palette=_png_palette(face.card_type), dither=Image.Dither.NONE)
    if logo is not None:
        _paste_logo(palette_image, logo, (PNG_WIDTH - margin - logo.width, logo_top))
    palette_image.save(buffer, "PNG", compress_level=7)
    return buffer.getvalue()


@functools.lru_cache(maxsize=16)
def _png_logo(png: bytes) -> Image.Image:
    """The office's logo at its size on the phone card, on the card's white ground, in
    colours of its own (at most 240: the card's 16 stay the first of the PNG's 256).

    Kept for the next card: a worker issues many cards of one office in a row.
    """
    with Image.open(io.BytesIO(png)) as source:
        source.load()
        picture = source.convert("RGBA")
    ground = Image.new("RGBA", picture.size, (*WHITE, 255))
    picture = Image.alpha_composite(ground, picture).convert("RGB")
    box = (LOGO_BOX[0] * PNG_PER_POINT, LOGO_BOX[1] * PNG_PER_POINT)
    width, height = logo_size(picture.size, box, upscale=PNG_LOGO_UPSCALE)
    size = (max(1, round(width)), max(1, round(height)))
    if size != picture.size:
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    return picture.quantize(colors=256 - CARD_COLOURS, dither=Image.Dither.NONE)


def _paste_logo(card: Image.Image, logo: Image.Image, corner: tuple[int, int]) -> None:
    """Put the logo into the card's palette image behind the card's own colours, so that
    no pixel of the card (the QR code's black and white above all) changes its colour."""
    card_colours = card.getpalette() or []
    logo_colours = logo.getpalette() or []
    offset = len(card_colours) // 3
    shifted = bytes((index + offset) % 256 for index in range(256))
    indices = Image.frombytes("P", logo.size, logo.tobytes().translate(shifted))
    card.paste(indices, corner)
    card.putpalette(card_colours + logo_colours[: 3 * (256 - offset)])


@functools.cache
def _png_palette(card_type: CardType) -> Image.Image:
    """16 colours: those drawn, and steps between text and background for smooth edges."""
    band = BAND_COLOURS[card_type]
    colours = [WHITE, BLACK, INK, MUTED, RULE, band]
    colours += _blend(INK, WHITE, 4) + _blend(MUTED, WHITE, 3) + _blend(WHITE, band, 3)
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
