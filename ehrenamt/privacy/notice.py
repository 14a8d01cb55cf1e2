"""The office's privacy notice, generated from the periods actually configured and the
office's controller and contact, kept in versions (privacy_notice)."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ehrenamt.extensions import db
from ehrenamt.models import Office, PrivacyNotice
from ehrenamt.privacy.periods import OfficePeriods, deployment_periods

#: The template of the notice's body; the page shows it in the visitor's language, the
#: stored text is its German rendering.
BODY_TEMPLATE = "public/privacy_notice_body.html"


def notice_content(office: Office) -> dict[str, Any]:
    """What the office's notice states now."""
    periods = OfficePeriods.of(office.rules)
    deployment = deployment_periods()
    return {
        "controller": office.name,
        "contact_email": office.contact_email,
        "data_protection_officer": current_app.config["PRIVACY_DATA_PROTECTION_OFFICER"],
        "decided_months": periods.decided_months,
        "card_months": periods.card_months,
        "unconfirmed_days": periods.unconfirmed_days,
        "check_days": periods.check_days,
        "unclaimed_upload_hours": deployment.unclaimed_upload_hours,
        "sent_mail_days": deployment.sent_mail_days,
        # A used e-mail change keeps the old address as long as mails to it, and a day.
        "old_email_days": deployment.sent_mail_days + 1,
        "letter_days": deployment.letter_days,
        "print_run_days": deployment.print_run_days,
        "export_days": deployment.export_days,
        "name_change_days": deployment.name_change_days,
        "draft_days": deployment.draft_days,
    }


def latest_notice(office_id: int) -> PrivacyNotice | None:
    """The newest stored version, if any."""
    return db.session.scalar(
        select(PrivacyNotice)
        .where(PrivacyNotice.office_id == office_id)
        .order_by(PrivacyNotice.version.desc())
        .limit(1)
    )


def current_notice(office: Office) -> PrivacyNotice:
    """The version stating what holds now; made (and committed) if what the office
    states changed since the newest one. Two requests making it at once: one wins, the
    other reads the winner's."""
    content = notice_content(office)
    latest = latest_notice(office.id)
    if latest is not None and latest.content == content:
        return latest
    with force_locale("de"):
        text = render_template(BODY_TEMPLATE, content=content)
    notice = PrivacyNotice(
        office_id=office.id,
        version=latest.version + 1 if latest else 1,
        content=content,
        text=text,
    )
    db.session.add(notice)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = latest_notice(office.id)
        assert winner is not None
        return winner
    return notice


def notice_version(office_id: int, version: int) -> PrivacyNotice | None:
    """One stored version, old or current."""
    return db.session.scalar(
        select(PrivacyNotice).where(
            PrivacyNotice.office_id == office_id, PrivacyNotice.version == version
        )
    )


def versions(office_id: int) -> list[PrivacyNotice]:
    """Every version of the office's notice, newest first."""
    return list(
        db.session.scalars(
            select(PrivacyNotice)
            .where(PrivacyNotice.office_id == office_id)
            .order_by(PrivacyNotice.version.desc())
        )
    )
