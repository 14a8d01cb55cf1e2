"""Letters: notices on paper for people without e-mail, and the office's print outbox."""
