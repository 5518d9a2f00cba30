from catalog.models.coupon import Coupon, CouponDuration, DiscountType, PromotionCode
from catalog.models.metric import AGGREGATION_FIELDS, Aggregation, BillableMetric
from catalog.models.plan import Plan, PlanVersion, PlanVersionStatus
from catalog.models.price import BillingInterval, Price, RateWindow, Tier, UsageType
from catalog.models.product import Product, TaxCategory
from catalog.models.tax_rate import TaxRate, TaxRateCategory

__all__ = [
    "AGGREGATION_FIELDS",
    "Aggregation",
    "BillableMetric",
    "BillingInterval",
    "Coupon",
    "CouponDuration",
    "DiscountType",
    "Plan",
    "PlanVersion",
    "PlanVersionStatus",
    "Price",
    "Product",
    "PromotionCode",
    "RateWindow",
    "TaxCategory",
    "TaxRate",
    "TaxRateCategory",
    "Tier",
    "UsageType",
]
