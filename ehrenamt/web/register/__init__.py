"""The clerk's card register: finding cards, acting on them, and issuing them in bulk."""
