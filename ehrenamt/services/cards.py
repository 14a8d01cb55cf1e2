"""Cards: created with the approval, produced by a worker, then kept by staff.

The approval creates the card row (state *issuing*) in its own transaction, so the
database's unique index on the approval decides that there is exactly one card per
approval. A worker then signs the token and makes the documents (:func:`produce`); it
does so once per *generation*, however often the task runs. Staff revoke, replace,
re-issue and extend; every change is audited. Periodic jobs expire cards, remind
holders before the end, and pick up what the outbox gave up on.
"""

from __future__ import annotations

import enum
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ehrenamt import labels
from ehrenamt.extensions import db, read_one
from ehrenamt.models import (
    Application,
    AuditEntry,
    Card,
    CardBatch,
    CardDocument,
    CardState,
    CardType,
    DocumentKind,
    Office,
    RevocationReason,
    utcnow,
)
from ehrenamt.services import audit, card_numbers, card_render, mail, outbox, signing
from ehrenamt.services.audit import Acting
from ehrenamt.services.card_index import card_index
from ehrenamt.urls import external_url
from ehrenamt.workflow import ApplicationState

log = logging.getLogger(__name__)

#: The Celery task that produces a card's token and documents.
ISSUE_CARD_TASK = "ehrenamt.issue_card"

MEDIA_TYPES = {DocumentKind.PDF: "application/pdf", DocumentKind.PNG: "image/png"}


class CardError(Exception):
    """An action on a card that cannot be done; the message is for the user."""


class Conflict(CardError):
    """Someone else changed the card meanwhile."""


class NotPermitted(CardError):
    """The acting person may not act on this card."""


# --- dates ---------------------------------------------------------------------------------


def today() -> date:
    """Today where the programme runs: cards end at midnight German time."""
    return datetime.now(signing.CARD_TIME_ZONE).date()


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def default_valid_until(office: Office, card_type: CardType, valid_from: date) -> date | None:
    """End of validity from the office's rules; long-service cards have none."""
    if card_type == CardType.LONG_SERVICE:
        return None
    return add_years(valid_from, office.rules.validity_years) - timedelta(days=1)


# --- creating ------------------------------------------------------------------------------


def _unused_number() -> str:
    """A random card number not yet given (31**11 possibilities; a clash is rare)."""
    while True:
        number = card_numbers.new_card_number()
        if not db.session.scalar(select(exists().where(Card.number == number))):
            return number


def _new_card(
    application: Application,
    acting: Acting,
    *,
    valid_from: date,
    valid_until: date | None,
    replaces: Card | None = None,
    batch: CardBatch | None = None,
    reason: str | None = None,
) -> Card:
    """Add a card in state *issuing* and its issuing task to the current transaction."""
    name = application.full_name
    card = Card(
        public_id=secrets.token_hex(16),
        number=_unused_number(),
        application=application,
        office_id=application.office_id,
        holder_id=application.applicant_id,
        replaces=replaces,
        batch_id=batch.id if batch else None,
        state=CardState.ISSUING,
        card_type=application.card_type,
        holder_name=name,
        search_name=name.lower(),
        valid_from=valid_from,
        valid_until=valid_until,
    )
    db.session.add(card)
    db.session.flush()  # the id, for the audit row and the task
    _audit(card, acting, "create", None, CardState.ISSUING, reason)
    _request_documents(card)
    return card


def create_for_approval(
    application: Application, acting: Acting, *, batch: CardBatch | None = None
) -> Card:
    """The approval's card, in the approval's transaction (caller commits).

    A second card for the same approval is refused by the database
    (``uq_card_one_per_approval``), whatever the code does. ``batch`` links the card to
    the bulk issuing it came from, for that page's progress.
    """
    start = today()
    return _new_card(
        application,
        acting,
        valid_from=start,
        valid_until=default_valid_until(application.office, application.card_type, start),
        batch=batch,
    )


def _audit(
    card: Card,
    acting: Acting,
    action: str,
    from_state: CardState | None,
    to_state: CardState,
    reason: str | None = None,
) -> None:
    """One audit row for a change of the card."""
    audit.record(
        acting,
        subject_type="card",
        subject_id=card.id,
        action=action,
        office_id=card.office_id,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value,
        reason=reason,
    )


def _request_documents(card: Card) -> None:
    """Ask a worker to make the card's current generation."""
    outbox.enqueue(ISSUE_CARD_TASK, card_id=card.id, generation=card.generation)


