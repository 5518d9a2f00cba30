"""The catalog admin: importing the modules registers their admin classes."""

from catalog.admin import coupons, plans, prices, products, tax_rates

__all__ = ["coupons", "plans", "prices", "products", "tax_rates"]
