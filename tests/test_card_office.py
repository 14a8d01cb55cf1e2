"""The card shows its office: the logo on the front, the return address for a found card
and a line of thanks on the back; still ID-1, fonts embedded, the QR code decodes."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

import pypdfium2.raw as pdfium_c
from PIL import Image, ImageChops

from ehrenamt.cardformat.layout import CARD_HEIGHT, CARD_WIDTH, CardFace
from ehrenamt.cardformat.render import render_pdf, render_png
from ehrenamt.cards.production import face_of
from ehrenamt.extensions import db
from ehrenamt.models import CardType
from tests.factories import make_application, make_office
from tests.privacy_data import make_card
from tests.test_card_render import (
    MM,
    assert_verifies,
    decode_qr,
    make_face,
    page_lines,
    pdf_document,
)

ADDRESS = ("Amt für Ehrenamt und Bürgerdienste", "Zerbster Straße 4", "06844 Dessau-Roßlau")


def red_logo(size: tuple[int, int] = (200, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0xC8, 0x10, 0x2E, 255)).save(out, format="PNG")
    return out.getvalue()


def office_face(card_type: CardType = CardType.STANDARD, **changes: object) -> CardFace:
    face = make_face("Erika Mustermann", card_type)
    return dataclasses.replace(
        face, **{"office_logo": red_logo(), "return_address": ADDRESS, **changes}
    )


def test_the_back_gives_the_return_address_and_thanks() -> None:
    face = office_face()
    lines = page_lines(render_pdf(face), 1)
    text = " ".join(lines)
    assert "Gefunden? Bitte abgeben oder senden an:" in text
    assert "Stadt Dessau-Roßlau" in lines
    for line in ADDRESS:
        assert line in lines
    assert "Danke für Ihr Engagement!" in lines


def test_the_front_shows_the_logo_at_the_top_right_beside_the_name() -> None:
    # A name long enough to reach the logo if it were set across the whole card.
    face = office_face(holder_name="Maximiliane-Charlotte Zoë Ağaoğlu-Śliwińska von Anhalt")
    data = render_pdf(face)
    with pdf_document(data) as document:
        front = document[0]
        (logo,) = front.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
        left, bottom, right, top = logo.get_bounds()
        # Inside the card, right of its middle, below the band; at most 20 × 13 mm.
        assert CARD_WIDTH / 2 < left < right <= CARD_WIDTH - 4.9 * MM
        assert top <= CARD_HEIGHT - 15 * MM and bottom > 22 * MM
        assert right - left <= 20.01 * MM and top - bottom <= 13.01 * MM
        picture = front.render(scale=8).to_pil().convert("RGB")
    x = int((left + right) / 2 * 8)
    y = int((CARD_HEIGHT - (top + bottom) / 2) * 8)
    assert picture.getpixel((x, y)) == (0xC8, 0x10, 0x2E)
    # The name is set beside the logo, not under it.
    with pdf_document(data) as document:
        for text in document[0].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT]):
            _, t_bottom, t_right, t_top = text.get_bounds()
            overlaps_vertically = t_bottom < top and t_top > bottom
            assert not (overlaps_vertically and t_right > left), "text runs into the logo"


def test_a_wide_logo_and_a_long_address_stay_on_the_card() -> None:
    face = office_face(
        office_logo=red_logo((900, 60)),
        return_address=(
            "Landkreis Mecklenburgische Seenplatte, Fachdienst Ehrenamt und Bürgerbeteiligung",
            "Platanenstraße 43 (Eingang über den Hof, Haus B, Zimmer 2.017)",
            "17033 Neubrandenburg",
            "Postfach 11 02 64",
        ),
        office_name="Landkreis Mecklenburgische Seenplatte – Der Landrat",
    )
    data = render_pdf(face)
    with pdf_document(data) as document:
        assert len(document) == 2
        for page in document:
            width, height = page.get_size()
            assert abs(width - CARD_WIDTH) < 0.01 and abs(height - CARD_HEIGHT) < 0.01
            for text in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT]):
                left, bottom, right, top = text.get_bounds()
                assert left > 0 and right < CARD_WIDTH and bottom > 0 and top < CARD_HEIGHT
                font = pdfium_c.FPDFTextObj_GetFont(text.raw)
                assert pdfium_c.FPDFFont_GetIsEmbedded(font)
        # The QR code still scans to the signed URL.
        (result,) = decode_qr(document[1].render(scale=8).to_pil())
    assert_verifies(result.text, face)
    # The phone's PNG too.
    (result,) = decode_qr(Image.open(io.BytesIO(render_png(face))))
    assert_verifies(result.text, face)


def test_the_office_face_is_deterministic() -> None:
    face = office_face(CardType.LONG_SERVICE)
    assert render_pdf(face) == render_pdf(face)
    assert render_pdf(face) != render_pdf(dataclasses.replace(face, office_logo=None))
    assert render_png(face) == render_png(face)
    assert render_png(face) != render_png(dataclasses.replace(face, office_logo=None))


def test_an_issued_card_carries_its_offices_logo_and_address(ctx: None) -> None:
    office = make_office()
    office.logo_png = red_logo()
    office.postal_address = "\n".join(ADDRESS)
    db.session.commit()
    card = make_card(make_application(office), valid_from=date(2026, 3, 1), valid_until=None)
    face = face_of(card, b"token")
    assert face.office_logo == office.logo_png
    assert face.return_address == ADDRESS
    assert face.office_name == office.name


# --- The phone's PNG -------------------------------------------------------------------------

RED = (0xC8, 0x10, 0x2E)
WHITE = (255, 255, 255)


def png_of(face: CardFace) -> Image.Image:
    return Image.open(io.BytesIO(render_png(face))).convert("RGB")


def band_bottom(image: Image.Image) -> int:
    """The first row below the coloured band at the top."""
    return next(y for y in range(image.height) if image.getpixel((4, y)) == WHITE)


def red_box(image: Image.Image) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the logo's red pixels."""
    difference = ImageChops.difference(image, Image.new("RGB", image.size, RED))
    red, green, blue = (
        channel.point(lambda v: 255 if v == 0 else 0) for channel in difference.split()
    )
    box = ImageChops.darker(ImageChops.darker(red, green), blue).getbbox()
    assert box is not None, "no pixel of the logo"
    return box


