"""Checking cards in the browser: the partner's scan page and the public check page."""
