"""Plain Django views of the invoicing app that are neither the admin nor the API (provider webhooks)."""
