"""Partners (Akzeptanzstellen): registration, decisions by staff, benefits, colleagues,
CSV import/export, and the public directory of benefits.

The services own the transaction: each public function that changes data commits (mails
go out through the outbox after the commit).
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ehrenamt.extensions import db
from ehrenamt.models import (
    Benefit,
    Category,
    LinkPurpose,
    Office,
    Partner,
    PartnerMember,
    PartnerState,
    User,
    UserRole,
    Verification,
    utcnow,
)
from ehrenamt.services import accounts, audit, mail, outbox
from ehrenamt.services.audit import Acting
from ehrenamt.urls import external_url

#: The ten categories of the Bavarian Ehrenamtskarte. The same list seeds migration 0003;
#: migrations must not import application code, so it is repeated here for
#: :func:`ensure_categories` (tests and new databases made without the migration's seed).
CATEGORIES = [
    ("auto-zweirad", "Auto/Zweirad", "Cars/two-wheelers"),
    ("multimedia", "Multimedia", "Multimedia"),
    ("gesundheit-sport-wellness", "Gesundheit/Sport/Wellness", "Health/sport/wellness"),
    (
        "bildung-kultur-unterhaltung",
        "Bildung/Kultur/Unterhaltung",
        "Education/culture/entertainment",
    ),
    ("dienstleistungen-finanzen", "Dienstleistungen/Finanzen", "Services/finance"),
    ("mode-beauty", "Mode/Beauty", "Fashion/beauty"),
    ("wohnen-haus-garten", "Wohnen/Haus/Garten", "Home/house/garden"),
    ("freizeit-reise-unterkuenfte", "Freizeit/Reise/Unterkünfte", "Leisure/travel/accommodation"),
    ("essen-trinken-gastronomie", "Essen/Trinken/Gastronomie", "Food/drink/restaurants"),
    ("sonstiges", "Sonstiges", "Other"),
]

#: How long a colleague's invitation link works.
INVITATION_MAX_AGE_DAYS = 7


class PartnerError(Exception):
    """A partner operation that cannot be done."""


class AccountExists(PartnerError):
    """The e-mail address belongs to an account already."""


class NotPermitted(PartnerError):
    """The acting user may not do this (another office, another partner)."""


class Conflict(PartnerError):
    """The partner is not in the state the operation needs (someone acted first)."""


def ensure_categories() -> list[Category]:
    """Create the missing standard categories (idempotent); all categories in order."""
    existing = set(db.session.scalars(select(Category.slug)))
    for position, (slug, name, name_en) in enumerate(CATEGORIES):
        if slug not in existing:
            db.session.add(Category(slug=slug, name=name, name_en=name_en, position=position))
    db.session.commit()
    return list_categories()


def list_categories() -> list[Category]:
    """Every category, in the directory's order."""
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


def category_name(category: Category, language: str) -> str:
    """The category's name in the page's language."""
    return category.name_en if language == "en" else category.name


@dataclass
class PartnerInput:
    """A partner's profile as a form or a CSV line gives it."""

    name: str
    category_id: int
    street: str
    postcode: str
    town: str
    email: str
    website: str | None = None
    phone: str | None = None
    description: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None


@dataclass
class BenefitInput:
    """One benefit as the partner describes it."""

    title: str
    description: str | None = None
    conditions: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None


def _new_public_id() -> str:
    return secrets.token_urlsafe(16)


def _apply_profile(partner: Partner, data: PartnerInput) -> None:
    partner.name = data.name.strip()
    partner.category_id = data.category_id
    partner.street = data.street.strip()
    partner.postcode = data.postcode.strip()
    partner.town = data.town.strip()
    partner.email = accounts.normalise_email(data.email)
    partner.website = (data.website or "").strip() or None
    partner.phone = (data.phone or "").strip() or None
    partner.description = (data.description or "").strip() or None
    partner.latitude = data.latitude
    partner.longitude = data.longitude


def _sync_benefit(benefit: Benefit, partner: Partner) -> None:
    """Copy what the directory filters on from the partner, and derive ``published``."""
    benefit.category_id = partner.category_id
    benefit.postcode = partner.postcode
    benefit.published = partner.state == PartnerState.APPROVED and not benefit.unpublished_by_staff
    parts = [benefit.title, benefit.description, benefit.conditions, partner.name, partner.town]
    benefit.search_text = " ".join(p for p in parts if p).lower()


