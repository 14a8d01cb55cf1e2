"""Signing in and out: password, one-time link, TOTP second factor."""
