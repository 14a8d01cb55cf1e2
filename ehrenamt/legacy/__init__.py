"""Cards a town issued before it used this service: import with their printed numbers."""
