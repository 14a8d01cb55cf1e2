"""The volunteer's application form."""
