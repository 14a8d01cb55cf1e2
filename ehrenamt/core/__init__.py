"""Infrastructure every domain shares: outbox, mail, audit, uploads, paging, errors."""
