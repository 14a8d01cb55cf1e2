"""Partners and benefits as CSV: export for staff, import with a dry run."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from ehrenamt.accounts import users
from ehrenamt.core import spreadsheet
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.text import CONTROL_CHARACTERS
from ehrenamt.extensions import db
from ehrenamt.models import (
    Office,
    Partner,
    PartnerState,
    utcnow,
)
from ehrenamt.partners.benefits import BenefitInput, sync_benefit
from ehrenamt.partners.categories import list_categories
from ehrenamt.partners.registration import PartnerInput, new_partner

#: Columns of the CSV export and import, in order.
CSV_COLUMNS = [
    "name",
    "category",
    "street",
    "postcode",
    "town",
    "email",
    "website",
    "phone",
    "description",
    "latitude",
    "longitude",
    "state",
    "benefit_title",
    "benefit_description",
]


def export_csv(office_id: int) -> str:
    """The office's partners as CSV (one line per partner, its first benefit beside it);
    cells that a spreadsheet would run as a formula are defused (core.spreadsheet)."""
    slugs = {c.id: c.slug for c in list_categories()}
    query = select(Partner).where(Partner.office_id == office_id).order_by(Partner.name, Partner.id)
    rows = []
    for partner in db.session.scalars(query):
        first = partner.benefits[0] if partner.benefits else None
        rows.append(
            [
                partner.name,
                slugs.get(partner.category_id, ""),
                partner.street,
                partner.postcode,
                partner.town,
                partner.email,
                partner.website,
                partner.phone,
                partner.description,
                partner.latitude,
                partner.longitude,
                partner.state.value,
                first.title if first else None,
                first.description if first else None,
            ]
        )
    return spreadsheet.csv_text(CSV_COLUMNS, rows)


@dataclass
class ImportReport:
    """What an import did or would do; errors by line number (1 is the header)."""

    rows: int = 0
    errors: dict[int, list[str]] = field(default_factory=dict)
    imported: bool = False


#: The places of the coordinate columns: 1E-999999999 is in range, but no column takes it.
COORDINATE_PLACES = Decimal("0.000001")


def _decimal(value: str, low: int, high: int) -> Decimal | None:
    if not value.strip():
        return None
    number = Decimal(value.strip())
    if not number.is_finite() or not low <= number <= high:
        raise InvalidOperation
    return number.quantize(COORDINATE_PLACES)


def _parse_csv_line(
    row: dict[str, str], slugs: dict[str, int], seen: set[str]
) -> tuple[PartnerInput | None, BenefitInput | None, list[str]]:
    errors: list[str] = []
    # Our own export's quote comes off first, so an exported file imports unchanged.
    value = {k: spreadsheet.unquote_cell((row.get(k) or "").strip()).strip() for k in CSV_COLUMNS}
    if any(CONTROL_CHARACTERS.search(text) for text in value.values()):
        # PostgreSQL cannot store a NUL; no other control character belongs in a field.
        return None, None, [_("Die Zeile enthält Steuerzeichen.")]
    for column, text in value.items():
        if spreadsheet.is_formula(text):
            # Refused, not quoted: a stored quote would show on the website and in mails,
            # and the staff member can correct the file (export neutralises anyway).
            errors.append(
                _(
                    "Spalte „%(column)s“ beginnt wie eine Tabellenformel. "
                    "Bitte entfernen Sie das =, +, - oder @ am Anfang.",
                    column=column,
                )
            )
    for required in ("name", "category", "street", "postcode", "town", "email"):
        if not value[required]:
            errors.append(_("Spalte „%(column)s“ fehlt.", column=required))
    category_id = slugs.get(value["category"].lower())
    if value["category"] and category_id is None:
        errors.append(_("Unbekannte Kategorie „%(value)s“.", value=value["category"]))
    if value["postcode"] and not (value["postcode"].isdigit() and len(value["postcode"]) == 5):
        errors.append(_("Die Postleitzahl muss fünf Ziffern haben."))
    email = users.normalise_email(value["email"])
    if email and ("@" not in email or " " in email):
        errors.append(_("Die E-Mail-Adresse ist ungültig."))
    elif email in seen:
        errors.append(_("Die E-Mail-Adresse steht mehrfach in der Datei."))
    seen.add(email)
    latitude = longitude = None
    try:
        latitude = _decimal(value["latitude"], -90, 90)
        longitude = _decimal(value["longitude"], -180, 180)
    except InvalidOperation:
        errors.append(_("Die Koordinaten sind ungültig."))
    if errors or category_id is None:
        return None, None, errors
    data = PartnerInput(
        name=value["name"][:200],
        category_id=category_id,
        street=value["street"][:200],
        postcode=value["postcode"],
        town=value["town"][:100],
        email=email,
        website=value["website"][:300] or None,
        phone=value["phone"][:40] or None,
        description=value["description"] or None,
        latitude=latitude,
        longitude=longitude,
    )
    benefit = (
        BenefitInput(value["benefit_title"][:200], value["benefit_description"] or None)
        if value["benefit_title"]
        else None
    )
    return data, benefit, []


def import_csv(office: Office, content: str, acting: Acting, *, dry_run: bool) -> ImportReport:
    """Import partners (approved, no accounts yet) from CSV; all lines or none.

    Every line is checked first; when any line has an error nothing is written. With
    ``dry_run`` nothing is written either way.
    """
    check_staff(acting, office.id, office.slug)
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    slugs = {c.slug: c.id for c in list_categories()}
    seen: set[str] = set()
    parsed: list[tuple[PartnerInput, BenefitInput | None]] = []
    line = 0  # the last line read: the header is 1, the records follow
    try:
        fieldnames = reader.fieldnames or []
        line = 1
        missing = [c for c in ("name", "category", "postcode", "email") if c not in fieldnames]
        if missing:
            report.errors[1] = [_("Spalte „%(column)s“ fehlt.", column=c) for c in missing]
            return report
        for line, row in enumerate(reader, start=2):
            report.rows += 1
            data, benefit, errors = _parse_csv_line(row, slugs, seen)
            if errors:
                report.errors[line] = errors
            elif data is not None:
                parsed.append((data, benefit))
    except csv.Error:
        # The csv module gives up on a field over its limit (131,072 characters): the
        # line it stopped at is reported (the header, or the one after the last record
        # read), and nothing is imported.
        report.errors[line + 1] = [_("Die Zeile ist kein gültiges CSV (ein Feld ist zu lang).")]
    if report.errors or dry_run:
        return report
    # One transaction: a failure on any line rolls back every line before it.
    try:
        for data, benefit in parsed:
            partner = new_partner(office, data, [benefit] if benefit else [])
            partner.state = PartnerState.APPROVED
            # Staff vouch for the file's addresses: no account exists yet to mail a link.
            partner.decided_at = partner.email_confirmed_at = utcnow()
            for item in partner.benefits:
                sync_benefit(item, partner)
            db.session.flush()
            record_change(acting, partner, AuditAction.IMPORT, to_state=PartnerState.APPROVED)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    report.imported = True
    return report
