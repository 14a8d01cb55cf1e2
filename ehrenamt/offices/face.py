"""The office's face: its contact, opening hours, Impressum and logo, kept by its admin.

The logo is never stored or served as uploaded: a PNG is decoded and encoded anew, an
SVG is rasterised (CairoSVG, with every external reference refused), so what the app
serves is always a plain PNG it made itself and no uploaded markup ever reaches a browser.
"""

from __future__ import annotations

import io
import logging
from typing import IO

import filetype
from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from ehrenamt.core import audit
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting
from ehrenamt.core.uploads import UploadRejected, structure_ok
from ehrenamt.extensions import db
from ehrenamt.models import Office

log = logging.getLogger(__name__)

#: Lines of an office's postal address below its name (DIN 5008's letterhead and return
#: line have room for a department, the street and the town, and a PO box).
MAX_ADDRESS_LINES = 4

#: The settings the admin edits, in the order the audit row names them.
SETTINGS_FIELDS = ("name", "postal_address", "phone", "contact_email", "opening_hours", "imprint")

#: Longest side of the stored logo in pixels: sharp in the page header (about 48 CSS px
#: on a 3x screen) and on the card (12 mm at 600 dpi is 283 px).
LOGO_SIDE = 400
#: Largest picture we decode at all; a PNG's header may claim any size (a pixel bomb).
MAX_SOURCE_PIXELS = 4096 * 4096


def update_settings(office: Office, values: dict[str, str], acting: Acting) -> list[str]:
    """Save the admin's settings; the audit row names each changed field. Commits.

    Returns the names of the fields that changed (none: nothing is written).
    """
    check_staff(acting, office.id, office.slug)
    values = dict(values)
    lines = [line.strip() for line in values["postal_address"].splitlines() if line.strip()]
    values["postal_address"] = "\n".join(lines[:MAX_ADDRESS_LINES])
    for name in ("opening_hours", "imprint"):
        # Browsers send CRLF; the pages and the card split on plain line breaks.
        values[name] = "\n".join(line.rstrip() for line in values[name].splitlines())
    changed = []
    for name in SETTINGS_FIELDS:
        new = values[name].strip()
        if getattr(office, name) != new:
            changed.append(name)
            setattr(office, name, new)
    if not changed:
        return []
    # Office data, not a person's: the fields' names suffice to find the change.
    _audit_office_change(acting, office, "settings: " + ", ".join(changed))
    db.session.commit()
    return changed


def logo_png(stream: IO[bytes]) -> bytes:
    """The uploaded PNG or SVG as a PNG the app made itself, at most LOGO_SIDE pixels on
    its longest side; UploadRejected says what is wrong with the file."""
    limit = current_app.config["LOGO_MAX_BYTES"]
    data = stream.read(limit + 1)
    if not data:
        raise UploadRejected(_l("Die Datei ist leer."))
    if len(data) > limit:
        raise UploadRejected(_l("Die Datei ist zu groß (höchstens %(kb)s KB).", kb=limit // 1024))
    kind = filetype.guess(data)
    if kind is not None and kind.mime == "image/png" and structure_ok("image/png", data):
        return _reencoded(data)
    if kind is None and _looks_like_svg(data):
        return _reencoded(_rasterised(data))
    raise UploadRejected(_l("Bitte laden Sie eine PNG- oder SVG-Datei hoch."))


def _looks_like_svg(data: bytes) -> bool:
    """UTF-8 XML text whose root element is ``svg`` (checked again by the parser)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text and "<svg" in text[:4096]


def _rasterised(data: bytes) -> bytes:
    try:
        # Imported here: CairoSVG needs the system's cairo library (Debian's libcairo2),
        # which a machine without it lacks; the service then still runs and takes PNGs.
        import cairosvg
    except (ImportError, OSError):
        log.warning("SVG logos need the cairo library (libcairo2); only PNG is accepted")
        raise UploadRejected(
            _l("SVG-Dateien kann dieser Server nicht lesen. Bitte laden Sie eine PNG-Datei hoch.")
        ) from None
    try:
        # unsafe=False (said, not left to the default): XML entities and external DTDs
        # are refused, and references load nothing but data: URLs inside the file — no
        # file of the server, no URL of the network.
        png = cairosvg.svg2png(bytestring=data, output_width=LOGO_SIDE, unsafe=False)
    except Exception:
        log.info("an uploaded SVG logo could not be rasterised")
        raise UploadRejected(_l("Die SVG-Datei konnte nicht gelesen werden.")) from None
    if not png:
        raise UploadRejected(_l("Die SVG-Datei konnte nicht gelesen werden."))
    return bytes(png)


def _reencoded(data: bytes) -> bytes:
    """Decode and encode anew: drops metadata and anything after the image data."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            # The header's size, read before any pixel is decoded.
            too_large = image.width * image.height > MAX_SOURCE_PIXELS
            if not too_large:
                image.load()
                picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise UploadRejected(_l("Die PNG-Datei konnte nicht gelesen werden.")) from None
    if too_large:
        raise UploadRejected(_l("Das Bild ist zu groß (höchstens 4096 × 4096 Pixel)."))
    picture.thumbnail((LOGO_SIDE, LOGO_SIDE))
    bbox = picture.getbbox()  # trim transparent margins: the logo sits flush
    if bbox is None:
        raise UploadRejected(_l("Das Bild ist leer."))
    picture = picture.crop(bbox)
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def set_logo(office: Office, png: bytes | None, acting: Acting) -> None:
    """Store (or with None remove) the office's logo, a PNG from :func:`logo_png`;
    audited, commits."""
    check_staff(acting, office.id, office.slug)
    office.logo_png = png
    _audit_office_change(acting, office, "logo: new" if png else "logo: removed")
    db.session.commit()


def public_office(slug: str | None) -> Office | None:
    """The office pages without one of their own present (footer, Impressum): the one
    named by ``slug`` (PUBLIC_OFFICE_SLUG), else the first office created."""
    if slug:
        office = db.session.scalar(select(Office).where(Office.slug == slug))
        if office is not None:
            return office
    return db.session.scalar(select(Office).order_by(Office.id).limit(1))


def office_by_slug(slug: str) -> Office | None:
    """The office with this slug, if any."""
    return db.session.scalar(select(Office).where(Office.slug == slug))


def _audit_office_change(acting: Acting, office: Office, reason: str) -> None:
    """One audit row for a change of the office's face (settings or logo)."""
    audit.record(
        acting,
        subject_type=audit.Subject.OFFICE,
        subject_id=office.id,
        action=audit.AuditAction.UPDATE_OFFICE,
        office_id=office.id,
        reason=reason,
    )
