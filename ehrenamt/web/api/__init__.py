"""The API for till systems (``/api/v1``) and the partner's pages to manage its API keys."""
