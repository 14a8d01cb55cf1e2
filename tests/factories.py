"""Building test data through the real services (or plainly, where a state is set up)."""

from __future__ import annotations

import itertools
import secrets
from datetime import date, timedelta
from decimal import Decimal

import pyotp

from ehrenamt.accounts import users
from ehrenamt.applications import submission
from ehrenamt.extensions import db
from ehrenamt.models import (
    STAFF_ROLES,
    Application,
    CardType,
    ConfirmationState,
    Engagement,
    Office,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.offices.setup import create_office
from ehrenamt.workflow import ApplicationState

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_office(
    slug: str | None = None, preset: str = "dessau_rosslau", postcodes: str = "06844 06846"
) -> Office:
    """An office with rules from a preset."""
    n = next(_counter)
    office = create_office(
        f"Stadt Test {n}", slug or f"test-{n}", f"office{n}@example.org", preset, postcodes
    )
    db.session.commit()
    return office


def make_user(
    role: UserRole,
    office: Office | None = None,
    email: str | None = None,
    *,
    totp: bool = True,
    confirmed: bool = True,
    password: str | None = PASSWORD,
) -> User:
    """An account; staff get a TOTP secret unless ``totp=False``."""
    n = next(_counter)
    user = users.create_user(
        email or f"{role.value}{n}@example.org",
        role,
        password=password,
        office=office,
        display_name=f"{role.value} {n}",
        totp_secret=pyotp.random_base32() if totp and role in STAFF_ROLES else None,
        email_confirmed=confirmed,
    )
    db.session.commit()
    return user


def make_application(
    office: Office,
    applicant: User | None = None,
    *,
    state: ApplicationState = ApplicationState.IN_REVIEW,
    engagements: int = 1,
    hours_per_week: Decimal = Decimal(6),
    engaged_since: date | None = None,
    birth_date: date = date(1980, 5, 17),
    first_name: str = "Erika",
    last_name: str | None = None,
    card_type: CardType = CardType.STANDARD,
    organisation: str = "TSV Dessau",
    confirmation: ConfirmationState | None = None,
) -> Application:
    """An application already in ``state`` (as if it had got there through the workflow)."""
    applicant = applicant or make_user(UserRole.VOLUNTEER)
    n = next(_counter)
    last_name = last_name or f"Mustermann{n}"
    now = utcnow()
    application = Application(
        public_id=secrets.token_urlsafe(16),
        submission_key=secrets.token_urlsafe(24),
        office_id=office.id,
        applicant_id=applicant.id,
        state=state,
        card_type=card_type,
        first_name=first_name,
        last_name=last_name,
        search_name=f"{first_name} {last_name}".lower(),
        birth_date=birth_date,
        street="Hauptstraße 1",
        postcode="06844",
        town="Dessau-Roßlau",
        consent_version="2026-01",
        consent_at=now,
        submitted_at=now,
        state_changed_at=now,
    )
    if confirmation is None:
        confirmation = {
            ApplicationState.SUBMITTED: ConfirmationState.NOT_SENT,
            ApplicationState.AWAITING_CONFIRMATION: ConfirmationState.PENDING,
        }.get(state, ConfirmationState.CONFIRMED)
    for i in range(engagements):
        name = organisation if i == 0 else f"{organisation} {i + 1}"
        application.engagements.append(
            Engagement(
                organisation_name=name,
                organisation_key=name.lower(),
                organisation_postcode="06844",
                contact_name="Vorsitz",
                contact_email=f"vorstand{n}-{i}@verein.example.org",
                activity="Übungsleitung",
                hours_per_week=hours_per_week,
                engaged_since=engaged_since or date.today() - timedelta(days=5 * 365),
                confirmation_state=confirmation,
            )
        )
    db.session.add(application)
    db.session.commit()
    return application


def application_form_data(office: Office, /, **changes: str | None) -> dict[str, str]:
    """A complete, valid POST of the application form at /antrag/ with one engagement.

    ``changes`` replace fields (``engagements-0-hours="6"``); ``None`` leaves a field out.
    """
    data = {
        "submission_key": secrets.token_urlsafe(24),
        "proof_token": "",
        "office": str(office.id),
        "card_type": CardType.STANDARD.value,
        "first_name": "Erika",
        "last_name": "Musterfrau",
        "birth_date": "1980-05-17",
        "street": "Zerbster Straße 4",
        "postcode": "06844",
        "town": "Dessau-Roßlau",
        "email": f"erika{next(_counter)}@example.org",
        "phone": "0340 123456",
        "password": "ein langes Passwort",
        "engagements-0-organisation_name": "TSV Dessau",
        "engagements-0-organisation_postcode": "06846",
        "engagements-0-contact_name": "Hans Vorsitz",
        "engagements-0-contact_email": f"vorstand{next(_counter)}@tsv.example.org",
        "engagements-0-activity": "Übungsleiterin im Jugendfußball",
        "engagements-0-hours": "6",
        "engagements-0-hours_unit": "week",
        "engagements-0-engaged_since": (date.today() - timedelta(days=5 * 365)).isoformat(),
        "engagements-0-allowance": "0",
        "qualification": "",
        "honour": "",
        "consent": "y",
    }
    data.update(changes)  # type: ignore[arg-type]
    return {name: value for name, value in data.items() if value is not None}


def submit_application_for(
    office: Office,
    applicant: User | None = None,
    *,
    email: str | None = None,
    engagements: list[submission.EngagementInput] | None = None,
    first_name: str = "Erika",
    last_name: str | None = None,
    birth_date: date = date(1980, 5, 17),
    street: str = "Hauptstraße 1",
    postcode: str = "06844",
    town: str = "Dessau-Roßlau",
    phone: str | None = None,
) -> Application:
    """An application submitted through the real service, mails queued as in production.

    With a confirmed ``applicant`` it moves on to awaiting confirmation at once and every
    organisation is mailed its link; without one, a new unconfirmed account is created
    (address ``email``) and mailed the e-mail confirmation link.
    """
    n = next(_counter)
    if engagements is None:
        engagements = [
            submission.EngagementInput(
                organisation_name="TSV Dessau",
                contact_name="Vorsitz",
                contact_email=f"vorstand{n}@verein.example.org",
                activity="Übungsleitung",
                engaged_since=date.today() - timedelta(days=5 * 365),
                hours_per_week=Decimal(6),
            )
        ]
    result = submission.submit_application(
        submission.ApplicationInput(
            submission_key=secrets.token_urlsafe(24),
            office=office,
            card_type=CardType.STANDARD,
            first_name=first_name,
            last_name=last_name or f"Mustermann{n}",
            birth_date=birth_date,
            street=street,
            postcode=postcode,
            town=town,
            email=applicant.email if applicant else email or f"antrag{n}@example.org",
            phone=phone,
            consent_version=office.rules.privacy_notice_version,
            engagements=engagements,
        ),
        applicant,
    )
    return result.application


#: The text fields of an engagement row of the application form.
ENGAGEMENT_TEXT_FIELDS = (
    "organisation_name",
    "organisation_postcode",
    "contact_name",
    "contact_email",
    "activity",
    "hours",
    "engaged_since",
)


def blank_engagement_row(index: int = 0) -> dict[str, str]:
    """Form data that leaves engagement row ``index`` empty (an unused row)."""
    return {f"engagements-{index}-{field}": "" for field in ENGAGEMENT_TEXT_FIELDS}
