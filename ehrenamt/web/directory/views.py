"""The public directory of benefits: search, filters, map, a page per partner."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ehrenamt.partners import categories as partners_categories
from ehrenamt.partners import directory as partners_directory
from ehrenamt.web.directory.forms import DirectorySearchForm
from ehrenamt.web.forms import choices
from ehrenamt.web.pages import (
    content_security_policy,
    current_language,
    list_page,
    or_404,
)

bp = Blueprint("directory", __name__, url_prefix="/verguenstigungen")


def tile_origin(url: str) -> str | None:
    """The origin the map's tiles come from, for the page's Content-Security-Policy
    (Leaflet's ``{s}`` subdomain placeholder becomes a wildcard); None if not a URL."""
    parts = urlsplit(url.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


@bp.route("/")
def index() -> ResponseReturnValue:
    """Partners with published benefits valid today, one card each, with a map; filtered
    and paged in the database."""
    form = DirectorySearchForm(request.args)
    categories = partners_categories.list_categories()
    language = current_language()
    form.category.choices = choices(
        [("", _("alle Kategorien"))]
        + [(c.slug, partners_categories.category_name(c, language)) for c in categories]
    )
    # "Any" keeps the place a postcode prefix; the visitor's position alone takes the
    # default radius.
    form.radius.choices = choices(
        [("", _("beliebig weit"))]
        + [(km, _("%(km)s km", km=km)) for km in partners_directory.RADII_KM]
    )
    if not form.radius.data and form.lat.data is not None and form.lon.data is not None:
        form.radius.data = str(partners_directory.DEFAULT_RADIUS_KM)
    criteria = partners_directory.DirectoryQuery()
    centre = None
    page = 1
    valid = form.validate()
    if valid:
        by_slug = {c.slug: c.id for c in categories}
        place = form.place.data or ""
        if form.around_place():
            centre = partners_directory.place_centre(place)
        criteria = partners_directory.DirectoryQuery(
            text=form.q.data or "",
            category_id=by_slug.get(form.category.data or ""),
            # Around a postcode or town the radius replaces the place: the partners of
            # the next town are as near as those of the place itself.
            place="" if centre else place,
            latitude=centre.latitude if centre else form.lat.data,
            longitude=centre.longitude if centre else form.lon.data,
            radius_km=float(form.radius.data or partners_directory.DEFAULT_RADIUS_KM),
        )
        page = form.page.data or 1
    result = partners_directory.search_directory(criteria, page, current_app.config["PAGE_SIZE"])
    tile_url = current_app.config["MAP_TILE_URL"] or ""
    origin = tile_origin(tile_url)
    html = list_page(
        "directory/index.html",
        form,
        result,
        categories={c.id: partners_categories.category_name(c, language) for c in categories},
        near_me=centre is None and criteria.latitude is not None and criteria.longitude is not None,
        centre=centre,
        without_location={
            k: v for k, v in request.args.items() if k not in ("lat", "lon", "page") and v
        },
        without_radius={k: v for k, v in request.args.items() if k not in ("radius", "page") and v},
        tile_url=tile_url if origin else "",
        tile_attribution=current_app.config["MAP_TILE_ATTRIBUTION"],
    )
    response = make_response(html, 200 if valid else 400)
    if origin:
        response.headers["Content-Security-Policy"] = content_security_policy(images=origin)
    return response


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
