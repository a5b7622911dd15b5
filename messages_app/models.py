"""Models of messages_app."""
