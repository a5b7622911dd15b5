"""Models of secrets_app."""
