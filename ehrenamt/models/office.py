"""Issuing offices and the programme rules each office applies."""

from __future__ import annotations

import enum
from decimal import Decimal

from sqlalchemy import ForeignKey, LargeBinary, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ehrenamt.models.base import Base, enum_column


class PlaceRule(enum.StrEnum):
    """Where a volunteer must be engaged or live; the office's postcodes define "here"."""

    ENGAGED_HERE_LIVING_IN_STATE = "engaged_here_living_in_state"
    LIVING_HERE = "living_here"
    ENGAGED_HERE = "engaged_here"
    ENGAGED_OR_LIVING_HERE = "engaged_or_living_here"


class Qualification(enum.StrEnum):
    """Qualifications that can replace the hours test, if the programme allows them."""

    JULEICA = "juleica"
    FIRE_BRIGADE = "fire_brigade"
    RESCUE_SERVICE = "rescue_service"
    VOLUNTARY_SERVICE_YEAR = "voluntary_service_year"


class Programme(Base):
    """A state's card programme; its offices issue cards valid everywhere in it."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Shown on pages and cards, e.g. "Ehrenamtskarte Sachsen-Anhalt".
    name: Mapped[str] = mapped_column(String(200))

    offices: Mapped[list[Office]] = relationship(back_populates="programme")


class Office(Base):
    """An issuing office (town or district); staff see only their own office's data."""

    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id"))
    #: Shown to applicants, e.g. "Stadt Dessau-Roßlau".
    name: Mapped[str] = mapped_column(String(200))
    #: Short, unique, used in URLs and on cards.
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    #: Where replies to applicants go.
    contact_email: Mapped[str] = mapped_column(String(254))
    #: The office's postal address below its name, one line each (department, street,
    #: postcode and town): the sender of its letters (DIN 5008 return line, letterhead).
    postal_address: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Telephone number for applicants and card holders, as the office writes it.
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    #: Opening hours, free text, one line per day or range of days.
    opening_hours: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The Impressum (TMG/DDG provider identification) the public pages link to.
    imprint: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The office's logo or coat of arms, always a PNG the app rasterised or re-encoded
    #: itself (never the uploaded bytes, never SVG); kept as long as the office is, and
    #: replaced or removed by its admin. No personal data.
    logo_png: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    #: Postcodes of the office's area, separated by spaces; "here" for the place rule.
    postcodes: Mapped[str] = mapped_column(Text, default="")

    programme: Mapped[Programme] = relationship(back_populates="offices")
    rules: Mapped[ProgrammeRules] = relationship(back_populates="office", uselist=False)

    def covers_postcode(self, postcode: str | None) -> bool | None:
        """Whether a postcode lies in the office's area; None if the area is not set."""
        area = self.postcodes.split()
        if not area or not postcode:
            return None
        return postcode.strip() in area


class ProgrammeRules(Base):
    """The eligibility rules an office applies; data, editable by its admin."""

    __tablename__ = "programme_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), unique=True)
    #: Name of the preset these rules started from, for the admin's orientation.
    preset: Mapped[str] = mapped_column(String(40), default="dessau_rosslau")
    #: Minimum age in years on the day of application; None means no minimum.
    minimum_age: Mapped[int | None]
    #: The hours test holds if either of these is reached (hours add up across
    #: organisations).
    minimum_hours_per_week: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    minimum_hours_per_year: Mapped[int]
    #: Years the volunteer must have been engaged (the longest engagement counts).
    minimum_years_engaged: Mapped[int]
    #: Largest yearly allowance in euros that still counts as unpaid; None means no
    #: cap, 0 means only unpaid engagements count.
    allowance_cap_euros: Mapped[int | None]
    place_rule: Mapped[PlaceRule] = mapped_column(enum_column(PlaceRule, 40))
    #: Years a standard card is valid.
    validity_years: Mapped[int]
    #: Whether long-service cards (valid without end) are offered, and the years of
    #: engagement they need.
    long_service_card: Mapped[bool] = mapped_column(default=True)
    long_service_years: Mapped[int] = mapped_column(default=25)
    #: Qualifications that replace the hours test, separated by spaces.
    qualifications: Mapped[str] = mapped_column(Text, default="")
    #: Days after which organisations that have not answered get a reminder.
    reminder_after_days: Mapped[int] = mapped_column(default=7)
    #: Days a confirmation link for an organisation stays valid.
    confirmation_link_days: Mapped[int] = mapped_column(default=30)
    #: Version of the privacy notice applicants consent to; recorded with each
    #: application.
    privacy_notice_version: Mapped[str] = mapped_column(String(40), default="2026-01")

    # Retention periods (DSGVO Art. 5(1)(e)), enforced by privacy.retention's job and
    # stated on the office's privacy page. The defaults are DESIGN.md's.
    #: Months a rejected or withdrawn application (with engagements, confirmations and
    #: uploads) is kept after its decision.
    retention_decided_months: Mapped[int] = mapped_column(default=6, server_default="6")
    #: Months an approved application and its card holder data are kept after the last
    #: card's end (expiry or revocation).
    retention_card_months: Mapped[int] = mapped_column(default=12, server_default="12")
    #: Days an application is kept whose applicant never confirmed their e-mail address.
    retention_unconfirmed_days: Mapped[int] = mapped_column(default=30, server_default="30")
    #: Days the records of online checks of the office's cards are kept.
    retention_check_days: Mapped[int] = mapped_column(default=90, server_default="90")

    office: Mapped[Office] = relationship(back_populates="rules")

    @property
    def allowed_qualifications(self) -> list[Qualification]:
        """The qualifications that replace the hours test, as enum members."""
        return [Qualification(code) for code in self.qualifications.split()]
