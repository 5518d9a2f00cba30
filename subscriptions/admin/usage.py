"""Admin: usage."""
