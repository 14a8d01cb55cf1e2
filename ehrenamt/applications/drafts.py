"""Drafts of the application form: saved unfinished, continued from an e-mailed link or
from the account, deleted when submitted, expired or the person is erased.

A draft holds the form's text answers only. No password (it would sit in the database
readable), and no file: a proof chosen before saving is not stored by a draft, so it
follows the rule of every unsubmitted upload (deleted after UNCLAIMED_UPLOAD_HOURS) and
is chosen again before submitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select

from ehrenamt.accounts.users import normalise_email
from ehrenamt.core import mail, outbox, security
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import ApplicationDraft, User, utcnow

#: The longest value kept of one field: longer than any field of the form allows, so
#: nothing typed is cut, yet a forged post cannot fill the table.
LONGEST_VALUE = 2000


@dataclass
class SavedDraft:
    """A saved draft, and whether a new link was mailed for it."""

    draft: ApplicationDraft
    mailed: bool


def max_age() -> timedelta:
    """How long a draft lives after its last save."""
    return timedelta(days=int(current_app.config["DRAFT_MAX_AGE_DAYS"]))


def save_draft(
    answers: dict[str, list[str]], email: str, user: User | None, draft_id: int | None
) -> SavedDraft:
    """Save ``answers`` as the draft ``draft_id`` (the one this visitor is continuing) or
    as a new one, and commit.

    A new draft, or one whose address changed, gets a new link by mail (the old link
    dies); saving again to the same address keeps the link, so saving often sends one
    mail only.
    """
    email = normalise_email(email)
    now = utcnow()
    draft = _live(draft_id) if draft_id is not None else None
    if draft is not None and user is not None and draft.user_id not in (None, user.id):
        draft = None
    answers = {
        name: [value[:LONGEST_VALUE] for value in values] for name, values in answers.items()
    }
    mailed = draft is None or draft.email != email
    if draft is None:
        draft = ApplicationDraft(email=email, token_hash="", answers={}, created_at=now)
        db.session.add(draft)
    draft.email = email
    draft.answers = answers
    draft.saved_at = now
    draft.expires_at = now + max_age()
    if user is not None:
        draft.user_id = user.id
    if mailed:
        token = security.new_token()
        draft.token_hash = security.hash_token(token)
        mail.queue_mail(
            email,
            _("Ihr gespeicherter Antrag auf die Ehrenamtskarte"),
            "draft_saved",
            link=external_url("apply.open_draft", token=token),
            expires_at=draft.expires_at,
        )
    outbox.commit()
    return SavedDraft(draft=draft, mailed=mailed)


def _live(draft_id: int) -> ApplicationDraft | None:
    draft = db.session.get(ApplicationDraft, draft_id)
    if draft is None or draft.expires_at < utcnow():
        return None
    return draft


def find_by_token(token: str) -> ApplicationDraft | None:
    """The unexpired draft of a link's token, if any."""
    draft = db.session.scalar(
        select(ApplicationDraft).where(ApplicationDraft.token_hash == security.hash_token(token))
    )
    if draft is None or draft.expires_at < utcnow():
        return None
    return draft


def find_live(draft_id: int) -> ApplicationDraft | None:
    """The draft a visitor is continuing (its id kept in their session), unless expired
    or already gone."""
    return _live(draft_id)


def drafts_of(user: User) -> list[ApplicationDraft]:
    """A signed-in applicant's unexpired drafts, newest first, for the account page:
    saved while signed in, or to the account's address once it is confirmed (whoever
    confirmed it reads the mails to it, the draft's link included)."""
    return list(
        db.session.scalars(
            select(ApplicationDraft)
            .where(_in_account(user), ApplicationDraft.expires_at >= utcnow())
            .order_by(ApplicationDraft.saved_at.desc())
        )
    )


def get_for_user(user: User, draft_id: int) -> ApplicationDraft | None:
    """The applicant's own unexpired draft (see :func:`drafts_of`); None for anyone
    else's."""
    return db.session.scalar(
        select(ApplicationDraft).where(
            ApplicationDraft.id == draft_id,
            _in_account(user),
            ApplicationDraft.expires_at >= utcnow(),
        )
    )


def _in_account(user: User) -> Any:
    if user.email and user.email_confirmed_at is not None:
        return _of_person(user)
    return ApplicationDraft.user_id == user.id


def discard_draft(draft_id: int) -> None:
    """Delete a draft (its application was submitted), and commit."""
    db.session.execute(delete(ApplicationDraft).where(ApplicationDraft.id == draft_id))
    db.session.commit()


def _of_person(user: User) -> Any:
    """Drafts that belong to a person: saved while signed in, or to their address."""
    mine = ApplicationDraft.user_id == user.id
    if not user.email:
        return mine
    return or_(mine, ApplicationDraft.email == normalise_email(user.email))


def drafts_of_person(user: User) -> list[ApplicationDraft]:
    """Every draft of a person, expired ones too, for their data export."""
    return list(
        db.session.scalars(
            select(ApplicationDraft).where(_of_person(user)).order_by(ApplicationDraft.id)
        )
    )


def delete_drafts_of_person(user: User) -> int:
    """Delete a person's drafts (their erasure; the caller commits); how many."""
    result = db.session.execute(
        delete(ApplicationDraft)
        .where(_of_person(user))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
