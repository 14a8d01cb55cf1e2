"""Reading the application form's answers for the eligibility pre-check, leniently: on
submit from a valid form, and live (as the applicant types) from a half-filled one."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from ehrenamt.applications import precheck
from ehrenamt.models import CardType, Office, Qualification
from ehrenamt.web.apply.forms import HOURS_IN_A_YEAR, ApplicationForm


def answers_from(form: ApplicationForm) -> precheck.Answers:
    """What the form holds so far; a field that does not parse counts as not yet typed."""
    rows = []
    for entry in form.engagements.entries:
        row = entry.form
        hours = row.hours.data
        if hours is not None and (not hours.is_finite() or hours < 0 or hours > HOURS_IN_A_YEAR):
            hours = None  # not a number of hours yet; the form's own check says so
        per_week = row.hours_unit.data == "week"
        rows.append(
            precheck.Engaged(
                postcode=(row.organisation_postcode.data or "").strip() or None,
                hours_per_year=precheck.yearly_hours(
                    hours if per_week else None, None if per_week else hours
                ),
                since=row.engaged_since.data if isinstance(row.engaged_since.data, date) else None,
                allowance_euros_per_year=row.allowance.data
                if isinstance(row.allowance.data, int)
                else None,
            )
        )
    return precheck.Answers(
        card_type=_member(CardType, form.card_type.data) or CardType.STANDARD,
        birth_date=form.birth_date.data if isinstance(form.birth_date.data, date) else None,
        postcode=(form.postcode.data or "").strip() or None,
        qualification=_member(Qualification, form.qualification.data),
        honour=(form.honour.data or "").strip() or None,
        engagements=rows,
    )


_Member = TypeVar("_Member", CardType, Qualification)


def _member(kind: type[_Member], value: str | None) -> _Member | None:
    try:
        return kind(value or "")
    except ValueError:
        return None


def shortfalls_for(form: ApplicationForm, office: Office) -> list[precheck.Shortfall]:
    """The office's rules that the answers in ``form`` certainly do not meet."""
    return precheck.shortfalls(office, answers_from(form), date.today())