def _apply_benefit(benefit: Benefit, data: BenefitInput) -> None:
    benefit.title = data.title.strip()
    benefit.description = (data.description or "").strip() or None
    benefit.conditions = (data.conditions or "").strip() or None
    benefit.valid_from = data.valid_from
    benefit.valid_until = data.valid_until
    benefit.updated_at = utcnow()


def _new_partner(office: Office, data: PartnerInput, benefits: list[BenefitInput]) -> Partner:
    partner = Partner(public_id=_new_public_id(), office_id=office.id, state=PartnerState.PENDING)
    _apply_profile(partner, data)
    db.session.add(partner)
    for item in benefits:
        benefit = Benefit(public_id=_new_public_id())
        _apply_benefit(benefit, item)
        partner.benefits.append(benefit)
        _sync_benefit(benefit, partner)
    return partner


def register_partner(
    office: Office,
    data: PartnerInput,
    benefits: list[BenefitInput],
    *,
    password: str,
    contact_name: str = "",
    language: str = "de",
) -> Partner:
    """A business registers itself: a pending partner, its first account and benefits.

    The account signs in with the partner's e-mail address; the partner area opens once
    staff of ``office`` approve the registration.
    """
    if accounts.find_user(data.email) is not None:
        raise AccountExists(data.email)
    partner = _new_partner(office, data, benefits)
    user = accounts.create_user(
        data.email,
        UserRole.PARTNER,
        password=password,
        display_name=contact_name.strip() or data.name.strip(),
        language=language,
    )
    db.session.flush()
    db.session.add(PartnerMember(user_id=user.id, partner_id=partner.id))
    with force_locale(language):
        mail.queue_mail(
            partner.email,
            _("Ihre Registrierung als Akzeptanzstelle"),
            "partner_registered",
            partner=partner,
            office=office,
        )
    try:
        outbox.commit()
    except IntegrityError as error:
        # Someone registered the same address a moment ago (the unique e-mail index).
        raise AccountExists(data.email) from error
    return partner


def create_approved_partner(
    office: Office, data: PartnerInput, benefits: list[BenefitInput], account: User
) -> Partner:
    """An approved partner with ``account`` as its member (demo data, no mail)."""
    partner = _new_partner(office, data, benefits)
    partner.state = PartnerState.APPROVED
    partner.decided_at = utcnow()
    for benefit in partner.benefits:
        _sync_benefit(benefit, partner)
    db.session.flush()
    db.session.add(PartnerMember(user_id=account.id, partner_id=partner.id))
    _audit(partner, Acting.system(), "create", to_state=PartnerState.APPROVED)
    db.session.commit()
    return partner


