"""Issuing offices: creating them, and their programme rules."""
