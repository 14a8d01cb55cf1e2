"""Partners (Akzeptanzstellen): registration and the partner area."""
