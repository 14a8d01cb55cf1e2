"""Retention periods: per office (stored with its programme rules, edited by its admin)
and for the deployment (kinds of data that belong to no office)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from ehrenamt.core import audit
from ehrenamt.core.audit import Acting
from ehrenamt.models import Office, ProgrammeRules
from ehrenamt.offices.rules import save_rule_fields

#: The office's periods, as columns of its programme rules.
PERIOD_FIELDS = (
    "retention_decided_months",
    "retention_card_months",
    "retention_unconfirmed_days",
    "retention_check_days",
)


@dataclass(frozen=True)
class OfficePeriods:
    """One office's periods, read once per run of the job."""

    office_id: int
    decided_months: int
    card_months: int
    unconfirmed_days: int
    check_days: int

    @classmethod
    def of(cls, rules: ProgrammeRules) -> OfficePeriods:
        """The periods saved with an office's rules."""
        return cls(
            office_id=rules.office_id,
            decided_months=rules.retention_decided_months,
            card_months=rules.retention_card_months,
            unconfirmed_days=rules.retention_unconfirmed_days,
            check_days=rules.retention_check_days,
        )


@dataclass(frozen=True)
class DeploymentPeriods:
    """Periods of data that belongs to no office (settings of the deployment)."""

    #: Hours an upload of a form never sent is kept.
    unclaimed_upload_hours: float
    #: Days the record of a sent mail (recipient and subject) is kept.
    sent_mail_days: int
    #: Days a check record of an unknown card (no office) is kept.
    check_days: int
    #: Days a printed letter (address and text) is kept after printing.
    letter_days: int
    #: Days a print run (its PDF and card list) is kept after it was posted or failed,
    #: or after it was made if nobody ever confirmed it posted.
    print_run_days: int
    #: Days a data export can be downloaded (then file and row go).
    export_days: int
    #: Days a decided name change request is kept.
    name_change_days: int
    #: Days a saved draft of the application form lives after its last save.
    draft_days: int


def deployment_periods() -> DeploymentPeriods:
    """The deployment's periods from the settings."""
    config = current_app.config
    return DeploymentPeriods(
        unclaimed_upload_hours=float(config["UNCLAIMED_UPLOAD_MAX_AGE_HOURS"]),
        sent_mail_days=int(config["SENT_MAIL_RETENTION_DAYS"]),
        check_days=int(config["VERIFICATION_RETENTION_DAYS"]),
        letter_days=int(config["LETTER_RETENTION_DAYS"]),
        print_run_days=int(config["PRINT_RUN_RETENTION_DAYS"]),
        export_days=int(config["EXPORT_MAX_AGE_DAYS"]),
        name_change_days=int(config["NAME_CHANGE_RETENTION_DAYS"]),
        draft_days=int(config["DRAFT_MAX_AGE_DAYS"]),
    )


def months_before(moment: datetime, months: int) -> datetime:
    """The same time ``months`` calendar months earlier (the 31st becomes the month's last
    day), so "six months after the decision" means what a person reading the page means."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def days_before(moment: datetime, days: int) -> datetime:
    """``days`` days earlier."""
    return moment - timedelta(days=days)


def update_periods(office: Office, values: dict[str, Any], acting: Acting) -> None:
    """Save the admin's periods for the office, audited with what changed."""
    save_rule_fields(office, PERIOD_FIELDS, values, acting, audit.AuditAction.UPDATE_RETENTION)
