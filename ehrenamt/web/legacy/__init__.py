"""Staff import cards the office issued on paper before it used this service."""
