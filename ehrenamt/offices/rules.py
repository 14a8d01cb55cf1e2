"""Programme rule presets (DESIGN.md) and editing an office's rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from ehrenamt.core import audit
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import Office, PlaceRule, ProgrammeRules, Qualification

_ALL_QUALIFICATIONS = " ".join(q.value for q in Qualification)

#: Starting points an admin can load and then adjust. Never read at run time for a
#: decision: the office's saved rules are what counts.
PRESETS: dict[str, dict[str, Any]] = {
    "dessau_rosslau": {
        "label": _l("Dessau-Roßlau (Sachsen-Anhalt)"),
        "minimum_age": 16,
        "minimum_hours_per_week": Decimal(4),
        "minimum_hours_per_year": 200,
        "minimum_years_engaged": 3,
        "allowance_cap_euros": 960,
        "place_rule": PlaceRule.ENGAGED_HERE_LIVING_IN_STATE,
        "validity_years": 2,
        "qualifications": _ALL_QUALIFICATIONS,
    },
    "bayern": {
        "label": _l("Bayern (blaue Karte)"),
        "minimum_age": 16,
        "minimum_hours_per_week": Decimal(5),
        "minimum_hours_per_year": 250,
        "minimum_years_engaged": 2,
        "allowance_cap_euros": 3300,
        "place_rule": PlaceRule.LIVING_HERE,
        "validity_years": 3,
        "qualifications": _ALL_QUALIFICATIONS,
    },
    "nrw": {
        "label": _l("Nordrhein-Westfalen (2026)"),
        "minimum_age": 16,
        "minimum_hours_per_week": Decimal(4),
        "minimum_hours_per_year": 200,
        "minimum_years_engaged": 1,
        "allowance_cap_euros": 3300,
        "place_rule": PlaceRule.ENGAGED_HERE,
        "validity_years": 2,
        "qualifications": _ALL_QUALIFICATIONS,
    },
    "niedersachsen": {
        "label": _l("Niedersachsen"),
        "minimum_age": None,
        "minimum_hours_per_week": Decimal(5),
        "minimum_hours_per_year": 250,
        "minimum_years_engaged": 2,
        "allowance_cap_euros": 0,
        "place_rule": PlaceRule.ENGAGED_OR_LIVING_HERE,
        "validity_years": 3,
        "qualifications": _ALL_QUALIFICATIONS,
    },
}

DEFAULT_PRESET = "dessau_rosslau"

EDITABLE_FIELDS = (
    "minimum_age",
    "minimum_hours_per_week",
    "minimum_hours_per_year",
    "minimum_years_engaged",
    "allowance_cap_euros",
    "place_rule",
    "validity_years",
    "long_service_card",
    "long_service_years",
    "qualifications",
    "reminder_after_days",
    "confirmation_link_days",
    "privacy_notice_version",
)


def rules_from_preset(name: str) -> ProgrammeRules:
    """New, unsaved rules filled from a preset."""
    values = {k: v for k, v in PRESETS[name].items() if k != "label"}
    return ProgrammeRules(preset=name, **values)


def apply_preset(rules: ProgrammeRules, name: str) -> None:
    """Overwrite the rule values with a preset's (not the office's own settings)."""
    for key, value in PRESETS[name].items():
        if key != "label":
            setattr(rules, key, value)
    rules.preset = name


def update_rules(
    office: Office, values: dict[str, Any], acting: Acting, preset: str | None
) -> None:
    """Save an admin's edit of the office's rules, audited with what changed."""
    rules = office.rules
    if preset:
        before = {field: getattr(rules, field) for field in EDITABLE_FIELDS}
        apply_preset(rules, preset)
        _audit_changes(office, before, acting, audit.AuditAction.APPLY_PRESET)
        db.session.commit()
    else:
        save_rule_fields(office, EDITABLE_FIELDS, values, acting, audit.AuditAction.UPDATE_RULES)


def save_rule_fields(
    office: Office,
    fields: tuple[str, ...],
    values: dict[str, Any],
    acting: Acting,
    action: audit.AuditAction,
) -> None:
    """Set some of the office's rule values and commit, with one audit row of the changes."""
    rules = office.rules
    before = {field: getattr(rules, field) for field in fields}
    for field in fields:
        if field in values:
            setattr(rules, field, values[field])
    _audit_changes(office, before, acting, action)
    db.session.commit()


def _audit_changes(
    office: Office, before: dict[str, Any], acting: Acting, action: audit.AuditAction
) -> None:
    rules = office.rules
    # Compared as values, not as text: the form sends "4.0" for a stored 4.00, which is
    # no change and must not show up in the audit log as one.
    changes = [
        f"{field}: {old} → {getattr(rules, field)}"
        for field, old in before.items()
        if old != getattr(rules, field)
    ]
    if changes:
        audit.record(
            acting,
            subject_type=audit.Subject.PROGRAMME_RULES,
            subject_id=rules.id,
            action=action,
            office_id=office.id,
            reason="; ".join(changes),
        )
