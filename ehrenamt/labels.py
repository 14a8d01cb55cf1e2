"""Texts for states and enums, shared by pages and e-mails."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from ehrenamt.applications.eligibility import PLACE_RULE_LABELS
from ehrenamt.models import (
    CardState,
    CardType,
    ConfirmationState,
    Qualification,
    RejectionReason,
    RevocationReason,
)
from ehrenamt.workflow import Action, ApplicationState

#: The qualifications that replace the hours test, as the form and the rules name them.
QUALIFICATION_LABELS = {
    Qualification.JULEICA: _l("Jugendleiter/in-Card (Juleica)"),
    Qualification.FIRE_BRIGADE: _l("Freiwillige Feuerwehr mit abgeschlossener Grundausbildung"),
    Qualification.RESCUE_SERVICE: _l("Rettungsdienst, Katastrophenschutz oder THW"),
    Qualification.VOLUNTARY_SERVICE_YEAR: _l("Freiwilligendienst (FSJ, FÖJ, BFD)"),
}

#: What the applicant reads about their application.
STATE_LABELS = {
    ApplicationState.SUBMITTED: _l("Eingegangen – bitte bestätigen Sie Ihre E-Mail-Adresse"),
    ApplicationState.AWAITING_CONFIRMATION: _l("Wartet auf Bestätigung durch die Organisation"),
    ApplicationState.IN_REVIEW: _l("In Prüfung"),
    ApplicationState.NEEDS_INFORMATION: _l("Rückfrage – bitte antworten Sie"),
    ApplicationState.APPROVED: _l("Bewilligt – Karte wird erstellt"),
    ApplicationState.REJECTED: _l("Abgelehnt"),
    ApplicationState.WITHDRAWN: _l("Zurückgezogen"),
}

#: Short state names for staff lists.
STATE_SHORT = {
    ApplicationState.SUBMITTED: _l("E-Mail unbestätigt"),
    ApplicationState.AWAITING_CONFIRMATION: _l("Wartet auf Organisation"),
    ApplicationState.IN_REVIEW: _l("In Prüfung"),
    ApplicationState.NEEDS_INFORMATION: _l("Rückfrage offen"),
    ApplicationState.APPROVED: _l("Bewilligt"),
    ApplicationState.REJECTED: _l("Abgelehnt"),
    ApplicationState.WITHDRAWN: _l("Zurückgezogen"),
}

ACTION_LABELS = {
    "submit": _l("Antrag gestellt"),
    Action.REQUEST_CONFIRMATIONS.value: _l("Organisationen angefragt"),
    Action.START_REVIEW.value: _l("Prüfung begonnen"),
    Action.REQUEST_INFORMATION.value: _l("Rückfrage gestellt"),
    Action.ANSWER.value: _l("Rückfrage beantwortet"),
    Action.APPROVE.value: _l("Bewilligt"),
    Action.REJECT.value: _l("Abgelehnt"),
    Action.WITHDRAW.value: _l("Zurückgezogen"),
    "organisation_confirmed": _l("Organisation hat bestätigt"),
    "organisation_declined": _l("Organisation hat abgelehnt"),
    "override_confirmation": _l("Bestätigung durch Sachbearbeitung ersetzt"),
    "resend_confirmation": _l("Bestätigungslink erneut gesendet"),
    "remind_organisation": _l("Organisation erinnert"),
}

#: The card types' one name, on the form, in the account, on staff pages and the check
#: page alike (issue #14: "Ehrenamtskarte (befristet)" on the form, "Standard" elsewhere);
#: the printed card says the same (cardformat.layout).
CARD_TYPE_SHORT = {
    CardType.STANDARD: _l("Ehrenamtskarte"),
    CardType.LONG_SERVICE: _l("Jubiläumskarte"),
}

CONFIRMATION_LABELS = {
    ConfirmationState.NOT_SENT: _l("noch nicht angefragt"),
    ConfirmationState.PENDING: _l("angefragt, keine Antwort"),
    ConfirmationState.CONFIRMED: _l("bestätigt"),
    ConfirmationState.DECLINED: _l("nicht bestätigt"),
    ConfirmationState.OVERRIDDEN: _l("durch Sachbearbeitung ersetzt"),
}

REJECTION_LABELS = {
    RejectionReason.TOO_FEW_HOURS: _l("Zu geringer zeitlicher Umfang"),
    RejectionReason.TOO_SHORT: _l("Engagement zu kurz"),
    RejectionReason.TOO_YOUNG: _l("Mindestalter nicht erreicht"),
    RejectionReason.PAID: _l("Aufwandsentschädigung zu hoch"),
    RejectionReason.PLACE: _l("Wohn-/Einsatzort außerhalb"),
    RejectionReason.NOT_CONFIRMED: _l("Nicht bestätigt"),
    RejectionReason.NO_ANSWER: _l("Rückfrage unbeantwortet"),
    RejectionReason.OTHER: _l("Sonstiges"),
}

CARD_STATE_LABELS = {
    CardState.ISSUING: _l("wird erstellt"),
    CardState.ACTIVE: _l("gültig"),
    CardState.EXPIRED: _l("abgelaufen"),
    CardState.REVOKED: _l("gesperrt"),
}

REVOCATION_LABELS = {
    RevocationReason.LOST: _l("verloren oder gestohlen"),
    RevocationReason.MISUSE: _l("Missbrauch"),
    RevocationReason.NOT_ELIGIBLE: _l("Voraussetzungen entfallen"),
    RevocationReason.HOLDER_REQUEST: _l("auf Wunsch der Karteninhaberin oder des Karteninhabers"),
}

#: The card's history, as staff read it.
CARD_ACTION_LABELS = {
    "create": _l("Karte angelegt"),
    "issue": _l("Karte ausgestellt"),
    "render": _l("Karte neu erstellt"),
    "reissue": _l("Neu ausstellen angefordert"),
    "extend": _l("Verlängert"),
    "revoke": _l("Gesperrt"),
    "expire": _l("Abgelaufen"),
}


def register(app: Flask) -> None:
    """Make the label tables available in every template."""
    app.jinja_env.globals.update(
        STATE_LABELS=STATE_LABELS,
        STATE_SHORT=STATE_SHORT,
        ACTION_LABELS=ACTION_LABELS,
        CARD_TYPE_SHORT=CARD_TYPE_SHORT,
        CONFIRMATION_LABELS=CONFIRMATION_LABELS,
        REJECTION_LABELS=REJECTION_LABELS,
        CARD_STATE_LABELS=CARD_STATE_LABELS,
        REVOCATION_LABELS=REVOCATION_LABELS,
        CARD_ACTION_LABELS=CARD_ACTION_LABELS,
        QUALIFICATION_LABELS=QUALIFICATION_LABELS,
        PLACE_RULE_LABELS=PLACE_RULE_LABELS,
    )
