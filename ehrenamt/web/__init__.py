"""The web layer: one blueprint package per audience (views.py + forms.py each), and what
they share: sign-in and role checks (access), page handlers and headers (pages), form
helpers (forms) and file downloads (downloads). A blueprint imports domain packages and
these shared modules, never another blueprint."""
