"""Applications: submitted by volunteers, confirmed by organisations, decided by staff."""
