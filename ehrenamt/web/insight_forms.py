"""Filters of the audit log (an office's, the programme's) and the programme's
statistics."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from ehrenamt.insight.audit_log import SYSTEM_ACTOR, AuditFilter
from ehrenamt.labels import AUDIT_ACTION_LABELS, SUBJECT_LABELS
from ehrenamt.models import Office, User
from ehrenamt.web.forms import PlausibleDate, choices, filter_field, filter_select


class AuditFilterForm(FlaskForm):
    """Narrow the audit log; a GET form (it changes nothing), so no CSRF token."""

    class Meta:
        csrf = False

    actor = filter_select(_l("Wer"), [])
    action = filter_field(_l("Aktion"), AUDIT_ACTION_LABELS, _l("alle"))
    subject_type = filter_field(_l("Art des Objekts"), SUBJECT_LABELS, _l("alle"))
    since = DateField(_l("vom"), validators=[Optional(), PlausibleDate()])
    until = DateField(_l("bis"), validators=[Optional(), PlausibleDate()])
    page = IntegerField(default=1, validators=[Optional(), NumberRange(min=1, max=100_000)])

    def __init__(self, *args: Any, staff: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor.choices = choices(
            [
                ("", _l("alle")),
                (SYSTEM_ACTOR, _l("das System")),
                *((user.id, user.display_name or user.email) for user in staff),
            ]
        )

    def validate_until(self, field: DateField) -> None:
        """The range must not end before it begins."""
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(str(_l("Das Ende liegt vor dem Anfang.")))

    def filters(self) -> AuditFilter:
        """The valid form's filters."""
        return AuditFilter(
            actor=self.actor.data or "",
            action=self.action.data or "",
            subject_type=self.subject_type.data or "",
            since=self.since.data,
            until=self.until.data,
        )


def office_choices(offices: list[Office]) -> list[SelectChoice]:
    """Every office, after "all" (the empty value)."""
    return choices([("", _l("alle Ämter")), *((office.id, office.name) for office in offices)])


class OfficeScopeForm(FlaskForm):
    """The programme's statistics narrowed to one office; a GET form, no CSRF token."""

    class Meta:
        csrf = False

    office = filter_select(_l("Amt"), [])

    def __init__(self, *args: Any, offices: list[Office], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office.choices = office_choices(offices)

    def office_id(self) -> int | None:
        """The chosen office's id; None: all."""
        return int(self.office.data) if self.office.data else None


class ProgrammeAuditFilterForm(AuditFilterForm):
    """The audit log of every office, with the office as one more filter."""

    office = filter_select(_l("Amt"), [])

    def __init__(self, *args: Any, offices: list[Office], staff: list[User], **kwargs: Any):
        super().__init__(*args, staff=staff, **kwargs)
        self.office.choices = office_choices(offices)

    def filters(self) -> AuditFilter:
        """The valid form's filters, the office among them."""
        chosen = self.office.data
        return replace(super().filters(), office_id=int(chosen) if chosen else None)
