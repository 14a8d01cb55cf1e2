"""The clerk's form for a paper application: the online form, minus what paper lacks."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, FieldList, FormField, SelectField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional

from ehrenamt.web.apply.forms import ApplicationForm, EngagementForm
from ehrenamt.web.forms import choices


class PaperEngagementForm(EngagementForm):
    """An organisation as written on paper: its e-mail address may be missing."""

    REQUIRED = tuple(name for name in EngagementForm.REQUIRED if name != "contact_email")


class PaperApplicationForm(ApplicationForm):
    """The applicant's details as on the signed form, and its scan."""

    email = EmailField(
        _l("E-Mail-Adresse (leer lassen, wenn die Person keine hat: sie erhält dann Briefe)"),
        validators=[Optional(), Email(), Length(max=254)],
    )
    password = None  # the person sets one later, if ever
    engagements = FieldList(FormField(PaperEngagementForm), min_entries=1, max_entries=10)
    language = SelectField(
        _l("Sprache der Briefe und E-Mails"),
        choices=choices([("de", _l("Deutsch")), ("en", _l("Englisch"))]),
        default="de",
    )
    scan = FileField(_l("Unterschriebener Antrag, eingescannt (PDF, JPEG oder PNG)"))
    consent = BooleanField(
        _l("Der Antrag ist unterschrieben und enthält die Einwilligung in die Datenverarbeitung."),
        validators=[DataRequired(message=_l("Ohne unterschriebene Einwilligung kein Antrag."))],
    )
    submit = SubmitField(_l("Papierantrag erfassen"))

    def __init__(self, *args: Any, has_scan: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_scan = has_scan

    def validate(self, extra_validators: Any = None) -> bool:
        """The online form's checks, and the scan of the signed form is required."""
        ok = super().validate(extra_validators)
        if not self.has_scan:
            self.scan.errors = [
                *self.scan.errors,
                _l("Bitte laden Sie den unterschriebenen Antrag als Scan hoch."),
            ]
            ok = False
        return ok
