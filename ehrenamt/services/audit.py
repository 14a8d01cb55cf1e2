"""Writing the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, User
from ehrenamt.workflow import Actor


@dataclass(frozen=True)
class Acting:
    """Who performs an operation: the role, the signed-in user if any, and a label."""

    actor: Actor
    user: User | None
    label: str

    @classmethod
    def user_as(cls, user: User, actor: Actor) -> Acting:
        """A signed-in user acting in ``actor``'s role."""
        return cls(actor, user, user.email)

    @classmethod
    def system(cls) -> Acting:
        """The service itself (periodic jobs, automatic steps)."""
        return cls(Actor.SYSTEM, None, "system")


def record(
    acting: Acting,
    *,
    subject_type: str,
    subject_id: int,
    action: str,
    office_id: int | None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add one audit row to the current transaction."""
    entry = AuditEntry(
        actor_id=acting.user.id if acting.user else None,
        actor_role=acting.actor.value,
        actor_label=acting.label[:254],
        office_id=office_id,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
    )
    db.session.add(entry)
    return entry
