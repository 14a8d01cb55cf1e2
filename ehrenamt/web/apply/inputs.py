"""What the application forms (online and paper) hand to the domain."""

from __future__ import annotations

import secrets
from decimal import ROUND_HALF_UP

from ehrenamt.applications.submission import ApplicationInput, EngagementInput
from ehrenamt.models import CardType, Office, Qualification, Upload
from ehrenamt.privacy import notice
from ehrenamt.web.apply.forms import ApplicationForm, EngagementForm
from ehrenamt.web.pages import current_language


def application_input(
    form: ApplicationForm, office: Office, proof: Upload | None, *, email: str | None
) -> ApplicationInput:
    """The validated form as the domain's input (without a password)."""
    return ApplicationInput(
        submission_key=form.submission_key.data or secrets.token_urlsafe(24),
        office=office,
        card_type=CardType(form.card_type.data),
        first_name=form.first_name.data.strip(),
        last_name=form.last_name.data.strip(),
        birth_date=form.birth_date.data,
        street=form.street.data.strip(),
        postcode=form.postcode.data.strip(),
        town=form.town.data.strip(),
        email=email or "",
        phone=(form.phone.data or "").strip() or None,
        qualification=Qualification(form.qualification.data) if form.qualification.data else None,
        honour=(form.honour.data or "").strip() or None,
        consent_version=office.rules.privacy_notice_version,
        privacy_notice_id=notice.current_notice(office).id,
        language=current_language(),
        engagements=[engagement_input(e) for e in form.used_engagements()],
        proof=proof,
    )


def engagement_input(form: EngagementForm) -> EngagementInput:
    """One filled-in organisation row."""
    hours = form.hours.data
    assert hours is not None  # the form requires the hours of every row it passes on
    per_week = form.hours_unit.data == "week"
    return EngagementInput(
        organisation_name=form.organisation_name.data.strip(),
        organisation_postcode=(form.organisation_postcode.data or "").strip() or None,
        contact_name=form.contact_name.data.strip(),
        contact_email=form.contact_email.data or None,
        activity=form.activity.data.strip(),
        hours_per_week=hours if per_week else None,
        hours_per_year=None if per_week else int(hours.to_integral_value(ROUND_HALF_UP)),
        engaged_since=form.engaged_since.data,
        allowance_euros_per_year=form.allowance.data or 0,
    )
