"""The office's logo: PNG or SVG checked on the bytes, size-limited, stored and served
only as a PNG the app made, with a strict Content-Security-Policy."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, Office, UserRole
from tests.factories import make_office, make_user
from tests.helpers import csrf_token, page_text, sign_in

PAGE = "/verwaltung/einstellungen/amt"
UPLOAD = "/verwaltung/einstellungen/amt/logo"

#: A coat of arms: a red shield on a transparent ground.
SHIELD_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 120" width="100" height="120">
  <path d="M5 5h90v55c0 30-20 48-45 55C25 108 5 90 5 60z" fill="#c8102e"/>
</svg>"""


def png_bytes(size: tuple[int, int] = (60, 40), colour: str = "#0b4f8a", text: str = "") -> bytes:
    out = io.BytesIO()
    info = PngInfo()
    if text:
        info.add_text("Comment", text)
    Image.new("RGB", size, colour).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def upload(client: FlaskClient, data: bytes, name: str = "logo.png") -> tuple[int, str]:
    response = client.post(
        UPLOAD,
        data={"csrf_token": csrf_token(client, PAGE), "logo": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    return response.status_code, page_text(response)


def stored(office: Office) -> Image.Image:
    db.session.refresh(office)
    assert office.logo_png is not None
    image = Image.open(io.BytesIO(office.logo_png))
    assert image.format == "PNG"
    return image


@pytest.fixture
def admin_client(client: FlaskClient, ctx: None) -> tuple[FlaskClient, Office]:
    office = make_office()
    sign_in(client, make_user(UserRole.ADMIN, office))
    return client, office


def test_a_png_is_stored_anew_and_served_as_an_inert_png(
    admin_client: tuple[FlaskClient, Office],
) -> None:
    client, office = admin_client
    # Text chunks (metadata, a polyglot's payload) do not survive re-encoding.
    status, _ = upload(client, png_bytes(text="<script>alert(1)</script>"))
    assert status == 302
    image = stored(office)
    assert image.size == (60, 40)
    assert b"<script>" not in (office.logo_png or b"")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "office")).one()
    assert entry.action == "update_office" and entry.reason == "logo: new"

    visitor = client.application.test_client()
    response = visitor.get(f"/amt/{office.slug}/logo.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data == office.logo_png
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    again = visitor.get(
        f"/amt/{office.slug}/logo.png", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    # Every page's header shows it.
    assert f'src="/amt/{office.slug}/logo.png"' in page_text(visitor.get("/"))


def test_an_svg_is_rasterised(admin_client: tuple[FlaskClient, Office]) -> None:
    client, office = admin_client
    status, _ = upload(client, SHIELD_SVG, "wappen.svg")
    assert status == 302
    image = stored(office).convert("RGBA")
    assert max(image.size) <= 400 and image.width < image.height  # the shield's shape
    red, green, blue, alpha = image.getpixel((image.width // 2, image.height // 3))
    assert (red, green, blue, alpha) == (0xC8, 0x10, 0x2E, 255)
    assert not (office.logo_png or b"").lstrip().startswith(b"<")


def test_without_the_cairo_library_svg_is_refused_and_png_still_taken(
    admin_client: tuple[FlaskClient, Office], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CairoSVG cannot load without the system's cairo: the page says to upload a PNG."""
    client, _office = admin_client
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # import now fails, as without cairo
    status, page = upload(client, SHIELD_SVG, "wappen.svg")
    assert status == 400
    assert "Bitte laden Sie eine PNG-Datei hoch" in page
    status, _ = upload(client, png_bytes(), "logo.png")
    assert status == 302


def test_an_svg_may_load_nothing(admin_client: tuple[FlaskClient, Office], tmp_path: Path) -> None:
    """A file of the server (or any URL) referenced from an SVG is never fetched, so its
    pixels cannot end up in a public picture; scripts do nothing in a raster image."""
    client, office = admin_client
    secret = tmp_path / "secret.png"
    Image.new("RGB", (100, 100), "#00ff00").save(secret)
    svg = f"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
        viewBox="0 0 100 100" width="100" height="100">
      <rect width="100" height="100" fill="#0000ff"/>
      <image href="file://{secret}" xlink:href="file://{secret}" width="100" height="100"/>
      <script>alert(document.cookie)</script>
    </svg>""".encode()
    status, _ = upload(client, svg, "logo.svg")
    assert status == 302
    image = stored(office).convert("RGB")
    assert image.getpixel((image.width // 2, image.height // 2)) == (0, 0, 255)
    assert b"script" not in (office.logo_png or b"")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "logo.gif"),
        (b"<html><script>alert(1)</script></html>", "logo.svg"),
        (b"%PDF-1.4\n%%EOF\n", "logo.png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "logo.png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><g>", "broken.svg"),
        (b"", "empty.png"),
    ],
)
def test_other_files_are_refused_at_the_field(
    admin_client: tuple[FlaskClient, Office], data: bytes, name: str
) -> None:
    client, office = admin_client
    status, html = upload(client, data, name)
    assert status == 400
    assert 'id="logo-error"' in html
    db.session.refresh(office)
    assert office.logo_png is None


def test_the_size_is_limited(
    app: Flask, admin_client: tuple[FlaskClient, Office], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, office = admin_client
    monkeypatch.setitem(app.config, "LOGO_MAX_BYTES", 2048)
    status, html = upload(client, png_bytes(size=(300, 300), text="x" * 4096))
    assert status == 400 and "2 KB" in html
    # A picture whose header claims a huge size is refused before it is decoded.
    monkeypatch.setitem(app.config, "LOGO_MAX_BYTES", 512 * 1024)
    out = io.BytesIO()
    Image.new("1", (5000, 5000)).save(out, format="PNG")
    status, html = upload(client, out.getvalue())
    assert status == 400 and "4096" in html
    db.session.refresh(office)
    assert office.logo_png is None


def test_the_logo_is_removed_and_others_cannot_touch_it(
    admin_client: tuple[FlaskClient, Office],
) -> None:
    client, office = admin_client
    assert upload(client, png_bytes())[0] == 302
    # A clerk of the office may not replace or remove it.
    clerk = client.application.test_client()
    sign_in(clerk, make_user(UserRole.CLERK, office))
    response = clerk.post(
        "/verwaltung/einstellungen/amt/logo/entfernen",
        data={"csrf_token": csrf_token(clerk, "/verwaltung/briefe/")},
    )
    assert response.status_code == 403
    # The admin of another office removes only her own (none).
    other = client.application.test_client()
    sign_in(other, make_user(UserRole.ADMIN, make_office()))
    other.post(
        "/verwaltung/einstellungen/amt/logo/entfernen",
        data={"csrf_token": csrf_token(other, PAGE)},
    )
    db.session.refresh(office)
    assert office.logo_png is not None
    # Her own admin does.
    response = client.post(
        "/verwaltung/einstellungen/amt/logo/entfernen",
        data={"csrf_token": csrf_token(client, PAGE)},
    )
    assert response.status_code == 302
    db.session.refresh(office)
    assert office.logo_png is None
    assert client.get(f"/amt/{office.slug}/logo.png").status_code == 404
    assert client.get("/amt/no-such-office/logo.png").status_code == 404
