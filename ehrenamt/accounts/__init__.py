"""User accounts: creating and finding them, passwords, one-time links, the second factor."""
