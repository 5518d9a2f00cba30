"""Admin: customers."""
