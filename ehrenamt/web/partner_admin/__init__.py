"""Staff: partner registrations of the office, their benefits, CSV import and export."""
