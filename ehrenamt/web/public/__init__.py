"""Public pages: start page, rules, language."""
