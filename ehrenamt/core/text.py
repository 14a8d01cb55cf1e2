"""Checks of text from outside (forms, imported files) that every layer shares."""

from __future__ import annotations

import re

#: C0 control characters other than tab, line feed and carriage return. None belongs in
#: a name or a note, and PostgreSQL cannot take a NUL in a query parameter at all.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
