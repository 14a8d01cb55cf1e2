"""Checking cards: the answer for a code, the records of checks, their limits and history."""
