"""Test vectors of the card format (see docs/card-format.md)."""