# --- producing (the worker) ----------------------------------------------------------------


class Produced(enum.StrEnum):
    """What :func:`produce` did."""

    MADE = "made"
    #: This generation was made already (a second delivery of the task).
    ALREADY = "already"
    #: Another worker holds the card right now; retry later.
    BUSY = "busy"
    #: Revoked or expired meanwhile, or deleted: nothing to make.
    SKIPPED = "skipped"


def produce(card_id: int, message_id: int | None = None) -> Produced:
    """Sign the card and make its PDF and PNG, once per generation; mail the holder.

    On PostgreSQL the card row is locked while the documents are made (``SKIP LOCKED``:
    a second delivery running at the same time returns BUSY instead of waiting); the
    lock goes with the worker's connection if the worker dies. The version column makes
    a second writer fail on any database, so only one result is ever committed. The
    outbox message ``message_id`` that asked for it is completed in the same transaction.
    """
    session = db.session
    query = (
        select(Card)
        .where(Card.id == card_id)
        .options(
            # What the documents and the mail need, in the one locking query.
            joinedload(Card.office, innerjoin=True).joinedload(Office.programme, innerjoin=True),
            joinedload(Card.holder, innerjoin=True),
            selectinload(Card.documents),
        )
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Card)
    card = session.scalar(query)
    if card is None:
        gone = not session.scalar(select(exists().where(Card.id == card_id)))
        session.rollback()
        return Produced.SKIPPED if gone else Produced.BUSY
    if card.state in (CardState.REVOKED, CardState.EXPIRED):
        session.rollback()
        return Produced.SKIPPED
    if card.rendered_generation >= card.generation:
        session.rollback()
        return Produced.ALREADY
    try:
        _make_documents(card)
        if message_id is not None:
            outbox.complete(message_id)
        outbox.commit()
    except (StaleDataError, IntegrityError):
        # Another worker stored this generation first (version column, or the unique
        # documents of the card on SQLite, where the rows are not locked).
        outbox.rollback()
        log.info("card %s was produced by another worker meanwhile", card_id)
        return Produced.ALREADY
    return Produced.MADE


def _make_documents(card: Card) -> None:
    key = signing.load_key_ring().signing_key()
    assert key.private_key is not None  # signing_key() guarantees it
    issued_at = utcnow().replace(microsecond=0)
    claims = signing.CardClaims(
        card_number=card.number,
        name=card.holder_name,
        card_type=card.card_type,
        valid_until=card.valid_until,
        office=card.office.slug,
        issued_at=issued_at,
    )
    token = signing.sign_card(claims, key.private_key)
    rendered = card_render.render_card(face_of(card, token))
    for kind, content in ((DocumentKind.PDF, rendered.pdf), (DocumentKind.PNG, rendered.png)):
        document = card.document(kind)
        if document is None:
            card.documents.append(
                CardDocument(kind=kind, content=content, generation=card.generation)
            )
        else:
            document.content = content
            document.generation = card.generation
            document.created_at = issued_at
    first = card.state == CardState.ISSUING
    card.token = token
    card.key_id = key.kid
    card.issued_at = issued_at
    card.rendered_generation = card.generation
    card.state = CardState.ACTIVE
    _audit(
        card,
        Acting.system(),
        "issue" if first else "render",
        CardState.ISSUING if first else CardState.ACTIVE,
        CardState.ACTIVE,
        f"generation {card.generation}, key {key.kid}",
    )
    db.session.flush()  # the documents' ids, for the mail's attachments
    _mail_holder_card(card)


def face_of(card: Card, token: bytes) -> card_render.CardFace:
    """What the card shows, for the renderer."""
    return card_render.CardFace(
        holder_name=card.holder_name,
        card_number=card.number,
        card_type=card.card_type,
        valid_from=card.valid_from,
        valid_until=card.valid_until,
        office_name=card.office.name,
        programme_name=card.office.programme.name,
        url=signing.card_url(token),
    )


def document_filename(card: Card, kind: DocumentKind) -> str:
    """File name for a download or an attachment."""
    return f"ehrenamtskarte-{card.number}.{kind.value}"


