"""Exports of an office's personal data: each one audited (who, what, which filters)."""

from __future__ import annotations

from ehrenamt.core import audit
from ehrenamt.core.access import check_staff
from ehrenamt.extensions import db


def record_export(acting: audit.Acting, office_id: int, what: str, filters: str) -> None:
    """Audit an export before its first byte is sent, and commit: a download cut off
    half-way still happened. ``what`` names the data and format ("cards.csv"), ``filters``
    the list's filters as the request gave them (no names: they are search terms)."""
    check_staff(acting, office_id, what)
    audit.record(
        acting,
        subject_type=audit.Subject.OFFICE,
        subject_id=office_id,
        action=audit.AuditAction.EXPORT,
        office_id=office_id,
        reason=f"{what} {filters}".strip()[:2000],
    )
    db.session.commit()
