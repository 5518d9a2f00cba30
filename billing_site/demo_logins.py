"""The demo staff accounts that `seed_demo` creates and `make run` prints. Development only."""

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - demo data, refused by production settings' checks

DEMO_LOGINS = [
    ("admin", DEMO_PASSWORD, "Superuser (everything, incl. API keys)"),
    ("pricing", DEMO_PASSWORD, "Pricing: edits the catalog"),
    ("finance", DEMO_PASSWORD, "Finance: customers, subscriptions, test clocks, tax rates"),
    ("support", DEMO_PASSWORD, "Support: finds customers, pauses or cancels subscriptions; cannot change prices"),
    ("approver", DEMO_PASSWORD, "Approver: approves changes made by others"),
]
