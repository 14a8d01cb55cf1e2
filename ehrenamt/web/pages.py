"""What every page shares: error pages, security headers, template helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from flask import Flask, Request, Response, abort, current_app, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from ehrenamt import labels
from ehrenamt.accounts.links import LinkProblem
from ehrenamt.cardformat import card_numbers
from ehrenamt.core.paging import Page
from ehrenamt.extensions import db
from ehrenamt.models import Office
from ehrenamt.offices import face
from ehrenamt.web.forms import (
    CONTROL_CHARACTERS,
    MAX_DATABASE_ID,
    ConfirmLinkForm,
    faulty_fields,
)


def content_security_policy(images: str = "") -> str:
    """The pages' policy; ``images`` is an origin a page may also load images from (the
    directory's map tiles)."""
    return (
        f"default-src 'self'; img-src 'self' data:{' ' + images if images else ''}; "
        "style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


#: Pages allow nothing from other origins; inline scripts are not allowed at all.
CONTENT_SECURITY_POLICY = content_security_policy()

#: The only pages a browser or proxy may keep: public, the same for every visitor, showing
#: nobody's personal data (the directory shows what partners publish). Every other
#: response, including those of pages added later, is sent with ``Cache-Control:
#: no-store``, so a shared computer's history or a proxy never holds a person's data.
CACHEABLE_ENDPOINTS = frozenset(
    {
        "static",
        "public.index",
        "public.privacy",
        "public.favicon",
        "public.office_logo",  # public; sent with no-cache and an ETag
        "directory.index",
        "directory.partner",
        "partners.registered",
        "verify.public_check",  # the card's data is only in the fragment, never sent
        "wellknown.card_keys",
        "wellknown.revocations",
        "api.openapi",
    }
)

T = TypeVar("T")
R = TypeVar("R")


def or_404(found: T | None) -> T:
    """What a lookup found, or a 404 page if it found nothing.

    Lookups scoped to the visitor (their office, their own applications) return None for
    another's object too, so a 404 tells nobody whether it exists.
    """
    if found is None:
        abort(404)
    return found


def current_language() -> str:
    """The language of this request's pages ("de" if none is chosen)."""
    return str(get_locale() or "de")


def list_page(template: str, form: FlaskForm, result: Page[Any], **context: Any) -> str:
    """A list: its filter ``form``, one page of ``result``, and the pager's links."""
    # The pager's links keep the query string's filters, all but the page number.
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(template, form=form, page=result, args=args, **context)


#: What a person who opened a one-time link that does not work is told, and the status.
LINK_MESSAGES = {
    LinkProblem.UNKNOWN: _l("Dieser Link ist ungültig."),
    LinkProblem.EXPIRED: _l("Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen an."),
    LinkProblem.USED: _l("Dieser Link wurde bereits verwendet."),
}
LINK_STATUS = {LinkProblem.UNKNOWN: 404, LinkProblem.EXPIRED: 410, LinkProblem.USED: 410}


def link_error_page(
    problem: LinkProblem, *, offer_link_request: bool = False, hint: str = ""
) -> tuple[str, int]:
    """The page for a one-time link that is unknown, expired or used, with what to do."""
    message = str(LINK_MESSAGES[problem])
    html = render_template(
        "error.html",
        code=LINK_STATUS[problem],
        title=_("Link nicht nutzbar"),
        message=f"{message} {hint}".strip(),
        offer_link_request=offer_link_request,
    )
    return html, LINK_STATUS[problem]


def one_time_link_page(use: Callable[[], R], *, title: str, intro: str) -> R | str:
    """The page a one-time link from a mail opens: one button, whose POST calls ``use``.

    Mail scanners open the links in a mail (GETs), so only the visitor's POST may use the
    link up; ``use`` answers that POST.
    """
    form = ConfirmLinkForm()
    if form.validate_on_submit():
        return use()
    return render_template("auth/use_link.html", form=form, title=title, intro=intro)


class NoSessionForTheApi(SecureCookieSessionInterface):
    """Pages keep Flask's signed-cookie session; the till API (``/api/``) has none.

    Tills authenticate every request with their key and send no cookies, so reading and
    signing a session there would cost time on every check for nothing. A view under
    ``/api/`` that tried to write the session would fail loudly (Flask's NullSession).
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/api/"):
            return None  # Flask then uses make_null_session and does not save it
        return super().open_session(app, request)


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in a route: a number a row's id can have, or the URL matches nothing.

    Werkzeug's converter takes any length of digits, and the database answers a bigger
    number than its integers hold with an error instead of "no such row".
    """

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but a body nested too deeply for the parser is invalid JSON.

    Python's parser recurses once per level and raises RecursionError at about a thousand
    (``[`` × 4000); every place that reads a body (``request.get_json``) expects invalid
    JSON to be a ValueError, and answers it with a 400 instead of a 500.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s``; too deep a nesting raises ValueError like any invalid JSON."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error


def init_app(app: Flask) -> None:
    """Register handlers, headers and template helpers.

    Runs before the blueprints are registered, so their ``<int:…>`` routes get the
    bounded converter.
    """
    app.url_map.converters["int"] = DatabaseIdConverter
    app.json = BoundedJSONProvider(app)
    app.session_interface = NoSessionForTheApi()
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.before_request(_refuse_control_characters)
    app.after_request(_security_headers)
    app.teardown_request(_rollback_on_error)
    app.jinja_env.filters["date"] = _format_date
    app.jinja_env.filters["datetime"] = _format_datetime
    app.jinja_env.filters["number"] = _format_number
    app.jinja_env.filters["hours"] = _format_hours
    app.jinja_env.filters["distance"] = format_distance
    app.jinja_env.filters["card_number"] = card_numbers.format_card_number
    app.jinja_env.globals["faulty_fields"] = faulty_fields
    app.context_processor(_template_globals)
    labels.register(app)


def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    titles = {
        400: _("Ungültige Anfrage"),
        403: _("Kein Zugriff"),
        404: _("Seite nicht gefunden"),
        405: _("Nicht erlaubt"),
        410: _("Nicht mehr gültig"),
        413: _("Zu große Datei"),
        429: _("Zu viele Versuche"),
    }
    messages = {
        400: _("Die Anfrage war unvollständig oder fehlerhaft. Bitte versuchen Sie es erneut."),
        403: _("Sie haben keinen Zugriff auf diese Seite."),
        404: _("Diese Seite gibt es nicht (mehr)."),
        405: _("Diese Seite kann so nicht aufgerufen werden."),
        410: _("Dieser Inhalt ist nicht mehr verfügbar."),
        413: _("Die gesendeten Daten sind zu groß. Dateien dürfen höchstens 5 MB groß sein."),
        429: _(
            "Zu viele Versuche in kurzer Zeit. Bitte warten Sie einen Moment und versuchen Sie es erneut."  # noqa: E501
        ),
    }
    return (
        render_template(
            "error.html",
            code=code,
            title=titles.get(code, _("Fehler")),
            message=_own_description(error) or messages.get(code, ""),
        ),
        code,
    )


def _own_description(error: HTTPException) -> str | None:
    """A description the app gave with abort(); Werkzeug's English default is not shown."""
    if error.description and error.description != type(error).description:
        return str(error.description)
    return None


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return (
        render_template(
            "error.html",
            code=400,
            title=_("Formular abgelaufen"),
            message=_(
                "Das Formular war zu lange geöffnet oder wurde nicht von dieser Seite gesendet. "
                "Bitte laden Sie die Seite neu und senden Sie es noch einmal."
            ),
        ),
        400,
    )


def _refuse_control_characters() -> None:
    """A URL whose path parameters carry control characters names nothing: 404.

    PostgreSQL cannot take a NUL in a query parameter, so without this an id or token
    with one would end in a server error. Form fields are checked by the forms, which
    answer at the field.
    """
    values = (request.view_args or {}).values()
    if any(isinstance(value, str) and CONTROL_CHARACTERS.search(value) for value in values):
        abort(404)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint not in CACHEABLE_ENDPOINTS:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _rollback_on_error(error: BaseException | None) -> None:
    if error is not None:
        db.session.rollback()


def _format_date(value: date | datetime | None, format: str = "medium") -> str:
    return format_date(value, format) if value else ""


def _format_datetime(value: datetime | None, format: str = "short") -> str:
    return format_datetime(value, format) if value else ""


def _format_number(value: object) -> str:
    """4 → "4", 4.5 → "4,5" (in German), as people write hours."""
    return format_decimal(value, format="#,##0.##") if value is not None else ""


def _format_hours(value: object) -> str:
    """Hours with one decimal in the page's language: 5 → "5,0" (German), "5.0" (English)."""
    return format_decimal(value, format="#,##0.0") if value is not None else ""


def format_distance(kilometres: float) -> str:
    """A distance with one decimal in the page's language: "2,4 km" (German)."""
    return _("%(km)s km", km=format_decimal(kilometres, format="#,##0.0"))


def _template_globals() -> dict[str, Any]:
    return {"current_locale": current_language(), "public_office": _public_office}


def _public_office() -> Office | None:
    """The office whose face a page without one of its own shows (header logo, footer):
    PUBLIC_OFFICE_SLUG's, else the first office. Called by the template only when needed."""
    return face.public_office(current_app.config["PUBLIC_OFFICE_SLUG"])
