"""The clerk's work: the queue of applications and the decisions on them."""
