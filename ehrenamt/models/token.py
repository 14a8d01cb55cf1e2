"""One-time links sent by e-mail: sign-in, e-mail confirmation, invitations, password resets."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.base import Base, UTCDateTime, enum_column, utcnow
from ehrenamt.models.user import User


class LinkPurpose(enum.StrEnum):
    """What a one-time link does."""

    SIGN_IN = "sign_in"
    CONFIRM_EMAIL = "confirm_email"
    #: A new staff member sets their first password.
    INVITATION = "invitation"
    #: Anyone who forgot their password sets a new one.
    RESET_PASSWORD = "reset_password"  # noqa: S105 - an action's name, not a password
    #: A registering partner confirms its address (the directory lists it after that).
    PARTNER_EMAIL = "partner_email"


class OneTimeLink(Base):
    """A secret link; only the SHA-256 of its token is stored."""

    __tablename__ = "one_time_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(enum_column(LinkPurpose, 20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
