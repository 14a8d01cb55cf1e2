"""Accounts of volunteers, partners and staff."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.base import Base, UTCDateTime, enum_column, utcnow
from ehrenamt.models.office import Office


class UserRole(enum.StrEnum):
    """What an account may do; staff roles need a second factor."""

    VOLUNTEER = "volunteer"
    PARTNER = "partner"
    CLERK = "clerk"
    ADMIN = "admin"
    #: Runs the programme (a district or state): creates offices, and acts as an office
    #: admin in the office she has chosen to work in (``office_id``).
    PROGRAMME_ADMIN = "programme_admin"


STAFF_ROLES = frozenset({UserRole.CLERK, UserRole.ADMIN, UserRole.PROGRAMME_ADMIN})
#: The roles that may act as an office's admin.
ADMIN_ROLES = frozenset({UserRole.ADMIN, UserRole.PROGRAMME_ADMIN})


class User(UserMixin, Base):
    """A person who signs in."""

    __tablename__ = "user_account"
    # An office's staff (staff page, the audit log's actor filter) among 100,000s of
    # volunteers: without it each of those pages read every account (bench/insight.py).
    __table_args__ = (Index("ix_user_account_office_role", "office_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased; unique across the deployment. None for a person without e-mail whose
    #: paper application staff entered: such a row cannot sign in (every way in needs an
    #: address), holds the person's applications and cards like any account, and their
    #: notices become letters (ehrenamt/letters). Imported cards can point at such rows.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    #: argon2id hash; None for volunteers who sign in only with e-mailed links.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(enum_column(UserRole, 20))
    #: Staff and partners belong to one office; volunteers to none. A programme admin's
    #: is the office she works in now (she switches it), None until she picks one.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    #: Base32 TOTP secret; set once staff have enrolled their authenticator.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step accepted, so a code cannot be used twice.
    totp_last_step: Mapped[int | None]
    #: Second-factor codes checked since the last right one or the last lock, from any
    #: address (OWASP ASVS 2.2.1): in the database, so every web process counts them.
    second_factor_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Until when no second-factor code of this account is checked at all.
    second_factor_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Bumped to sign the account out everywhere (password change, deactivation).
    session_version: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    #: Preferred language of pages and e-mails.
    language: Mapped[str] = mapped_column(String(5), default="de")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the account last completed a sign-in (shown on the staff page).
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    office: Mapped[Office | None] = relationship()

    @property
    def is_staff(self) -> bool:
        """Clerks, office admins and programme admins."""
        return self.role in STAFF_ROLES

    @property
    def has_email(self) -> bool:
        """Whether notices reach the person by e-mail; otherwise they get letters."""
        return bool(self.email)

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    def get_id(self) -> str:
        """Session identity; includes the session version so bumping it signs out."""
        return f"{self.id}:{self.session_version}"
