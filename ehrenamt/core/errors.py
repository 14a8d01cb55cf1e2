"""The errors every domain operation raises for the same two reasons.

Views answer them alike everywhere: :class:`NotPermitted` as 404 (another office's or
another person's object does not exist for the caller), :class:`Conflict` with the
message that someone else changed the object meanwhile. Each domain adds its own
:class:`DomainError` subclass for refusals whose message is for the user.
"""

from __future__ import annotations


class DomainError(Exception):
    """An operation that cannot be done; subclasses say why."""


class Conflict(DomainError):
    """Someone else changed the object meanwhile (version column or conditional UPDATE)."""


class NotPermitted(DomainError):
    """The acting person may not act on this object (another office, another account)."""