def _mail_holder_card(card: Card) -> None:
    holder = card.holder
    attachments = [
        {
            "document_id": document.id,
            "filename": document_filename(card, document.kind),
            "content_type": MEDIA_TYPES[document.kind],
        }
        for document in card.documents
    ]
    with force_locale(holder.language):
        mail.queue_mail(
            holder.email,
            _("Ihre Ehrenamtskarte ist da"),
            "card_ready",
            card=card,
            office=card.office,
            account_link=external_url("account.index"),
            attachments=attachments,
        )


# --- reading -------------------------------------------------------------------------------


def get_for_office(office_id: int, public_id: str) -> Card | None:
    """A card of the staff member's office, or None."""
    return db.session.scalar(
        select(Card).where(Card.office_id == office_id, Card.public_id == public_id)
    )


def get_for_holder(holder_id: int, public_id: str) -> Card | None:
    """A card of the signed-in holder, or None."""
    return db.session.scalar(
        select(Card).where(Card.holder_id == holder_id, Card.public_id == public_id)
    )


def cards_of(holder_id: int) -> list[Card]:
    """The holder's cards, newest first."""
    return list(
        db.session.scalars(select(Card).where(Card.holder_id == holder_id).order_by(Card.id.desc()))
    )


def card_for_application(application_id: int) -> Card | None:
    """The newest card of an application (the replacement if the first was lost)."""
    return db.session.scalar(
        select(Card).where(Card.application_id == application_id).order_by(Card.id.desc())
    )


def document_for_download(card: Card, kind: DocumentKind) -> CardDocument | None:
    """The document to download; None while the card is being made or once revoked."""
    if card.state not in (CardState.ACTIVE, CardState.EXPIRED):
        return None
    return card.document(kind)


# --- staff actions -------------------------------------------------------------------------


def _check_staff(card: Card | Application, acting: Acting) -> None:
    """Only staff of the card's (or application's) office act on it."""
    user = acting.user
    if user is None or not user.is_staff or user.office_id != card.office_id:
        raise NotPermitted(card.public_id)


def _check_version(card: Card, expected_version: int | None) -> None:
    if expected_version is not None and card.version != expected_version:
        raise Conflict(card.public_id)


def _commit(card: Card) -> None:
    try:
        outbox.commit()
    except StaleDataError:
        outbox.rollback()
        raise Conflict(card.public_id) from None


def revoke(
    card: Card,
    acting: Acting,
    reason: RevocationReason,
    note: str = "",
    *,
    expected_version: int | None = None,
) -> None:
    """Revoke the card for good (it then verifies as revoked); the holder is told."""
    _check_staff(card, acting)
    _check_version(card, expected_version)
    _revoke(card, acting, reason, note)
    _commit(card)
    card_index().revocations_changed()


def _revoke(card: Card, acting: Acting, reason: RevocationReason, note: str) -> None:
    if card.state == CardState.REVOKED:
        raise CardError(_("Die Karte ist bereits gesperrt."))
    from_state = card.state
    card.state = CardState.REVOKED
    card.revoked_at = utcnow()
    card.revocation_reason = reason
    card.revocation_note = note or None
    _audit(
        card,
        acting,
        "revoke",
        from_state,
        CardState.REVOKED,
        f"{reason.value}: {note}" if note else reason.value,
    )
    with force_locale(card.holder.language), db.session.no_autoflush:
        mail.queue_mail(
            card.holder.email,
            _("Ihre Ehrenamtskarte wurde gesperrt"),
            "card_revoked",
            card=card,
            office=card.office,
            reason_label=str(labels.REVOCATION_LABELS[reason]),
            note=note,
        )


def replace_lost(
    card: Card, acting: Acting, note: str = "", *, expected_version: int | None = None
) -> Card:
    """Revoke a lost card and issue a new one: new number, same validity."""
    _check_staff(card, acting)
    _check_version(card, expected_version)
    if card.state not in (CardState.ACTIVE, CardState.ISSUING):
        raise CardError(_("Nur eine gültige Karte kann ersetzt werden."))
    _revoke(card, acting, RevocationReason.LOST, note)
    try:
        replacement = _new_card(
            card.application,
            acting,
            valid_from=card.valid_from,
            valid_until=card.valid_until,
            replaces=card,
            reason=_("Ersatz für Karte %(number)s", number=card.number),
        )
    except (StaleDataError, IntegrityError):
        # Another clerk replaced or changed it first (unique replaces_id, version).
        outbox.rollback()
        raise Conflict(card.public_id) from None
    _commit(card)
    card_index().revocations_changed()
    return replacement