def _decide(
    partner: Partner, acting: Acting, target: PartnerState, action: str, reason: str | None
) -> None:
    _check_staff(partner, acting, partner.public_id)
    # A conditional UPDATE: of two staff deciding at once only one wins.
    changed = db.session.execute(
        update(Partner)
        .where(Partner.id == partner.id, Partner.state == PartnerState.PENDING)
        .values(state=target, decided_at=utcnow(), decline_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        outbox.rollback()
        raise Conflict(partner.public_id)
    db.session.refresh(partner)
    for benefit in partner.benefits:
        _sync_benefit(benefit, partner)
    _audit(partner, acting, action, PartnerState.PENDING, target, reason)


def _check_staff(partner: Partner, acting: Acting, subject: str) -> User:
    """The acting user, who must be staff of the partner's own office."""
    if acting.user is None or acting.user.office_id != partner.office_id:
        raise NotPermitted(subject)
    return acting.user


def _audit(
    partner: Partner,
    acting: Acting,
    action: str,
    from_state: PartnerState | None = None,
    to_state: PartnerState | None = None,
    reason: str | None = None,
) -> None:
    """One audit row for an action on the partner (or one of its benefits)."""
    audit.record(
        acting,
        subject_type="partner",
        subject_id=partner.id,
        action=action,
        office_id=partner.office_id,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None,
        reason=reason,
    )


def _member_language(partner: Partner) -> str:
    language = db.session.scalar(
        select(User.language)
        .join(PartnerMember, PartnerMember.user_id == User.id)
        .where(PartnerMember.partner_id == partner.id)
        .order_by(PartnerMember.id)
        .limit(1)
    )
    return language or "de"


def approve_partner(partner: Partner, acting: Acting) -> None:
    """Staff of the partner's office approve it; its benefits go into the directory."""
    _decide(partner, acting, PartnerState.APPROVED, "approve", None)
    with force_locale(_member_language(partner)):
        mail.queue_mail(
            partner.email,
            _("Ihre Registrierung als Akzeptanzstelle ist bestätigt"),
            "partner_approved",
            partner=partner,
            link=external_url("auth.login"),
        )
    outbox.commit()


def decline_partner(partner: Partner, acting: Acting, reason: str) -> None:
    """Staff decline the registration; the reason is sent to the partner."""
    if not reason.strip():
        raise ValueError("a reason is required")
    _decide(partner, acting, PartnerState.DECLINED, "decline", reason.strip())
    with force_locale(_member_language(partner)):
        mail.queue_mail(
            partner.email,
            _("Ihre Registrierung als Akzeptanzstelle wurde abgelehnt"),
            "partner_declined",
            partner=partner,
            reason=reason.strip(),
        )
    outbox.commit()


def update_profile(partner: Partner, data: PartnerInput) -> None:
    """The partner edits its profile; its benefits follow at once."""
    _apply_profile(partner, data)
    for benefit in partner.benefits:
        _sync_benefit(benefit, partner)
    db.session.commit()


def add_benefit(partner: Partner, data: BenefitInput) -> Benefit:
    """A new benefit, in the directory at once if the partner is approved."""
    benefit = Benefit(public_id=_new_public_id())
    _apply_benefit(benefit, data)
    partner.benefits.append(benefit)
    _sync_benefit(benefit, partner)
    db.session.commit()
    return benefit


def update_benefit(benefit: Benefit, data: BenefitInput) -> None:
    """Changes to a benefit go live at once."""
    _apply_benefit(benefit, data)
    _sync_benefit(benefit, benefit.partner)
    db.session.commit()


def delete_benefit(benefit: Benefit) -> None:
    """The partner withdraws a benefit."""
    db.session.delete(benefit)
    db.session.commit()


def set_benefit_unpublished(
    benefit: Benefit, acting: Acting, *, unpublished: bool, note: str
) -> None:
    """Staff take a benefit off the directory (or put it back), with an audited note."""
    partner = benefit.partner
    _check_staff(partner, acting, benefit.public_id)
    benefit.unpublished_by_staff = unpublished
    benefit.unpublish_note = note.strip() or None
    _sync_benefit(benefit, partner)
    _audit(
        partner,
        acting,
        "unpublish_benefit" if unpublished else "republish_benefit",
        reason=f"{benefit.title}: {note.strip()}" if note.strip() else benefit.title,
    )
    db.session.commit()


def invite_member(partner: Partner, inviter: User, email: str, language: str = "de") -> User:
    """A colleague gets a partner account and an e-mailed link to sign in and set a password."""
    if accounts.find_user(email) is not None:
        raise AccountExists(email)
    user = accounts.create_user(email, UserRole.PARTNER, language=language)
    db.session.flush()
    db.session.add(PartnerMember(user_id=user.id, partner_id=partner.id, invited_by_id=inviter.id))
    max_age = timedelta(days=INVITATION_MAX_AGE_DAYS)
    token = accounts.issue_link(user, LinkPurpose.SIGN_IN, max_age)
    with force_locale(language):
        mail.queue_mail(
            user.email,
            _("Einladung in den Bereich für Akzeptanzstellen"),
            "partner_invitation",
            partner=partner,
            inviter=inviter,
            link=external_url("partners.accept_invitation", token=token),
        )
    outbox.commit()
    return user


def invite_account_for_partner(partner: Partner, acting: Acting, email: str) -> User:
    """Staff of the partner's office invite an account for it (audited), e.g. for a
    partner imported from CSV, which has none, or whose only account left.

    Only an approved partner gets accounts; raises :class:`NotPermitted` for staff of
    another office or a partner not approved, :class:`AccountExists` for a known address.
    """
    staff = _check_staff(partner, acting, partner.public_id)
    if partner.state != PartnerState.APPROVED:
        raise NotPermitted(partner.public_id)
    _audit(partner, acting, "invite", reason=email.strip().lower())
    return invite_member(partner, staff, email, _member_language(partner))


def accept_invitation(token: str) -> User:
    """Use an invitation link once; raises :class:`accounts.LinkRejected` otherwise."""
    user = accounts.consume_link(token, LinkPurpose.SIGN_IN)
    if user.role != UserRole.PARTNER:
        outbox.rollback()
        raise accounts.LinkRejected(accounts.LinkProblem.UNKNOWN)
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    db.session.commit()
    return user


def members_of(partner: Partner) -> list[User]:
    """The partner's accounts, oldest first."""
    return list(
        db.session.scalars(
            select(User)
            .join(PartnerMember, PartnerMember.user_id == User.id)
            .where(PartnerMember.partner_id == partner.id)
            .order_by(PartnerMember.id)
        )
    )


def benefit_of(partner: Partner, public_id: str) -> Benefit | None:
    """One of the partner's own benefits; None for another partner's (the view: 404)."""
    return db.session.scalar(
        select(Benefit).where(Benefit.public_id == public_id, Benefit.partner_id == partner.id)
    )


def benefit_for_office(office_id: int, public_id: str) -> Benefit | None:
    """A benefit of one of the office's partners; None for another office's."""
    return db.session.scalar(
        select(Benefit)
        .join(Partner)
        .where(Benefit.public_id == public_id, Partner.office_id == office_id)
    )


# --- staff --------------------------------------------------------------------------


@dataclass
class Page:
    """One page of a list, paged in the database."""

    items: list
    number: int
    has_next: bool


def list_partners(office_id: int, state: PartnerState | None, page: int, page_size: int) -> Page:
    """The office's partners, oldest registration first."""
    query = select(Partner).where(Partner.office_id == office_id)
    if state is not None:
        query = query.where(Partner.state == state)
    query = (
        query.order_by(Partner.created_at, Partner.id)
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = list(db.session.scalars(query))
    return Page(rows[:page_size], page, has_next=len(rows) > page_size)


def get_for_office(office_id: int, public_id: str) -> Partner | None:
    """A partner of this office; None for another office's (the view answers 404)."""
    return db.session.scalar(
        select(Partner).where(Partner.public_id == public_id, Partner.office_id == office_id)
    )


def verification_counts(partner_ids: list[int]) -> dict[int, int]:
    """How many card checks each partner made (within the retention period)."""
    if not partner_ids:
        return {}
    rows = db.session.execute(
        select(Verification.partner_id, func.count())
        .where(Verification.partner_id.in_(partner_ids))
        .group_by(Verification.partner_id)
    )
    return {partner_id: count for partner_id, count in rows if partner_id is not None}


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
    """The office's partners as CSV (one line per partner, its first benefit beside it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    slugs = {c.id: c.slug for c in list_categories()}
    query = select(Partner).where(Partner.office_id == office_id).order_by(Partner.name, Partner.id)
    for partner in db.session.scalars(query):
        first = partner.benefits[0] if partner.benefits else None
        writer.writerow(
            [
                partner.name,
                slugs.get(partner.category_id, ""),
                partner.street,
                partner.postcode,
                partner.town,
                partner.email,
                partner.website or "",
                partner.phone or "",
                partner.description or "",
                "" if partner.latitude is None else str(partner.latitude),
                "" if partner.longitude is None else str(partner.longitude),
                partner.state.value,
                first.title if first else "",
                (first.description or "") if first else "",
            ]
        )
    return out.getvalue()


@dataclass
class ImportReport:
    """What an import did or would do; errors by line number (1 is the header)."""

    rows: int = 0
    errors: dict[int, list[str]] = field(default_factory=dict)
    imported: bool = False


def _decimal(value: str, low: int, high: int) -> Decimal | None:
    if not value.strip():
        return None
    number = Decimal(value.strip())
    if not number.is_finite() or not low <= number <= high:
        raise InvalidOperation
    return number


def _parse_csv_line(
    row: dict[str, str], slugs: dict[str, int], seen: set[str]
) -> tuple[PartnerInput | None, BenefitInput | None, list[str]]:
    errors: list[str] = []
    value = {k: (row.get(k) or "").strip() for k in CSV_COLUMNS}
    for required in ("name", "category", "street", "postcode", "town", "email"):
        if not value[required]:
            errors.append(_("Spalte „%(column)s“ fehlt.", column=required))
    category_id = slugs.get(value["category"].lower())
    if value["category"] and category_id is None:
        errors.append(_("Unbekannte Kategorie „%(value)s“.", value=value["category"]))
    if value["postcode"] and not (value["postcode"].isdigit() and len(value["postcode"]) == 5):
        errors.append(_("Die Postleitzahl muss fünf Ziffern haben."))
    email = accounts.normalise_email(value["email"])
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
    if acting.user is None or acting.user.office_id != office.id:
        raise NotPermitted(office.slug)
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    missing = [
        c for c in ("name", "category", "postcode", "email") if c not in (reader.fieldnames or [])
    ]
    if missing:
        report.errors[1] = [_("Spalte „%(column)s“ fehlt.", column=c) for c in missing]
        return report
    slugs = {c.slug: c.id for c in list_categories()}
    seen: set[str] = set()
    parsed: list[tuple[PartnerInput, BenefitInput | None]] = []
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        data, benefit, errors = _parse_csv_line(row, slugs, seen)
        if errors:
            report.errors[line] = errors
        elif data is not None:
            parsed.append((data, benefit))
    if report.errors or dry_run:
        return report
    # One transaction: a failure on any line rolls back every line before it.
    try:
        for data, benefit in parsed:
            partner = _new_partner(office, data, [benefit] if benefit else [])
            partner.state = PartnerState.APPROVED
            partner.decided_at = utcnow()
            for item in partner.benefits:
                _sync_benefit(item, partner)
            db.session.flush()
            _audit(partner, acting, "import", to_state=PartnerState.APPROVED)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    report.imported = True
    return report


# --- public directory ---------------------------------------------------------------


@dataclass
class DirectoryQuery:
    """What a visitor searches the directory for."""

    text: str = ""
    category_id: int | None = None
    #: A postcode prefix (digits) or a town name.
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    #: Only partners within this many kilometres when sorting by distance.
    radius_km: float = 50.0


#: Kilometres per degree of latitude.
KM_PER_DEGREE = 111.32


def _published_today(query: Select, today: date) -> Select:
    return query.where(
        Benefit.published.is_(True),
        or_(Benefit.valid_from.is_(None), Benefit.valid_from <= today),
        or_(Benefit.valid_until.is_(None), Benefit.valid_until >= today),
    )


def _degrees(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


def search_directory(
    criteria: DirectoryQuery, page: int, page_size: int, today: date | None = None
) -> Page:
    """Published benefits valid today, filtered and paged in the database.

    With the visitor's coordinates, only partners with coordinates in a bounding box
    around them are listed, nearest first (an equirectangular approximation, which is
    accurate enough at the distances a directory is used for).
    """
    today = today or date.today()
    query = _published_today(select(Benefit, Partner).join(Partner), today)
    text = criteria.text.strip().lower()
    if text:
        query = query.where(Benefit.search_text.contains(text, autoescape=True))
    if criteria.category_id is not None:
        query = query.where(Benefit.category_id == criteria.category_id)
    place = criteria.place.strip()
    if place.isdigit():
        query = query.where(Benefit.postcode.startswith(place, autoescape=True))
    elif place:
        query = query.where(func.lower(Partner.town).startswith(place.lower(), autoescape=True))
    if criteria.latitude is not None and criteria.longitude is not None:
        lat, lon = criteria.latitude, criteria.longitude
        lat_span = criteria.radius_km / KM_PER_DEGREE
        scale = max(math.cos(math.radians(lat)), 0.01)
        lon_span = lat_span / scale
        # Bounds as decimals like the columns: compared with floats, PostgreSQL casts
        # the column, cannot estimate the filter and picks a nested loop.
        query = query.where(
            Partner.latitude.between(_degrees(lat - lat_span), _degrees(lat + lat_span)),
            Partner.longitude.between(_degrees(lon - lon_span), _degrees(lon + lon_span)),
        )
        d_lat = Partner.latitude - _degrees(lat)
        d_lon = (Partner.longitude - _degrees(lon)) * _degrees(scale)
        query = query.order_by(d_lat * d_lat + d_lon * d_lon, Benefit.id)
    else:
        # In the order they were added: the primary key walks in order and stops after a
        # page, where sorting by name would join and sort every published benefit.
        query = query.order_by(Benefit.id)
    query = query.offset((max(page, 1) - 1) * page_size).limit(page_size + 1)
    rows = [(benefit, partner) for benefit, partner in db.session.execute(query)]
    return Page(rows[:page_size], page, has_next=len(rows) > page_size)


def distance_km(partner: Partner, latitude: float, longitude: float) -> float | None:
    """The approximate distance from the visitor to the partner, if it has coordinates."""
    if partner.latitude is None or partner.longitude is None:
        return None
    scale = math.cos(math.radians(latitude))
    d_lat = float(partner.latitude) - latitude
    d_lon = (float(partner.longitude) - longitude) * scale
    return math.hypot(d_lat, d_lon) * KM_PER_DEGREE


def public_partner(public_id: str) -> Partner | None:
    """An approved partner by its public id (the directory's page per partner)."""
    return db.session.scalar(
        select(Partner).where(
            Partner.public_id == public_id, Partner.state == PartnerState.APPROVED
        )
    )


def published_benefits(partner: Partner, today: date | None = None) -> list[Benefit]:
    """The partner's benefits shown in the directory today."""
    query = _published_today(
        select(Benefit).where(Benefit.partner_id == partner.id), today or date.today()
    )
    return list(db.session.scalars(query.order_by(Benefit.title, Benefit.id)))
