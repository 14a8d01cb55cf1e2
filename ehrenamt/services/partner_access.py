"""Which partner a partner account works for."""

from __future__ import annotations

from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Partner, PartnerMember, User, UserRole


def partner_of(user: User) -> Partner | None:
    """The partner ``user`` works for; None for other roles or an account without one."""
    if user.role != UserRole.PARTNER:
        return None
    return db.session.scalar(
        select(Partner).join(PartnerMember).where(PartnerMember.user_id == user.id)
    )
