"""The eligibility check run again after a correction of an open application.

The clerk's panel computes the check on every view, so it always shows the new result;
what a correction must leave besides is a trace of what it changed in the check: a
new address can break the place rule (or meet it), a corrected birth date the age.
One audit row names each rule whose outcome changed, e.g. "Wohn- bzw. Einsatzort:
erfüllt → nicht erfüllt", so the clerk reading the history sees why the panel differs
from what was decided on before.
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale

from ehrenamt.applications.eligibility import RuleCheck, check_application
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.labels import RULE_OUTCOME_LABELS
from ehrenamt.models import Application
from ehrenamt.workflow import OPEN_STATES


def checks_before(application: Application) -> list[RuleCheck] | None:
    """The check as it stands before a correction; None for a decided application (its
    decision stays; nothing is checked again)."""
    if application.state not in OPEN_STATES:
        return None
    return check_application(application, application.office.rules, date.today())


def record_recheck(
    application: Application, acting: Acting, before: list[RuleCheck] | None
) -> list[str]:
    """After the correction: run the check again and, if a rule's outcome changed, write
    one audit row naming each change; returns the codes of the changed rules."""
    if before is None:
        return []
    # The audit log is one record for every reader, kept in German (the source
    # language) as the rule titles and the clerks' reasons are.
    with force_locale("de"):
        after = check_application(application, application.office.rules, date.today())
        outcomes = {check.code: check.outcome for check in before}
        changed = [
            check
            for check in after
            if check.code in outcomes and outcomes[check.code] != check.outcome
        ]
        reason = "; ".join(
            f"{check.title}: {RULE_OUTCOME_LABELS[outcomes[check.code]]} → "
            f"{RULE_OUTCOME_LABELS[check.outcome]}"
            for check in changed
        )
    if not changed:
        return []
    record_change(acting, application, AuditAction.RECHECK_ELIGIBILITY, reason=reason)
    return [check.code for check in changed]
