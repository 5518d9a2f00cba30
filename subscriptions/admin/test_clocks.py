"""Admin: test_clocks."""
