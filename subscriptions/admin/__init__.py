from subscriptions.admin import customers, subscriptions, test_clocks, usage  # noqa: F401 - registers admin classes
