"""Admin: subscriptions."""
