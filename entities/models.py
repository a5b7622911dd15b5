"""Models of entities."""