def reissue(card: Card, acting: Acting, *, expected_version: int | None = None) -> None:
    """Make the documents again (and mail them), e.g. when a print went wrong."""
    _check_staff(card, acting)
    _check_version(card, expected_version)
    if card.state != CardState.ACTIVE:
        raise CardError(_("Nur eine gültige Karte kann neu ausgestellt werden."))
    card.generation += 1
    _audit(card, acting, "reissue", card.state, card.state)
    _request_documents(card)
    _commit(card)


def extend(
    card: Card, acting: Acting, valid_until: date, *, expected_version: int | None = None
) -> None:
    """Move the end of validity later; a new signed card is made and mailed."""
    _check_staff(card, acting)
    _check_version(card, expected_version)
    if card.card_type == CardType.LONG_SERVICE or card.valid_until is None:
        raise CardError(_("Eine unbefristete Karte kann nicht verlängert werden."))
    if card.state not in (CardState.ACTIVE, CardState.EXPIRED):
        raise CardError(_("Nur eine gültige oder abgelaufene Karte kann verlängert werden."))
    if valid_until <= card.valid_until or valid_until < today():
        raise CardError(
            _("Das neue Ende muss nach dem bisherigen und nicht in der Vergangenheit liegen.")
        )
    old, from_state = card.valid_until, card.state
    card.valid_until = valid_until
    card.state = CardState.ACTIVE
    card.expiry_reminder_sent_at = None
    card.generation += 1
    _audit(
        card,
        acting,
        "extend",
        from_state,
        CardState.ACTIVE,
        f"{old.isoformat()} → {valid_until.isoformat()}",
    )
    _request_documents(card)
    _commit(card)


# --- periodic jobs -------------------------------------------------------------------------


