"""Recovery codes: single-use stand-ins for a staff member's authenticator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ehrenamt.models.base import Base, UTCDateTime, utcnow


class RecoveryCode(Base):
    """One recovery code of a staff account; only the SHA-256 of the code is stored.

    Retention: a set lives until the person makes a new one, their second factor is
    reset (both delete the old set, used codes included) or the account is deleted.
    """

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: The codes carry 80 random bits, so a plain hash is as good as a slow one.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when the code is used; a used code never works again.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
