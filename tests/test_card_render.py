"""The printed card: an ID-1 PDF (front, back) and a PNG, both with a scannable QR code."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from ehrenamt.cardformat import qr
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.cardformat.card_numbers import format_card_number, new_card_number
from ehrenamt.cardformat.layout import (
    CARD_HEIGHT,
    CARD_WIDTH,
    PNG_MIN_MODULE,
    CardFace,
    FittedText,
    fit_text,
)
from ehrenamt.cardformat.pdf import pdf_text_width, unprintable_characters
from ehrenamt.cardformat.render import render_card, render_pdf, render_png
from ehrenamt.models import CardType

KEY = Ed25519PrivateKey.generate()
PUBLIC_KEYS = {cardformat_token.key_id(KEY.public_key()): KEY.public_key()}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BASE_URL = "https://ehrenamtskarte.example.org"
MM = 72 / 25.4
#: 200 characters, with letters outside Latin-1 and a word too long for one line.
LONG_NAME = (
    "Maximiliane-Charlotte Zoë Ağaoğlu-Śliwińska Søren Ǆemal "
    + "Übermäßiglangernachnamensbestandteil" * 4
)[:200]
NON_LATIN_1_NAMES = [
    "Łukasz Śliwiński",
    "Zoë Ağaoğlu",
    "Søren Ørsted",
    "Ǆemal Ǉubić",
    "Nguyễn Thị Minh Khai",
    "Ærøskøbing Þórðarson",
]


def make_face(
    name: str = "Erika Mustermann",
    card_type: CardType = CardType.STANDARD,
    *,
    office_name: str = "Stadt Dessau-Roßlau",
    base_url: str = BASE_URL,
) -> CardFace:
    """A face whose URL carries a token really signed for it, as the issuing service does."""
    valid_until = date(2029, 2, 28) if card_type is CardType.STANDARD else None
    claims = cardformat_token.CardClaims(
        card_number=new_card_number(),
        name=name,
        card_type=card_type,
        valid_until=valid_until,
        office="dessau-rosslau",
        issued_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )
    return CardFace(
        holder_name=name,
        card_number=claims.card_number,
        card_type=card_type,
        valid_from=date(2026, 3, 1),
        valid_until=valid_until,
        office_name=office_name,
        programme_name="Ehrenamtskarte Sachsen-Anhalt",
        url=cardformat_token.card_url(cardformat_token.sign_card(claims, KEY), base_url),
    )


@contextmanager
def pdf_document(data: bytes) -> Iterator[pdfium.PdfDocument]:
    document = pdfium.PdfDocument(data)
    try:
        yield document
    finally:
        document.close()


def page_text(data: bytes, index: int) -> str:
    with pdf_document(data) as document:
        return str(document[index].get_textpage().get_text_range())


def page_lines(data: bytes, index: int) -> list[str]:
    return page_text(data, index).splitlines()


def decode_qr(image: Image.Image) -> list[Any]:
    return [
        result
        for result in zxingcpp.read_barcodes(image)
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]


def assert_verifies(url: str, face: CardFace) -> None:
    """The scanned URL holds a genuine token for exactly what the card prints."""
    assert url == face.url
    card = cardformat_token.verify_token(cardformat_token.parse_card_url(url), PUBLIC_KEYS, NOW)
    assert card.claims.name == face.holder_name
    assert card.claims.card_number == face.card_number
    assert card.claims.valid_until == face.valid_until


# --- PNG -------------------------------------------------------------------------------------


@pytest.mark.parametrize("card_type", list(CardType))
def test_png_qr_code_scans_to_the_signed_url(card_type: CardType) -> None:
    face = make_face(card_type=card_type)
    image = Image.open(io.BytesIO(render_png(face)))
    results = decode_qr(image)
    assert len(results) == 1
    assert_verifies(results[0].text, face)


def test_png_qr_modules_are_whole_black_and_white_pixels() -> None:
    face = make_face()
    image = Image.open(io.BytesIO(render_png(face))).convert("RGB")
    assert image.width == 1000
    (result,) = decode_qr(image)
    position = result.position
    modules = len(qr.make_qr_code(face.url).modules)
    left, top = position.top_left.x, position.top_left.y
    right, bottom = position.bottom_right.x, position.bottom_right.y
    # zxing reports the centres of the outermost modules' corners: about one module less.
    module = (right - left) / (modules - 1)
    assert module >= PNG_MIN_MODULE
    symbol = image.crop((left, top, right, bottom))
    # No resampling: only pure black and pure white, no grey edges.
    assert {colour for _, colour in symbol.getcolors(maxcolors=1 << 16) or []} == {
        (0, 0, 0),
        (255, 255, 255),
    }


def test_png_is_small() -> None:
    assert len(render_png(make_face())) < 60_000


def test_png_of_a_long_name_still_scans() -> None:
    face = make_face(LONG_NAME, office_name="Landkreis Mecklenburgische Seenplatte " * 5)
    (result,) = decode_qr(Image.open(io.BytesIO(render_png(face))))
    assert_verifies(result.text, face)


# --- PDF -------------------------------------------------------------------------------------


def test_pdf_has_two_id1_pages() -> None:
    with pdf_document(render_pdf(make_face())) as document:
        assert len(document) == 2
        for page in document:
            width, height = page.get_size()
            assert abs(width / MM - 85.6) < 0.1
            assert abs(height / MM - 54.0) < 0.1


@pytest.mark.parametrize("card_type", list(CardType))
def test_pdf_back_qr_code_scans_to_the_signed_url(card_type: CardType) -> None:
    face = make_face(card_type=card_type)
    with pdf_document(render_pdf(face)) as document:
        image = document[1].render(scale=8).to_pil()
    results = decode_qr(image)
    assert len(results) == 1
    assert_verifies(results[0].text, face)


def test_pdf_qr_code_is_vector_and_large_enough() -> None:
    with pdf_document(render_pdf(make_face())) as document:
        back = document[1]
        assert not list(back.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
        paths = list(back.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]))
        # The path with the most segments is the code's dark modules, one rectangle per run.
        modules = max(paths, key=lambda path: pdfium_c.FPDFPath_CountSegments(path.raw))
        assert pdfium_c.FPDFPath_CountSegments(modules.raw) > 500
        left, bottom, right, top = modules.get_bounds()
    assert (right - left) / MM >= 30
    assert abs((right - left) - (top - bottom)) < 0.01


def test_pdf_front_shows_the_standard_card() -> None:
    face = make_face("Erika Müßig-Ehrenamt")
    lines = page_lines(render_pdf(face), 0)
    assert "Erika Müßig-Ehrenamt" in lines
    assert format_card_number(face.card_number) in lines
    assert "01.03.2026" in lines
    assert "28.02.2029" in lines
    assert "unbefristet" not in lines
    assert "Stadt Dessau-Roßlau" in lines
    assert "Ehrenamtskarte Sachsen-Anhalt" in lines
    assert "Ehrenamtskarte" in lines


def test_pdf_front_shows_a_long_service_card_without_end() -> None:
    face = make_face(card_type=CardType.LONG_SERVICE)
    text = page_text(render_pdf(face), 0)
    assert "unbefristet" in text.splitlines()
    assert "Jubiläumskarte" in text
    assert "Gültig bis" in text


def test_pdf_back_repeats_the_number_and_says_where_to_check() -> None:
    face = make_face(base_url="https://ehrenamtskarte.example.org")
    lines = page_lines(render_pdf(face), 1)
    assert format_card_number(face.card_number) in lines
    # On one line if the host name is short, else the host name on a line of its own.
    assert "Prüfen: ehrenamtskarte.example.org/karte" in " ".join(lines)
    assert any(line.startswith("Gefunden?") for line in lines)


@pytest.mark.parametrize("name", NON_LATIN_1_NAMES)
def test_names_beyond_latin_1_print_correctly(name: str) -> None:
    assert unprintable_characters(name) == set()
    face = make_face(name)
    assert name in page_lines(render_pdf(face), 0)
    (result,) = decode_qr(Image.open(io.BytesIO(render_png(face))))
    assert_verifies(result.text, face)


def test_unprintable_characters_names_the_missing_glyphs() -> None:
    assert unprintable_characters("Erika 李小龙") == {"李", "小", "龙"}


def test_a_200_character_name_stays_on_the_card() -> None:
    face = make_face(LONG_NAME)
    data = render_pdf(face)
    with pdf_document(data) as document:
        text_page = document[0].get_textpage()
        boxes = [text_page.get_charbox(index) for index in range(text_page.count_chars())]
    assert boxes
    for left, bottom, right, top in boxes:
        assert 0 <= left <= right <= CARD_WIDTH
        assert 0 <= bottom <= top <= CARD_HEIGHT
    # Printed in full, on two lines: only the spaces at the line break are gone.
    lines = page_lines(data, 0)
    start = lines.index("Name") + 1
    printed = lines[start : start + 2]
    assert "".join(printed).replace(" ", "") == LONG_NAME.replace(" ", "")


def test_long_names_shrink_then_wrap() -> None:
    def measure(text: str, size: float) -> float:
        return pdf_text_width(text, bold=True, size=size)

    width = 200.0
    short = fit_text("Erika Mustermann", measure, width, largest=12, smallest=8, max_lines=2)
    assert short == FittedText(12, ("Erika Mustermann",))
    shrunk = fit_text(
        "Maximiliane Müller-Lüdenscheid", measure, width, largest=12, smallest=8, max_lines=2
    )
    assert 8 <= shrunk.size < 12
    assert len(shrunk.lines) == 1
    wrapped = fit_text(
        "Maximiliane-Charlotte Müller-Lüdenscheid von Hohenstein",
        measure,
        width,
        largest=12,
        smallest=8,
        max_lines=2,
    )
    assert wrapped.lines == ("Maximiliane-Charlotte Müller-", "Lüdenscheid von Hohenstein")
    longest = fit_text(LONG_NAME, measure, width, largest=12, smallest=8, max_lines=2)
    assert len(longest.lines) == 2
    assert all(measure(line, longest.size) <= width for line in longest.lines)


def test_fitted_text_respects_the_height() -> None:
    def measure(text: str, size: float) -> float:
        return pdf_text_width(text, bold=False, size=size)

    fitted = fit_text(
        "Gefunden? Bitte bei der ausgebenden Stelle abgeben: " + "Landkreis " * 20,
        measure,
        100,
        largest=6,
        smallest=4.5,
        max_lines=7,
        height=40,
    )
    assert len(fitted.lines) * fitted.size * 1.2 <= 40
    assert all(measure(line, fitted.size) <= 100 for line in fitted.lines)


def test_pdf_metadata_names_the_card_only() -> None:
    face = make_face()
    with pdf_document(render_pdf(face)) as document:
        metadata = document.get_metadata_dict()
    number = format_card_number(face.card_number)
    assert metadata["Title"] == f"Ehrenamtskarte Sachsen-Anhalt – {number}"
    assert face.holder_name not in "".join(metadata.values())


def test_pdf_text_uses_embedded_fonts_only() -> None:
    with pdf_document(render_pdf(make_face("Łukasz Śliwiński"))) as document:
        for page in document:
            texts = list(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT]))
            assert texts
            for text in texts:
                font = pdfium_c.FPDFTextObj_GetFont(text.raw)
                assert pdfium_c.FPDFFont_GetIsEmbedded(font)


# --- Whole card ------------------------------------------------------------------------------


def test_output_is_deterministic() -> None:
    face = make_face("Zoë Ağaoğlu")
    first = render_card(face)
    render_card(make_face("Someone Else", CardType.LONG_SERVICE))
    again = render_card(face)
    assert first == again
    assert first.pdf == render_pdf(face)
    assert first.png == render_png(face)


def test_rendering_in_threads_gives_the_same_bytes() -> None:
    faces = [make_face(name) for name in NON_LATIN_1_NAMES * 2]
    alone = [render_card(face) for face in faces]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(render_card, faces))
    assert together == alone
