"""The eligibility check: rule by rule, what holds and what does not. It advises only."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from ehrenamt.models import (
    Application,
    CardType,
    ConfirmationState,
    PlaceRule,
    ProgrammeRules,
)

WEEKS_PER_YEAR = 52


class Outcome(enum.StrEnum):
    """Result of one rule."""

    MET = "met"
    NOT_MET = "not_met"
    #: The service cannot decide; the clerk must look (e.g. residence in the state).
    CHECK = "check"


@dataclass(frozen=True)
class RuleCheck:
    """One rule's result, with what was found."""

    code: str
    title: str
    outcome: Outcome
    detail: str


def years_between(start: date, end: date) -> int:
    """Whole years from ``start`` to ``end`` (birthdays, anniversaries)."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def check_application(
    application: Application, rules: ProgrammeRules, today: date
) -> list[RuleCheck]:
    """Every rule of the programme applied to the application, in a fixed order."""
    checks = [
        _check_age(application, rules, today),
        _check_hours(application, rules),
        _check_years(application, rules, today),
        _check_allowance(application, rules),
        _check_place(application, rules),
        _check_confirmations(application),
    ]
    if application.card_type == CardType.LONG_SERVICE:
        checks.append(_check_long_service(application, rules, today))
    return checks


def _check_age(application: Application, rules: ProgrammeRules, today: date) -> RuleCheck:
    age = years_between(application.birth_date, today)
    if rules.minimum_age is None:
        return RuleCheck("age", str(_l("Mindestalter")), Outcome.MET, str(_l("kein Mindestalter")))
    outcome = Outcome.MET if age >= rules.minimum_age else Outcome.NOT_MET
    detail = str(_l("%(age)s Jahre (mindestens %(minimum)s)", age=age, minimum=rules.minimum_age))
    return RuleCheck("age", str(_l("Mindestalter")), outcome, detail)


#: Organisations that have vouched for the hours (or a clerk in their place).
_ANSWERED_FOR = (ConfirmationState.CONFIRMED, ConfirmationState.OVERRIDDEN)


def _exact_yearly_hours(application: Application, *, confirmed_only: bool = False) -> Decimal:
    """Hours per year across all engagements, unrounded (declined ones excluded; with
    ``confirmed_only`` also those no organisation has confirmed yet)."""
    yearly = Decimal(0)
    for engagement in application.engagements:
        if engagement.confirmation_state == ConfirmationState.DECLINED:
            continue
        if confirmed_only and engagement.confirmation_state not in _ANSWERED_FOR:
            continue
        per_week = engagement.effective_hours_per_week
        per_year = engagement.effective_hours_per_year
        if per_week is not None:
            yearly += Decimal(per_week) * WEEKS_PER_YEAR
        elif per_year is not None:
            yearly += Decimal(per_year)
    return yearly


def weekly_and_yearly_hours(application: Application) -> tuple[Decimal, Decimal]:
    """Hours across all engagements, as per week and per year, rounded for display."""
    yearly = _exact_yearly_hours(application)
    return (yearly / WEEKS_PER_YEAR).quantize(Decimal("0.1")), yearly.quantize(Decimal(1))


def _check_hours(application: Application, rules: ProgrammeRules) -> RuleCheck:
    title = str(_l("Zeitlicher Umfang"))
    if application.qualification is not None:
        allowed = application.qualification in rules.allowed_qualifications
        if allowed:
            return RuleCheck(
                "hours",
                title,
                Outcome.CHECK,
                str(_l("Ersetzt durch Qualifikation – Nachweis prüfen")),
            )

    # Compared on the exact yearly sum (weekly * 52 is exact, a division is not): the
    # rounded display value would let 3.96 h/week pass a 4 h/week minimum.
    def enough(yearly: Decimal) -> bool:
        return (
            yearly >= rules.minimum_hours_per_week * WEEKS_PER_YEAR
            or yearly >= rules.minimum_hours_per_year
        )

    # Met only on confirmed hours; enough only with hours an organisation has not answered
    # for yet is "to check", not met (issue #14).
    if enough(_exact_yearly_hours(application, confirmed_only=True)):
        outcome = Outcome.MET
    elif enough(_exact_yearly_hours(application)):
        outcome = Outcome.CHECK
    else:
        outcome = Outcome.NOT_MET
    weekly, yearly = weekly_and_yearly_hours(application)
    detail = str(
        _l(
            "%(weekly)s h/Woche bzw. %(yearly)s h/Jahr (nötig: %(min_week)s h/Woche oder "
            "%(min_year)s h/Jahr)",
            # In the page's language (issue #14): "5,0 h/Woche" in German, "5.0" in English.
            weekly=format_decimal(weekly, format="#,##0.0"),
            yearly=format_decimal(yearly),
            min_week=format_decimal(rules.minimum_hours_per_week, format="#,##0.##"),
            min_year=format_decimal(rules.minimum_hours_per_year),
        )
    )
    return RuleCheck("hours", title, outcome, detail)


def _longest_years(application: Application, today: date) -> int:
    engaged = [
        years_between(e.engaged_since, today)
        for e in application.engagements
        if e.confirmation_state != ConfirmationState.DECLINED
    ]
    return max(engaged, default=0)


def _check_years(application: Application, rules: ProgrammeRules, today: date) -> RuleCheck:
    title = str(_l("Dauer des Engagements"))
    if application.qualification is not None and not application.engagements:
        return RuleCheck(
            "years", title, Outcome.CHECK, str(_l("Nachweis der Qualifikation prüfen"))
        )
    years = _longest_years(application, today)
    outcome = Outcome.MET if years >= rules.minimum_years_engaged else Outcome.NOT_MET
    detail = str(
        _l(
            "%(years)s Jahre (mindestens %(minimum)s)",
            years=years,
            minimum=rules.minimum_years_engaged,
        )
    )
    return RuleCheck("years", title, outcome, detail)


def _check_allowance(application: Application, rules: ProgrammeRules) -> RuleCheck:
    title = str(_l("Aufwandsentschädigung"))
    # A declined engagement counts for nothing, so its allowance does not either.
    highest = max(
        (
            e.allowance_euros_per_year
            for e in application.engagements
            if e.confirmation_state != ConfirmationState.DECLINED
        ),
        default=0,
    )
    if rules.allowance_cap_euros is None:
        return RuleCheck("allowance", title, Outcome.MET, str(_l("keine Obergrenze")))
    met = highest <= rules.allowance_cap_euros
    detail = str(
        _l(
            "höchstens %(highest)s €/Jahr (Grenze: %(cap)s €)",
            highest=format_decimal(highest),
            cap=format_decimal(rules.allowance_cap_euros),
        )
    )
    return RuleCheck("allowance", title, Outcome.MET if met else Outcome.NOT_MET, detail)


def _check_place(application: Application, rules: ProgrammeRules) -> RuleCheck:
    title = str(_l("Wohn- bzw. Einsatzort"))
    office = application.office
    lives_here = office.covers_postcode(application.postcode)
    engaged_here_values = [
        office.covers_postcode(e.organisation_postcode) for e in application.engagements
    ]
    engaged_here: bool | None
    if any(v is True for v in engaged_here_values):
        engaged_here = True
    elif engaged_here_values and all(v is False for v in engaged_here_values):
        engaged_here = False
    else:
        engaged_here = None

    rule = rules.place_rule
    if rule == PlaceRule.LIVING_HERE:
        result = lives_here
    elif rule == PlaceRule.ENGAGED_HERE:
        result = engaged_here
    elif rule == PlaceRule.ENGAGED_OR_LIVING_HERE:
        result = (
            True
            if (lives_here or engaged_here)
            else (None if None in (lives_here, engaged_here) else False)
        )
    elif engaged_here is False:  # engaged here, living in the state
        result = False
    else:
        # The state cannot be read from a postcode, but a home in the office's own list
        # lies in it: engaged and living here is met (issue #14).
        result = True if engaged_here and lives_here else None
    detail = str(
        _l(
            "Wohnort: %(postcode)s %(town)s; Regel: %(rule)s",
            postcode=application.postcode,
            town=application.town,
            rule=PLACE_RULE_LABELS[rule],
        )
    )
    outcome = Outcome.CHECK if result is None else (Outcome.MET if result else Outcome.NOT_MET)
    return RuleCheck("place", title, outcome, detail)


def _check_confirmations(application: Application) -> RuleCheck:
    title = str(_l("Bestätigung der Organisationen"))
    states = [e.confirmation_state for e in application.engagements]
    if not states:
        return RuleCheck(
            "confirmations", title, Outcome.CHECK, str(_l("keine Organisation angegeben"))
        )
    if ConfirmationState.DECLINED in states:
        outcome = Outcome.NOT_MET
    elif all(s in (ConfirmationState.CONFIRMED, ConfirmationState.OVERRIDDEN) for s in states):
        outcome = Outcome.MET
    else:
        outcome = Outcome.CHECK
    answered = sum(
        s != ConfirmationState.PENDING and s != ConfirmationState.NOT_SENT for s in states
    )
    detail = str(_l("%(answered)s von %(total)s beantwortet", answered=answered, total=len(states)))
    return RuleCheck("confirmations", title, outcome, detail)


def _check_long_service(application: Application, rules: ProgrammeRules, today: date) -> RuleCheck:
    title = str(_l("Jubiläums-/Ehrenkarte"))
    if not rules.long_service_card:
        return RuleCheck(
            "long_service", title, Outcome.NOT_MET, str(_l("wird hier nicht ausgegeben"))
        )
    if application.honour:
        return RuleCheck(
            "long_service",
            title,
            Outcome.CHECK,
            str(_l("Ehrung angegeben: %(honour)s", honour=application.honour)),
        )
    years = _longest_years(application, today)
    outcome = Outcome.MET if years >= rules.long_service_years else Outcome.NOT_MET
    detail = str(
        _l("%(years)s Jahre (nötig: %(minimum)s)", years=years, minimum=rules.long_service_years)
    )
    return RuleCheck("long_service", title, outcome, detail)


PLACE_RULE_LABELS = {
    PlaceRule.ENGAGED_HERE_LIVING_IN_STATE: _l("Engagement in der Kommune, Wohnsitz im Land"),
    PlaceRule.LIVING_HERE: _l("Wohnsitz im Gebiet der Ausgabestelle"),
    PlaceRule.ENGAGED_HERE: _l("Engagement im Gebiet der Ausgabestelle"),
    PlaceRule.ENGAGED_OR_LIVING_HERE: _l("Engagement oder Wohnsitz im Gebiet"),
}
