"""Rate limits of card checks: per IP, per partner, and for unknown or forged codes."""

from __future__ import annotations

import contextlib

from ehrenamt.core.rate_counters import Unavailable, count
from ehrenamt.verification.results import CheckStatus

#: The settings of the limits (config.py); failed codes count per partner, for its till
#: API and its check page together.
PER_IP = "RATELIMIT_API_PER_IP"


PER_PARTNER = "RATELIMIT_API_PER_PARTNER"


FAILED_CODES = "RATELIMIT_API_FAILED_CODES"


#: Results that count towards FAILED_CODES: codes that are not a card of ours. Expired and
#: revoked cards are real cards shown at a counter, not probing.
FAILED_RESULTS = frozenset({CheckStatus.UNKNOWN, CheckStatus.INVALID})


def count_if_failed(partner_id: int, status: CheckStatus) -> None:
    """Count an unknown or forged code against the partner (FAILED_CODES); if the counters
    cannot be reached the check has been answered anyway (``count`` logs the outage)."""
    if status not in FAILED_RESULTS:
        return
    with contextlib.suppress(Unavailable):
        count([(FAILED_CODES, str(partner_id))])
