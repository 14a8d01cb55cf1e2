"""Texts for states and enums, shared by pages and e-mails."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from ehrenamt.applications.eligibility import PLACE_RULE_LABELS, Outcome
from ehrenamt.core.audit import AuditAction, Subject
from ehrenamt.models import (
    AuditEntry,
    CardState,
    CardType,
    ConfirmationState,
    PartnerState,
    Qualification,
    RejectionReason,
    RevocationReason,
)
from ehrenamt.partners.listing import NotListedReason
from ehrenamt.verification.results import CheckStatus
from ehrenamt.workflow import ApplicationState

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

#: A rule's result in the eligibility check, as the clerk's panel and the history say it.
RULE_OUTCOME_LABELS = {
    Outcome.MET: _l("erfüllt"),
    Outcome.NOT_MET: _l("nicht erfüllt"),
    Outcome.CHECK: _l("prüfen"),
}

#: The partner's states, as staff read them.
PARTNER_STATE_LABELS = {
    PartnerState.PENDING: _l("offen"),
    PartnerState.APPROVED: _l("bestätigt"),
    PartnerState.DECLINED: _l("abgelehnt"),
}

#: Why the directory does not show a partner, as the staff's pages say it.
NOT_LISTED_LABELS = {
    NotListedReason.NOT_DECIDED: _l("Registrierung noch nicht entschieden"),
    NotListedReason.DECLINED: _l("Registrierung abgelehnt"),
    NotListedReason.ADDRESS_UNCONFIRMED: _l("E-Mail-Adresse nicht bestätigt"),
}

#: A card check's answer in one word (the partner's page adds a symbol).
CHECK_RESULT_LABELS = {
    CheckStatus.VALID: _l("gültig"),
    CheckStatus.EXPIRED: _l("abgelaufen"),
    CheckStatus.REVOKED: _l("gesperrt"),
    CheckStatus.INVALID: _l("nicht echt"),
    CheckStatus.UNKNOWN: _l("unbekannt"),
}

#: An application's outcome in the statistics: its final state, or still open.
OUTCOME_LABELS = {
    ApplicationState.APPROVED.value: _l("Bewilligt"),
    ApplicationState.REJECTED.value: _l("Abgelehnt"),
    ApplicationState.WITHDRAWN.value: _l("Zurückgezogen"),
    "open": _l("offen"),
}

#: Every audit action in words: the audit page and every history read them from here.
AUDIT_ACTION_LABELS: dict[AuditAction, LazyString] = {
    AuditAction.SUBMIT: _l("Antrag gestellt"),
    AuditAction.REQUEST_CONFIRMATIONS: _l("Organisationen angefragt"),
    AuditAction.START_REVIEW: _l("Prüfung begonnen"),
    AuditAction.REQUEST_INFORMATION: _l("Rückfrage gestellt"),
    AuditAction.ANSWER: _l("Rückfrage beantwortet"),
    AuditAction.APPROVE: _l("Bewilligt"),
    AuditAction.REJECT: _l("Abgelehnt"),
    AuditAction.WITHDRAW: _l("Zurückgezogen"),
    AuditAction.RESEND_CONFIRMATION: _l("Bestätigungslink erneut gesendet"),
    AuditAction.OVERRIDE_CONFIRMATION: _l("Bestätigung durch Sachbearbeitung ersetzt"),
    AuditAction.ORGANISATION_CONFIRMED: _l("Organisation hat bestätigt"),
    AuditAction.ORGANISATION_DECLINED: _l("Organisation hat abgelehnt"),
    AuditAction.REMIND_ORGANISATION: _l("Organisation erinnert"),
    AuditAction.CREATE: _l("Angelegt"),
    AuditAction.ISSUE: _l("Karte ausgestellt"),
    AuditAction.RENDER: _l("Karte neu erstellt"),
    AuditAction.REVOKE: _l("Gesperrt"),
    AuditAction.REISSUE: _l("Neu ausstellen angefordert"),
    AuditAction.EXTEND: _l("Verlängert"),
    AuditAction.EXPIRE: _l("Abgelaufen"),
    AuditAction.DECLINE: _l("Registrierung abgelehnt"),
    AuditAction.IMPORT: _l("Aus Datei importiert"),
    AuditAction.INVITE: _l("Zugang eingeladen"),
    AuditAction.UNPUBLISH_BENEFIT: _l("Vorteil aus dem Verzeichnis genommen"),
    AuditAction.REPUBLISH_BENEFIT: _l("Vorteil wieder veröffentlicht"),
    AuditAction.APPLY_PRESET: _l("Regel-Vorlage übernommen"),
    AuditAction.UPDATE_RULES: _l("Regeln geändert"),
    AuditAction.LOCK_SECOND_FACTOR: _l("Zweiter Faktor gesperrt (zu viele falsche Codes)"),
    AuditAction.EXPORT: _l("Daten exportiert"),
    AuditAction.RECORD_ANSWER: _l("Antwort auf Rückfrage erfasst (Brief, Telefon, vor Ort)"),
    AuditAction.POST: _l("Per Post versandt"),
    AuditAction.CORRECT: _l("Daten berichtigt"),
    AuditAction.UPDATE_OFFICE: _l("Angaben der Ausgabestelle geändert"),
    AuditAction.REQUEST_EMAIL_CHANGE: _l("Neue E-Mail-Adresse angefragt"),
    AuditAction.CHANGE_EMAIL: _l("E-Mail-Adresse geändert"),
    AuditAction.CORRECT_ADDRESS: _l("Anschrift berichtigt"),
    AuditAction.RECHECK_ELIGIBILITY: _l("Voraussetzungen neu geprüft"),
    AuditAction.REQUEST_NAME_CHANGE: _l("Namensänderung beantragt"),
    AuditAction.APPLY_NAME_CHANGE: _l("Namensänderung übernommen"),
    AuditAction.DECLINE_NAME_CHANGE: _l("Namensänderung abgelehnt"),
    AuditAction.INVITE_STAFF: _l("Mitarbeiterin oder Mitarbeiter eingeladen"),
    AuditAction.RESEND_INVITATION: _l("Einladung erneut gesendet"),
    AuditAction.CHANGE_ROLE: _l("Rolle geändert"),
    AuditAction.DEACTIVATE: _l("Zugang deaktiviert"),
    AuditAction.REACTIVATE: _l("Zugang wieder aktiviert"),
    AuditAction.RESET_SECOND_FACTOR: _l("Zweiter Faktor zurückgesetzt"),
    AuditAction.USE_RECOVERY_CODE: _l("Wiederherstellungscode verwendet"),
    AuditAction.NEW_RECOVERY_CODES: _l("Neue Wiederherstellungscodes erzeugt"),
    AuditAction.RESET_PASSWORD: _l("Passwort über Link neu gesetzt"),
    AuditAction.CREATE_OFFICE: _l("Ausgabestelle angelegt"),
    AuditAction.SWITCH_OFFICE: _l("Ausgabestelle gewechselt"),
    AuditAction.UPDATE_RETENTION: _l("Löschfristen geändert"),
    AuditAction.ERASE_PERSON: _l("Daten einer Person gelöscht"),
}

#: Where one action reads differently for one kind of object ("create" a card or a partner).
SUBJECT_ACTION_LABELS: dict[tuple[Subject, AuditAction], LazyString] = {
    (Subject.CARD, AuditAction.CREATE): _l("Karte angelegt"),
    (Subject.PARTNER, AuditAction.CREATE): _l("Partner angelegt"),
    (Subject.PARTNER, AuditAction.APPROVE): _l("Registrierung bestätigt"),
}

#: The kinds of object the audit log names.
SUBJECT_LABELS: dict[Subject, LazyString] = {
    Subject.APPLICATION: _l("Antrag"),
    Subject.CARD: _l("Karte"),
    Subject.PARTNER: _l("Partner"),
    Subject.PROGRAMME_RULES: _l("Programmregeln"),
    Subject.USER: _l("Benutzerkonto"),
    Subject.OFFICE: _l("Stelle"),
    Subject.LEGACY_IMPORT: _l("Import alter Karten"),
}

#: The states an audit row's from/to may name, per kind of object.
SUBJECT_STATE_LABELS: dict[Subject, Mapping[str, LazyString]] = {
    Subject.APPLICATION: {state.value: label for state, label in STATE_SHORT.items()},
    Subject.CARD: {state.value: label for state, label in CARD_STATE_LABELS.items()},
    Subject.PARTNER: {state.value: label for state, label in PARTNER_STATE_LABELS.items()},
    # Staff accounts: the role given at an invitation or a change, active or not.
    Subject.USER: {
        "clerk": _l("Sachbearbeitung"),
        "admin": _l("Administration"),
        "programme_admin": _l("Programmadministration"),
        "active": _l("aktiv"),
        "inactive": _l("deaktiviert"),
    },
}


def action_words(subject_type: str, action: str) -> str:
    """An audit row's action in the page's language (the raw name only if unknown)."""
    try:
        known = AuditAction(action)
    except ValueError:
        return action
    try:
        label = SUBJECT_ACTION_LABELS.get((Subject(subject_type), known))
    except ValueError:
        label = None
    return str(label or AUDIT_ACTION_LABELS.get(known, action))


def state_words(subject_type: str, state: str | None) -> str:
    """A state an audit row names, in words ("" for none)."""
    if state is None:
        return ""
    try:
        labels = SUBJECT_STATE_LABELS.get(Subject(subject_type), {})
    except ValueError:
        return state
    return str(labels.get(state, state))


def change_words(entry: AuditEntry) -> str:
    """An audit row's transition in words, "In Prüfung → Bewilligt" ("" for none)."""
    if entry.from_state is None and entry.to_state is None:
        return ""
    before = state_words(entry.subject_type, entry.from_state) or "–"
    after = state_words(entry.subject_type, entry.to_state) or "–"
    return f"{before} → {after}"


