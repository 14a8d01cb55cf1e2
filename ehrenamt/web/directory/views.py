"""The public directory of benefits: search, filters, a page per partner."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from ehrenamt.partners import categories as partners_categories
from ehrenamt.partners import directory as partners_directory
from ehrenamt.web.directory.forms import DirectorySearchForm
from ehrenamt.web.forms import choices
from ehrenamt.web.pages import current_language, list_page, or_404

bp = Blueprint("directory", __name__, url_prefix="/verguenstigungen")


@bp.route("/")
def index() -> tuple[str, int]:
    """Every published benefit valid today; filtered and paged in the database."""
    form = DirectorySearchForm(request.args)
    categories = partners_categories.list_categories()
    language = current_language()
    form.category.choices = choices(
        [("", _("alle Kategorien"))]
        + [(c.slug, partners_categories.category_name(c, language)) for c in categories]
    )
    criteria = partners_directory.DirectoryQuery()
    page = 1
    valid = form.validate()
    if valid:
        by_slug = {c.slug: c.id for c in categories}
        criteria = partners_directory.DirectoryQuery(
            text=form.q.data or "",
            category_id=by_slug.get(form.category.data or ""),
            place=form.place.data or "",
            latitude=form.lat.data,
            longitude=form.lon.data,
        )
        page = form.page.data or 1
    result = partners_directory.search_directory(criteria, page, current_app.config["PAGE_SIZE"])
    names = {c.id: partners_categories.category_name(c, language) for c in categories}
    distances = {}
    if criteria.latitude is not None and criteria.longitude is not None:
        distances = {
            partner.id: partners_directory.distance_km(
                partner, criteria.latitude, criteria.longitude
            )
            for _benefit, partner in result.items
        }
    html = list_page("directory/index.html", form, result, categories=names, distances=distances)
    return html, 200 if valid else 400


@bp.route("/partner/<public_id>")
def partner(public_id: str) -> str:
    """An approved partner's page with its published benefits."""
    found = or_404(partners_directory.public_partner(public_id))
    return render_template(
        "directory/partner.html",
        partner=found,
        benefits=partners_directory.published_benefits(found),
        category=partners_categories.category_name(found.category, current_language()),
    )