def expire_cards(limit: int = 1000) -> int:
    """Active cards past their last day become expired (audited); returns how many."""
    query = (
        select(Card)
        .where(Card.state == CardState.ACTIVE, Card.valid_until < today())
        .order_by(Card.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    cards = list(db.session.scalars(query))
    for card in cards:
        card.state = CardState.EXPIRED
        _audit(card, Acting.system(), "expire", CardState.ACTIVE, CardState.EXPIRED)
    db.session.commit()
    if cards:
        log.info("expired %d cards", len(cards))
    return len(cards)


def remind_expiring(limit: int = 500) -> int:
    """Mail holders whose card ends within CARD_EXPIRY_REMINDER_DAYS, once per validity."""
    days = int(current_app.config["CARD_EXPIRY_REMINDER_DAYS"])
    query = (
        select(Card)
        .where(
            Card.state == CardState.ACTIVE,
            Card.valid_until.is_not(None),
            Card.valid_until <= today() + timedelta(days=days),
            Card.expiry_reminder_sent_at.is_(None),
        )
        .order_by(Card.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    cards = list(db.session.scalars(query))
    for card in cards:
        card.expiry_reminder_sent_at = utcnow()
        with force_locale(card.holder.language):
            mail.queue_mail(
                card.holder.email,
                _("Ihre Ehrenamtskarte läuft bald ab"),
                "card_expiring",
                card=card,
                office=card.office,
                renewal_link=external_url("apply.form", erneuern=card.public_id),
            )
    outbox.commit()
    return len(cards)


def issue_pending(limit: int = 500) -> int:
    """Re-request what the outbox gave up on; create cards for approvals that lack one.

    Idempotent: a card made twice is made once (generations), and an approval gets its
    card from the unique index, whatever runs at the same time.
    """
    stale_before = utcnow() - current_app.config["OUTBOX_REDISPATCH_AFTER"]
    behind = list(
        db.session.scalars(
            select(Card)
            .where(
                Card.state.in_((CardState.ISSUING, CardState.ACTIVE)),
                Card.rendered_generation < Card.generation,
                func.coalesce(Card.issued_at, Card.created_at) < stale_before,
            )
            .order_by(Card.id)
            .limit(limit)
        )
    )
    for card in behind:
        _request_documents(card)
    outbox.commit()
    created = 0
    for application in approved_without_card(None, limit):
        try:
            create_for_approval(application, Acting.system())
            outbox.commit()
        except IntegrityError:
            outbox.rollback()  # another run created it meanwhile
        else:
            created += 1
    return len(behind) + created


# --- verification --------------------------------------------------------------------------


class CheckStatus(enum.StrEnum):
    """The answer of a card check; only these five."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    #: Genuine signature (or well-formed number) but no such card here.
    UNKNOWN = "unknown"
    #: Not a genuine card: forged, altered, unknown key, garbage.
    INVALID = "invalid"


@dataclass(frozen=True)
class CardCheck:
    """What a verifier learns: the status and what the card itself shows, nothing more."""

    status: CheckStatus
    card_number: str | None = None
    holder_name: str | None = None
    card_type: CardType | None = None
    valid_until: date | None = None
    #: Our card's database id, for the record of the check; never shown to a verifier.
    card_id: int | None = None

    @property
    def valid(self) -> bool:
        return self.status == CheckStatus.VALID


def check(code: str, *, now: datetime | None = None) -> CardCheck:
    """Check a scanned QR content (URL or digits) or a typed card number online.

    The signature decides whether a QR code is genuine and until when it is valid; the
    database adds whether the card is ours and revoked (through the process's
    :mod:`~ehrenamt.services.card_index`). A typed number is looked up in the database.
    """
    text = code.strip()
    if card_numbers.is_valid(text) and not text.isdigit():
        return _check_number(card_numbers.normalise_card_number(text), now)
    try:
        token = signing.parse_card_url(text)
        verified = signing.verify_with_published_keys(token, now or datetime.now(UTC))
        claims, status = verified.claims, CheckStatus.VALID
    except signing.Expired as expired:
        claims, status = expired.card.claims, CheckStatus.EXPIRED
    except signing.InvalidToken:
        return CardCheck(CheckStatus.INVALID)
    index = card_index()
    card_id = index.card_id(claims.card_number)
    if card_id is None:
        return CardCheck(CheckStatus.UNKNOWN)
    if index.is_revoked(claims.card_number):
        status = CheckStatus.REVOKED
    return CardCheck(
        status,
        card_number=claims.card_number,
        holder_name=claims.name,
        card_type=claims.card_type,
        valid_until=claims.valid_until,
        card_id=card_id,
    )


#: What a check needs of a card, by its number; built once (a till checks many cards a
#: second, and building and caching the statement each time costs more than running it).
_CARD_BY_NUMBER = select(
    Card.id, Card.state, Card.number, Card.holder_name, Card.card_type, Card.valid_until
).where(Card.number == bindparam("number"))


def _card_by_number(number: str) -> Any:
    """The row of :data:`_CARD_BY_NUMBER` for ``number``, or None."""
    return read_one(_CARD_BY_NUMBER, {"number": number})


def _check_number(number: str, now: datetime | None) -> CardCheck:
    card = _card_by_number(number)
    if card is None or card.state == CardState.ISSUING:
        return CardCheck(CheckStatus.UNKNOWN)
    day = (now or datetime.now(UTC)).astimezone(signing.CARD_TIME_ZONE).date()
    if card.state == CardState.REVOKED:
        status = CheckStatus.REVOKED
    elif card.state == CardState.EXPIRED or (
        card.valid_until is not None and card.valid_until < day
    ):
        status = CheckStatus.EXPIRED
    else:
        status = CheckStatus.VALID
    return CardCheck(
        status,
        card_number=card.number,
        holder_name=card.holder_name,
        card_type=card.card_type,
        valid_until=card.valid_until,
        card_id=card.id,
    )


# --- bulk issuing --------------------------------------------------------------------------


def approved_without_card(office_id: int | None, limit: int) -> list[Application]:
    """Approved applications (of one office, or of all) that have no card yet, oldest first."""
    query = select(Application).where(
        Application.state == ApplicationState.APPROVED,
        ~exists().where(Card.application_id == Application.id),
    )
    if office_id is not None:
        query = query.where(Application.office_id == office_id)
    return list(
        db.session.scalars(query.order_by(Application.decided_at, Application.id).limit(limit))
    )


# --- the register and bulk issuing (staff pages) -------------------------------------------


@dataclass(frozen=True)
class RegisterFilter:
    """What the card register is narrowed to."""

    #: A card number (any spelling from the card) or a part of the holder's name.
    text: str = ""
    state: CardState | None = None
    card_type: CardType | None = None
    #: Cards whose last day is on or before this date (long-service cards never are).
    expires_by: date | None = None


@dataclass
class CardPage:
    """One page of the register, paged in the database."""

    items: list[Card]
    number: int
    has_next: bool


def list_register(office_id: int, filters: RegisterFilter, page: int, page_size: int) -> CardPage:
    """The office's cards, newest first (soonest to end first when filtered by expiry).

    A search text that is a valid card number finds that card exactly; any other text
    is looked for anywhere in the holder's name.
    """
    query = select(Card).where(Card.office_id == office_id)
    text = filters.text.strip()
    if text:
        try:
            number: str | None = card_numbers.normalise_card_number(text)
        except card_numbers.InvalidCardNumber:
            number = None
        if number is not None:
            query = query.where(Card.number == number)
        else:
            query = query.where(Card.search_name.contains(text.lower(), autoescape=True))
    if filters.state is not None:
        query = query.where(Card.state == filters.state)
    if filters.card_type is not None:
        query = query.where(Card.card_type == filters.card_type)
    if filters.expires_by is not None:
        query = query.where(Card.valid_until <= filters.expires_by).order_by(
            Card.valid_until, Card.id
        )
    else:
        query = query.order_by(Card.id.desc())
    rows = list(db.session.scalars(query.offset((page - 1) * page_size).limit(page_size + 1)))
    return CardPage(rows[:page_size], page, has_next=len(rows) > page_size)


def replacement_of(card: Card) -> Card | None:
    """The card issued in place of this lost one, if any."""
    return db.session.scalar(select(Card).where(Card.replaces_id == card.id))


def history(card: Card) -> list[AuditEntry]:
    """The audit rows of the card, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == "card", AuditEntry.subject_id == card.id)
            .order_by(AuditEntry.id)
        )
    )


def extension_default(card: Card) -> date | None:
    """The end of validity an extension proposes: one more validity period."""
    if card.valid_until is None:
        return None
    return add_years(card.valid_until, card.office.rules.validity_years)


def create_batch(office_id: int, acting: Acting, size: int) -> CardBatch:
    """Start a bulk issuing of ``size`` selected applications (committed at once)."""
    batch = CardBatch(
        public_id=secrets.token_hex(16),
        office_id=office_id,
        created_by_id=acting.user.id if acting.user else None,
        size=size,
    )
    db.session.add(batch)
    db.session.commit()
    return batch


def issue_for_approved(
    application: Application,
    acting: Acting,
    expected_version: int,
    *,
    batch: CardBatch | None = None,
) -> Card:
    """The card of an approved application that has none yet (e.g. after a failure).

    Raises :class:`Conflict` if the application changed since the clerk saw it or got
    its card meanwhile, :class:`NotPermitted` for staff of another office.
    """
    _check_staff(application, acting)
    if (
        application.version != expected_version
        or application.state != ApplicationState.APPROVED
        or card_for_application(application.id) is not None
    ):
        raise Conflict(application.public_id)
    try:
        card = create_for_approval(application, acting, batch=batch)
        outbox.commit()
    except IntegrityError:
        # Another clerk, or the periodic job, created it in the same moment.
        outbox.rollback()
        raise Conflict(application.public_id) from None
    return card


def get_batch_for_office(office_id: int, public_id: str) -> CardBatch | None:
    """A bulk issuing of the staff member's office, or None."""
    return db.session.scalar(
        select(CardBatch).where(CardBatch.office_id == office_id, CardBatch.public_id == public_id)
    )


@dataclass(frozen=True)
class BatchProgress:
    """How far the workers are with a bulk issuing."""

    #: Cards the batch created (one per application approved or given its card).
    total: int
    #: Cards made: no longer being produced (active, or revoked/expired since).
    issued: int
    #: Cards a worker has yet to make.
    issuing: int
    active: int
    #: Selected applications that got no card (changed meanwhile, or not approvable).
    failed: int

    @property
    def complete(self) -> bool:
        return self.issuing == 0


def batch_progress(batch: CardBatch) -> BatchProgress:
    """Count the batch's cards by state, in the database."""
    counts = dict(
        db.session.execute(
            select(Card.state, func.count()).where(Card.batch_id == batch.id).group_by(Card.state)
        ).all()
    )
    total = sum(counts.values())
    issuing = counts.get(CardState.ISSUING, 0)
    return BatchProgress(
        total=total,
        issued=total - issuing,
        issuing=issuing,
        active=counts.get(CardState.ACTIVE, 0),
        failed=max(batch.size - total, 0),
    )


def batch_cards(batch: CardBatch) -> list[Card]:
    """The batch's cards in the order they were created (a batch is small, see the view)."""
    return list(db.session.scalars(select(Card).where(Card.batch_id == batch.id).order_by(Card.id)))
