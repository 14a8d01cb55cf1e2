"""Partners (Akzeptanzstellen): registration, benefits, accounts, API keys, the directory."""
