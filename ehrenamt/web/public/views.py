"""Pages for everyone."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from ehrenamt.applications.eligibility import PLACE_RULE_LABELS
from ehrenamt.core import security
from ehrenamt.extensions import db
from ehrenamt.labels import QUALIFICATION_LABELS
from ehrenamt.models import Office, PrivacyNotice
from ehrenamt.offices import face
from ehrenamt.privacy import notice
from ehrenamt.web.pages import or_404

bp = Blueprint("public", __name__)


@bp.route("/")
def index() -> str:
    """What the card is and how to get one, with each office's rules."""
    offices = list(db.session.scalars(select(Office).order_by(Office.name)))
    return render_template(
        "public/index.html",
        offices=offices,
        place_labels=PLACE_RULE_LABELS,
        qualification_labels=QUALIFICATION_LABELS,
    )


@bp.route("/datenschutz")
def privacy() -> str:
    """What is processed and why; each office's own notice is linked."""
    offices = list(db.session.scalars(select(Office).order_by(Office.name)))
    return render_template("public/privacy.html", offices=offices)


@bp.route("/datenschutz/<slug>")
def office_privacy(slug: str) -> str:
    """The office's current notice, generated from its configured periods."""
    office = or_404(db.session.scalar(select(Office).where(Office.slug == slug)))
    current = notice.current_notice(office)
    return _render_notice(office, current, current.version)


@bp.route("/datenschutz/<slug>/fassung-<int:version>")
def office_privacy_version(slug: str, version: int) -> str:
    """An earlier version, as it was given to the applicants of its time."""
    office = or_404(db.session.scalar(select(Office).where(Office.slug == slug)))
    shown = or_404(notice.notice_version(office.id, version))
    latest = notice.latest_notice(office.id)
    return _render_notice(office, shown, latest.version if latest else version)


def _render_notice(office: Office, shown: PrivacyNotice, current_version: int) -> str:
    return render_template(
        "public/privacy_office.html",
        office=office,
        notice=shown,
        current_version=current_version,
        versions=notice.versions(office.id),
    )


#: The logo is a PNG the app made, but it is served as if it were hostile all the same:
#: no scripts, no styles, no frames, nothing it could load, and never sniffed as HTML.
LOGO_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


@bp.route("/amt/<slug>/logo.png")
def office_logo(slug: str) -> Response:
    """The office's logo, a PNG only; 404 for an office without one."""
    office = or_404(face.office_by_slug(slug))
    png = or_404(office.logo_png)
    response = Response(png, mimetype="image/png")
    response.headers["Content-Security-Policy"] = LOGO_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline; filename=logo.png"
    # A changed logo gets a new ETag: browsers may keep it, but ask again each time.
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for it at the root even when a page names another icon."""
    return send_from_directory(current_app.static_folder or "", "favicon.ico", max_age=86400)


@bp.route("/impressum")
def imprint() -> str:
    """The Impressum of the deployment's public office (PUBLIC_OFFICE_SLUG)."""
    office = or_404(face.public_office(current_app.config["PUBLIC_OFFICE_SLUG"]))
    return render_template("public/imprint.html", office=office)


@bp.route("/impressum/<slug>")
def office_imprint(slug: str) -> str:
    """An office's Impressum and contact."""
    office = or_404(face.office_by_slug(slug))
    return render_template("public/imprint.html", office=office)


@bp.route("/sprache", methods=["POST"])
def set_language() -> Response:
    """Switch the language of pages (a POST with CSRF token)."""
    form = FlaskForm()
    language = request.form.get("language", "")
    if form.validate_on_submit() and language in current_app.config["LANGUAGES"]:
        session["language"] = language
        if current_user.is_authenticated:
            # Mails sent later (by staff actions, by jobs) follow this choice.
            current_user.language = language
            db.session.commit()
    target = security.local_path(request.form.get("next", ""))
    return redirect(target or url_for("public.index"))


@bp.route("/health")
def health() -> dict[str, str]:
    """For load balancers: the process is up and the database answers."""
    db.session.execute(select(1))
    return {"status": "ok"}
