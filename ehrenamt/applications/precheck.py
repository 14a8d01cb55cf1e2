"""Before an application is sent: which of the office's rules the answers do not meet.

The form tells an applicant this before the organisations are mailed (issue #14); they
may still apply (a qualification, an exception the office may make). Only what is certain
from the answers is reported: what the office must check (a proof, residence in the
state, a postcode outside its list) is left to the clerk's eligibility panel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from ehrenamt.applications.eligibility import PLACE_RULE_LABELS, WEEKS_PER_YEAR, years_between
from ehrenamt.models import CardType, Office, PlaceRule, Qualification


@dataclass(frozen=True)
class Engaged:
    """One organisation's answers, as far as they are typed (None: not yet, or not
    readable)."""

    postcode: str | None = None
    hours_per_year: Decimal | None = None
    since: date | None = None
    allowance_euros_per_year: int | None = None


@dataclass(frozen=True)
class Answers:
    """What the form holds so far; every part may be missing."""

    card_type: CardType = CardType.STANDARD
    birth_date: date | None = None
    postcode: str | None = None
    qualification: Qualification | None = None
    honour: str | None = None
    engagements: list[Engaged] = field(default_factory=list)


@dataclass(frozen=True)
class Shortfall:
    """A rule the answers do not meet, in words for the applicant."""

    code: str
    text: str


def yearly_hours(per_week: Decimal | None, per_year: Decimal | None) -> Decimal | None:
    """Hours per year from the one the applicant typed (per week counts 52 weeks)."""
    if per_week is not None:
        return per_week * WEEKS_PER_YEAR
    return per_year


def shortfalls(office: Office, answers: Answers, today: date) -> list[Shortfall]:
    """The rules of ``office`` that ``answers`` certainly do not meet, in a fixed order."""
    rules = office.rules
    found: list[Shortfall] = []
    if rules.minimum_age and answers.birth_date is not None:
        age = years_between(answers.birth_date, today)
        if age < rules.minimum_age:
            found.append(_age(age, rules.minimum_age))
    # An accepted qualification replaces hours and years (with a proof the office checks).
    replaced = answers.qualification in rules.allowed_qualifications
    rows = answers.engagements
    hours = [row.hours_per_year for row in rows if row.hours_per_year is not None]
    if not replaced and hours:
        total = sum(hours, Decimal(0))
        needed_week = Decimal(rules.minimum_hours_per_week)
        if total < needed_week * WEEKS_PER_YEAR and total < rules.minimum_hours_per_year:
            found.append(_hours(total, needed_week, rules.minimum_hours_per_year))
    longest = max((years_between(row.since, today) for row in rows if row.since), default=None)
    if not replaced and longest is not None and longest < rules.minimum_years_engaged:
        found.append(_years(longest, rules.minimum_years_engaged))
    allowances = [r.allowance_euros_per_year for r in rows if r.allowance_euros_per_year]
    if rules.allowance_cap_euros is not None and max(allowances, default=0) > (
        rules.allowance_cap_euros
    ):
        found.append(_allowance(max(allowances), rules.allowance_cap_euros))
    if _outside_the_area(office, answers):
        found.append(
            Shortfall(
                "place",
                str(
                    _l(
                        "Wohn- bzw. Einsatzort: %(rule)s – die angegebenen Postleitzahlen "
                        "liegen nicht im Gebiet der Ausgabestelle.",
                        rule=PLACE_RULE_LABELS[rules.place_rule],
                    )
                ),
            )
        )
    if answers.card_type == CardType.LONG_SERVICE:
        found.extend(_long_service(office, answers, longest))
    return found


def _age(age: int, minimum: int) -> Shortfall:
    text = _l(
        "Mindestalter: Sie sind %(age)s Jahre alt, nötig sind %(minimum)s.",
        age=age,
        minimum=minimum,
    )
    return Shortfall("age", str(text))


def _hours(total: Decimal, needed_week: Decimal, needed_year: int) -> Shortfall:
    weekly = (total / WEEKS_PER_YEAR).quantize(Decimal("0.1"))
    text = _l(
        "Zeitlicher Umfang: zusammen %(weekly)s Stunden pro Woche (%(yearly)s im Jahr), "
        "nötig sind %(min_week)s pro Woche oder %(min_year)s im Jahr.",
        weekly=format_decimal(weekly, format="#,##0.0"),
        yearly=format_decimal(total.quantize(Decimal(1))),
        min_week=format_decimal(needed_week, format="#,##0.0"),
        min_year=format_decimal(needed_year),
    )
    return Shortfall("hours", str(text))


def _years(years: int, minimum: int) -> Shortfall:
    text = _l(
        "Dauer des Engagements: seit %(years)s Jahren, nötig sind %(minimum)s Jahre.",
        years=years,
        minimum=minimum,
    )
    return Shortfall("years", str(text))


def _allowance(highest: int, cap: int) -> Shortfall:
    text = _l(
        "Aufwandsentschädigung: %(highest)s € im Jahr, erlaubt sind höchstens %(cap)s €.",
        highest=format_decimal(highest),
        cap=format_decimal(cap),
    )
    return Shortfall("allowance", str(text))


def _outside_the_area(office: Office, answers: Answers) -> bool:
    """Whether the postcodes typed certainly fail the place rule (an office without a
    postcode list, or a rule on the state, leaves it to the clerk)."""
    lives_here = office.covers_postcode(answers.postcode)
    typed = [row.postcode for row in answers.engagements if row.postcode]
    engaged = [office.covers_postcode(postcode) for postcode in typed]
    engaged_elsewhere = bool(engaged) and all(here is False for here in engaged)
    rule = office.rules.place_rule
    if rule == PlaceRule.LIVING_HERE:
        return lives_here is False
    if rule == PlaceRule.ENGAGED_OR_LIVING_HERE:
        return lives_here is False and engaged_elsewhere
    return engaged_elsewhere  # engaged here (and, for one rule, living in the state)


def _long_service(office: Office, answers: Answers, longest: int | None) -> list[Shortfall]:
    rules = office.rules
    if not rules.long_service_card:
        text = _l("Jubiläumskarte: Diese Ausgabestelle gibt keine Jubiläumskarte aus.")
        return [Shortfall("long_service", str(text))]
    if answers.honour or longest is None or longest >= rules.long_service_years:
        return []
    text = _l(
        "Jubiläumskarte: seit %(years)s Jahren engagiert, nötig sind %(minimum)s Jahre "
        "oder eine staatliche Ehrung.",
        years=longest,
        minimum=rules.long_service_years,
    )
    return [Shortfall("long_service", str(text))]
