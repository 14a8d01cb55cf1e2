"""The office admin's settings: the programme rules."""
