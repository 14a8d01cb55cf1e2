"""The volunteer's own account."""
