"""Cards: created with the approval, produced by workers, kept by staff, checked by partners."""
