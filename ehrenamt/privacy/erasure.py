"""A person's data erased at their request (DSGVO Art. 17): from their account, or by
staff for a request received by post. At once, and as the retention job would."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from ehrenamt.applications import drafts
from ehrenamt.cardformat.token import CARD_TIME_ZONE
from ehrenamt.cards.index import card_index
from ehrenamt.cards.states import CardAction
from ehrenamt.cards.states import next_state as next_card_state
from ehrenamt.core import audit
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import NotPermitted
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    Card,
    CardState,
    DataExport,
    EmailChange,
    Letter,
    OneTimeLink,
    RecoveryCode,
    RevocationReason,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.privacy import deletion, report
from ehrenamt.privacy.export import export_folder
from ehrenamt.privacy.retention import DeletionKind
from ehrenamt.workflow import OPEN_STATES, Action, Actor, next_state

log = logging.getLogger(__name__)

#: Cards still in use: revoked ("holder's request") before the data goes.
_CARDS_IN_USE = (CardState.ISSUING, CardState.ACTIVE)


@dataclass(frozen=True)
class Erasure:
    """What an erasure did, in counts (for the log and the confirmation page)."""

    person_id: int
    applications: int
    cards: int
    cards_revoked: int
    applications_withdrawn: int
    uploads: int


def self_acting(person: User) -> Acting:
    """The person acting on their own erasure, already under their pseudonym (their
    e-mail address, the usual label, is what is being deleted)."""
    return Acting(Actor.APPLICANT, None, deletion.pseudonym(person.id))


def check_may_erase(person: User, acting: Acting, *, self_request: bool) -> None:
    """The person themselves, or staff of an office the person applied to; a staff or
    partner account is never erased this way. Anything else raises NotPermitted."""
    if person.role != UserRole.VOLUNTEER:
        raise NotPermitted(str(person.id))
    if self_request:
        return
    office_id = acting.user.office_id if acting.user else None
    staff = check_staff(acting, office_id or -1, str(person.id))
    offices = db.session.scalars(
        select(Application.office_id).where(Application.applicant_id == person.id).distinct()
    ).all()
    if staff.office_id not in offices:
        raise NotPermitted(str(person.id))


def erase_person(
    person: User,
    acting: Acting,
    reason: str = "",
    *,
    self_request: bool = False,
    now: datetime | None = None,
) -> Erasure:
    """Revoke the person's cards in use, withdraw open applications, then delete their
    applications, engagements, confirmations, uploads (files too), cards, links, mails
    and account; audit rows stay, pseudonymised. One transaction, committed here."""
    check_may_erase(person, acting, self_request=self_request)
    now = now or utcnow()
    person_id, email = person.id, person.email
    applications = db.session.scalars(
        select(Application).where(Application.applicant_id == person_id)
    ).all()
    names = {person.display_name, *(a.full_name for a in applications)}
    offices = {a.office_id for a in applications}
    revoked = _revoke_cards_in_use(person_id, acting, now)
    withdrawn = 0
    for application in applications:
        if application.state in OPEN_STATES:
            # Through the table (it raises on a state that cannot be withdrawn); the row
            # itself is deleted below, so only the audit row remains of the change.
            to_state = next_state(application.state, Action.WITHDRAW, Actor.APPLICANT)
            audit.record_change(
                acting, application, audit.AuditAction.WITHDRAW, application.state, to_state
            )
            withdrawn += 1
    db.session.flush()
    deleted = deletion.delete_applications(
        [a.id for a in applications], now.astimezone(CARD_TIME_ZONE).date()
    )
    db.session.execute(delete(OneTimeLink).where(OneTimeLink.user_id == person_id))
    # Saved drafts of the form hold the person's answers as typed (by account or address).
    drafts.delete_drafts_of_person(person)
    # Mails to an address the person had before a change are theirs too (the change
    # keeps it as long as such mails are kept).
    earlier = db.session.scalars(
        select(EmailChange.old_email).where(
            EmailChange.user_id == person_id, EmailChange.old_email.is_not(None)
        )
    ).all()
    addresses = [*([email] if email else []), *(address for address in earlier if address)]
    deletion.delete_mails_mentioning([*addresses, *names])
    deletion.pseudonymise_person(person_id)
    audit.record(
        acting,
        subject_type=audit.Subject.USER,
        subject_id=person_id,
        action=audit.AuditAction.ERASE_PERSON,
        office_id=acting.user.office_id if acting.user else None,
        reason=reason or None,
    )
    for office_id in offices:
        report.add_count(office_id, DeletionKind.ERASED_PERSONS, 1, now)
    db.session.flush()
    # The person's objects must not be written back or refreshed after the delete.
    for gone in (person, *applications):
        db.session.expunge(gone)
    # Letters to print name the person in their address (those of an application or a
    # card went with it); a data export is their data once more, as a file.
    db.session.execute(delete(Letter).where(Letter.recipient_id == person_id))
    exports = db.session.scalars(
        delete(DataExport)
        .where(DataExport.user_id == person_id)
        .returning(DataExport.stored_name)
        .execution_options(synchronize_session=False)
    ).all()
    # A volunteer has no recovery codes today; should one ever have, they go too. Their
    # e-mail changes go by the database's cascade, name change requests with the
    # applications, print run cards with the cards (their runs' PDFs dropped).
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == person_id))
    db.session.execute(delete(User).where(User.id == person_id))
    db.session.commit()
    deletion.unlink_files(deleted.files)
    for stored_name in exports:
        if stored_name:
            (export_folder() / stored_name).unlink(missing_ok=True)
    card_index().revocations_changed()
    log.info(
        "erased a person: %d applications, %d cards, %d uploads",
        deleted.applications,
        deleted.cards,
        deleted.uploads,
    )
    return Erasure(
        person_id=person_id,
        applications=deleted.applications,
        cards=deleted.cards,
        cards_revoked=revoked,
        applications_withdrawn=withdrawn,
        uploads=deleted.uploads,
    )


def _revoke_cards_in_use(person_id: int, acting: Acting, now: datetime) -> int:
    """Cards still in use are revoked for good; told to nobody (the holder asked)."""
    cards = db.session.scalars(
        select(Card).where(Card.holder_id == person_id, Card.state.in_(_CARDS_IN_USE))
    ).all()
    for card in cards:
        from_state = card.state
        card.state = next_card_state(card.state, CardAction.REVOKE)
        card.revoked_at = now
        card.revocation_reason = RevocationReason.HOLDER_REQUEST
        audit.record_change(
            acting,
            card,
            audit.AuditAction.REVOKE,
            from_state,
            CardState.REVOKED,
            RevocationReason.HOLDER_REQUEST.value,
        )
    return len(cards)


@dataclass(frozen=True)
class ErasurePreview:
    """What an erasure would do, for the confirmation step."""

    applications: int
    open_applications: int
    cards_in_use: int


def preview(person: User) -> ErasurePreview:
    """Counts of what the person's erasure would withdraw, revoke and delete."""
    states = db.session.scalars(
        select(Application.state).where(Application.applicant_id == person.id)
    ).all()
    cards = db.session.scalars(
        select(Card.id).where(Card.holder_id == person.id, Card.state.in_(_CARDS_IN_USE))
    ).all()
    return ErasurePreview(
        applications=len(states),
        open_applications=sum(1 for state in states if state in OPEN_STATES),
        cards_in_use=len(cards),
    )
