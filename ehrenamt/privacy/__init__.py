"""Data protection as running code: retention periods enforced by jobs, a person's data
exported (DSGVO Art. 15/20), corrected (Art. 16) and erased (Art. 17)."""
