"""``/.well-known/…``: what other systems fetch from this service."""
