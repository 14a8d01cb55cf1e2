"""The office-wide audit log: every row of the offices, filtered, paged or streamed."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import aliased

from ehrenamt.core.audit import Subject
from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.extensions import db
from ehrenamt.models import (
    STAFF_ROLES,
    Application,
    AuditEntry,
    Card,
    LegacyImport,
    Partner,
    User,
    UserRole,
)

#: The accounts that have a page of their own: an office's clerks and admins (the staff
#: page). A volunteer's or partner's account has none for staff (their applications and
#: partner pages link instead), and a programme admin is no office's staff.
STAFF_PAGE_ROLES = (UserRole.CLERK, UserRole.ADMIN)

#: The actor filter's value for rows the service wrote itself (no signed-in person).
SYSTEM_ACTOR = "system"

#: A query of audit rows (whole rows with their objects, or ids).
Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")

#: Rows fetched from the database at a time while streaming an export.
STREAM_BATCH = 1000


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log is narrowed to; None or empty means any."""

    #: A user's id, or :data:`SYSTEM_ACTOR`.
    actor: str = ""
    action: str = ""
    subject_type: str = ""
    #: The first and last day (in the office's time zone), both included.
    since: date | None = None
    until: date | None = None
    #: One office out of several (the programme's log); None: all given.
    office_id: int | None = None


@dataclass(frozen=True)
class AuditRow:
    """One audit row with the public id of its object, for a link (None: no page)."""

    entry: AuditEntry
    public_id: str | None
    #: The row is about a clerk or admin who still has a staff page.
    staff_member: bool = False
    #: The row is about a programme administrator (her page is the programme's).
    programme_admin: bool = False


def _start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` where the offices are, in UTC."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _with_objects() -> Select[AuditEntry, str, str, str, str, int, int]:
    """Audit rows with their objects' public ids (a staff member's and a programme
    administrator's id), not yet narrowed or ordered."""
    programme_admin = aliased(User)
    public_id = (
        Application.public_id.label("application_id"),
        Card.public_id.label("card_id"),
        Partner.public_id.label("partner_id"),
        LegacyImport.public_id.label("import_id"),
        User.id.label("staff_id"),
        programme_admin.id.label("programme_admin_id"),
    )
    query = select(AuditEntry, *public_id)
    for model, subject in (
        (Application, Subject.APPLICATION),
        (Card, Subject.CARD),
        (Partner, Subject.PARTNER),
        (LegacyImport, Subject.LEGACY_IMPORT),
    ):
        query = query.outerjoin(model, _about(model, subject))
    return query.outerjoin(
        User,
        and_(
            _about(User, Subject.USER),
            User.office_id == AuditEntry.office_id,
            User.role.in_(STAFF_PAGE_ROLES),
        ),
    ).outerjoin(
        programme_admin,
        and_(
            _about(programme_admin, Subject.USER),
            programme_admin.role == UserRole.PROGRAMME_ADMIN,
        ),
    )


def _about(target: Any, subject: Subject) -> ColumnElement[bool]:
    """The audit row is about this row of ``target`` (a model or an alias of one)."""
    return and_(AuditEntry.subject_type == subject.value, target.id == AuditEntry.subject_id)


def _narrowed(query: Q, office_ids: Collection[int], filters: AuditFilter, programme: bool) -> Q:
    """``query`` narrowed to the offices' rows and the filters, newest first.

    Every condition names columns of ``audit_entry`` only, so the database can walk one
    of its indexes in the order of the page and stop after the page (bench/audit.py).
    """
    in_offices = AuditEntry.office_id.in_(list(office_ids))
    if programme:
        programme_admins = select(User.id).where(User.role == UserRole.PROGRAMME_ADMIN)
        query = query.where(
            or_(
                in_offices,
                and_(
                    AuditEntry.office_id.is_(None),
                    AuditEntry.subject_type == Subject.USER.value,
                    AuditEntry.subject_id.in_(programme_admins.scalar_subquery()),
                ),
            )
        )
    else:
        query = query.where(in_offices)
    if filters.office_id is not None:
        query = query.where(AuditEntry.office_id == filters.office_id)
    if filters.actor == SYSTEM_ACTOR:
        query = query.where(AuditEntry.actor_role == SYSTEM_ACTOR)
    elif filters.actor.isdigit():
        query = query.where(AuditEntry.actor_id == int(filters.actor))
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.subject_type:
        query = query.where(AuditEntry.subject_type == filters.subject_type)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= _start_of(filters.since))
    if filters.until is not None:
        query = query.where(AuditEntry.at < _start_of(filters.until + timedelta(days=1)))
    return query.order_by(AuditEntry.id.desc())


def audit_query(
    office_ids: Collection[int], filters: AuditFilter, *, programme: bool = False
) -> Select[AuditEntry, str, str, str, str, int, int]:
    """The offices' audit rows with their objects' public ids, newest first; with
    ``programme``, also the rows about programme administrators' accounts, which belong
    to no office."""
    return _narrowed(_with_objects(), office_ids, filters, programme)


def _row(found: tuple[Any, ...]) -> AuditRow:
    entry, *ids, staff_id, programme_admin_id = found
    public_id = next((value for value in ids if value is not None), None)
    return AuditRow(
        entry,
        public_id,
        staff_member=staff_id is not None,
        programme_admin=programme_admin_id is not None,
    )


def _far_back(filters: AuditFilter) -> bool:
    """The date range ends longer ago than it lasts: fewer rows lie inside it than after
    it (rows come at about the same rate all the time)."""
    if filters.since is None or filters.until is None:
        return False
    today = datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()
    return today - filters.until > filters.until - filters.since


def audit_page(
    office_ids: Collection[int],
    filters: AuditFilter,
    page: int,
    page_size: int,
    *,
    programme: bool = False,
) -> Page[AuditRow]:
    """One page of the offices' audit log, newest first (``programme``: see
    :func:`audit_query`)."""
    # The page's ids first, then their objects: a deep page skips its OFFSET rows in an
    # index alone instead of joining each skipped row to six tables.
    ids_query = _narrowed(select(AuditEntry.id), office_ids, filters, programme)
    if _far_back(filters):
        # The database takes the rows of a range as spread over all ids and walks the
        # ids from the newest, through every newer row. It does not know that the ids
        # follow the time; fenced off (OFFSET 0), the range is read by its date index
        # and only its own rows are sorted.
        in_range = ids_query.order_by(None).offset(0).subquery()
        ids_query = select(in_range.c.id).order_by(in_range.c.id.desc())
    ids = fetch_page(ids_query, page, page_size)
    found = db.session.execute(
        _with_objects().where(AuditEntry.id.in_(ids.items)).order_by(AuditEntry.id.desc())
    )
    return Page([_row(tuple(row)) for row in found], ids.number, ids.has_next)


def stream_audit(office_ids: Collection[int], filters: AuditFilter) -> Iterator[AuditRow]:
    """Every filtered row, fetched from the database in batches (for an export)."""
    query = audit_query(office_ids, filters).execution_options(yield_per=STREAM_BATCH)
    for found in db.session.execute(query):
        yield _row(tuple(found))
        # Rows already written need not stay in the session's identity map.
        db.session.expunge(found[0])


def staff_of(office_ids: Collection[int]) -> list[User]:
    """The offices' staff, for the actor filter (inactive ones too: they acted once)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.office_id.in_(list(office_ids)), User.role.in_(list(STAFF_ROLES)))
            .order_by(User.email)
        )
    )