def subject_words(subject_type: str) -> str:
    """The kind of object an audit row is about, in words."""
    try:
        return str(SUBJECT_LABELS.get(Subject(subject_type), subject_type))
    except ValueError:
        return subject_type


#: What the retention job deletes (privacy.retention.DeletionKind's values), for the
#: admin's deletion report.
DELETION_KIND_LABELS = {
    "decided_applications": _l("Abgelehnte und zurückgezogene Anträge"),
    "card_data": _l("Bewilligte Anträge mit Kartendaten"),
    "unconfirmed_applications": _l("Anträge ohne bestätigte E-Mail-Adresse"),
    "unconfirmed_accounts": _l("Konten ohne bestätigte E-Mail-Adresse"),
    "check_records": _l("Protokolle von Kartenprüfungen"),
    "unclaimed_uploads": _l("Nachweise nie abgeschickter Formulare"),
    "one_time_links": _l("Benutzte oder abgelaufene Einmal-Links"),
    "sent_mails": _l("Versandprotokolle von E-Mails"),
    "retained_revocations": _l("Gesperrte Kartennummern nach Ablauf"),
    "orphan_files": _l("Verwaiste Dateien"),
    "erased_persons": _l("Auf Verlangen gelöschte Personen"),
    "printed_letters": _l("Gedruckte Briefe"),
    "print_runs": _l("Druckaufträge mit ihrer Druckdatei"),
    "unconfirmed_imports": _l("Nie bestätigte Importe alter Karten"),
    "data_exports": _l("Abgelaufene Datenauskünfte"),
    "email_changes": _l("Benutzte oder abgelaufene Links zur Änderung der E-Mail-Adresse"),
    "name_change_requests": _l("Entschiedene Anträge auf Namensänderung"),
    "application_drafts": _l("Abgelaufene Entwürfe von Anträgen"),
}


def register(app: Flask) -> None:
    """Make the label tables available in every template."""
    app.jinja_env.globals.update(
        STATE_LABELS=STATE_LABELS,
        STATE_SHORT=STATE_SHORT,
        CARD_TYPE_SHORT=CARD_TYPE_SHORT,
        CONFIRMATION_LABELS=CONFIRMATION_LABELS,
        REJECTION_LABELS=REJECTION_LABELS,
        CARD_STATE_LABELS=CARD_STATE_LABELS,
        REVOCATION_LABELS=REVOCATION_LABELS,
        PARTNER_STATE_LABELS=PARTNER_STATE_LABELS,
        NOT_LISTED_LABELS=NOT_LISTED_LABELS,
        action_words=action_words,
        change_words=change_words,
        subject_words=subject_words,
        DELETION_KIND_LABELS=DELETION_KIND_LABELS,
        QUALIFICATION_LABELS=QUALIFICATION_LABELS,
        PLACE_RULE_LABELS=PLACE_RULE_LABELS,
        RULE_OUTCOME_LABELS=RULE_OUTCOME_LABELS,
    )