def assert_qr_scans_in_black_and_white(image: Image.Image, face: CardFace) -> None:
    (result,) = decode_qr(image)
    assert_verifies(result.text, face)
    position = result.position
    symbol = image.crop(
        (position.top_left.x, position.top_left.y, position.bottom_right.x, position.bottom_right.y)
    )
    assert {colour for _, colour in symbol.getcolors(maxcolors=1 << 16) or []} == {
        (0, 0, 0),
        WHITE,
    }


def test_the_phone_card_shows_the_logo_where_the_printed_card_does() -> None:
    # A name long enough to reach the logo if it were set across the whole card.
    name = "Maximiliane-Charlotte Zoë Ağaoğlu-Śliwińska von Anhalt"
    face = dataclasses.replace(make_face(name), office_logo=red_logo())
    image = png_of(face)
    left, top, right, bottom = red_box(image)
    # Top right, just below the band, flush with the text's right margin (56 px).
    assert right == image.width - 56
    assert 0 < top - band_bottom(image) < 40
    assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) == RED
    # The same share of the card's width as on the printed card, the 200 × 240 kept.
    with pdf_document(render_pdf(face)) as document:
        (logo,) = document[0].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
        pdf_left, pdf_bottom, pdf_right, pdf_top = logo.get_bounds()
    assert abs((bottom - top) / image.width - (pdf_top - pdf_bottom) / CARD_WIDTH) < 0.002
    assert abs((right - left) / image.width - (pdf_right - pdf_left) / CARD_WIDTH) < 0.002
    assert abs((right - left) / (bottom - top) - 200 / 240) < 0.02
    # The name beside it keeps a gap: nothing but background left of the logo, and the
    # rows below begin below it.
    beside = image.crop((left - 30, top, left, bottom))
    assert beside.getcolors() == [(30 * (bottom - top), WHITE)]
    below = image.crop((0, bottom, image.width, bottom + 25))
    assert below.getcolors() == [(image.width * 25, WHITE)]
    assert_qr_scans_in_black_and_white(image, face)


def test_without_a_logo_the_phone_cards_logo_box_is_background() -> None:
    # A short name: a long one runs across the whole card when there is no logo.
    face = dataclasses.replace(make_face("Hans Meier"), return_address=ADDRESS)
    image = png_of(face)
    top = band_bottom(image)
    box = image.crop((image.width - 56 - 234, top + 29, image.width - 56, top + 29 + 152))
    assert box.getcolors() == [(234 * 152, WHITE)]
    assert_qr_scans_in_black_and_white(image, face)


def test_a_small_logo_is_enlarged_at_most_twice_on_the_phone_card() -> None:
    image = png_of(office_face(office_logo=red_logo((30, 36))))
    left, top, right, bottom = red_box(image)
    assert (right - left, bottom - top) == (60, 72)


def test_a_transparent_logo_stands_on_the_cards_white() -> None:
    picture = Image.new("RGBA", (200, 240), (0, 0, 0, 0))
    picture.paste((*RED, 255), (100, 0, 200, 240))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    image = png_of(office_face(office_logo=out.getvalue()))
    left, top, right, bottom = red_box(image)
    assert right == image.width - 56
    # Only the right half is red; where the logo is transparent the card is white.
    # (A few pixels next to the red are its smoothed edge.)
    assert image.crop((left - 60, top, left - 5, bottom)).getcolors() == [
        (55 * (bottom - top), WHITE)
    ]
