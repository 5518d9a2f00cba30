"""Which declines are worth retrying (pure).

A soft decline (insufficient funds, a processing error, the issuer unavailable) may pass another day,
so dunning retries it on schedule. A hard decline (stolen, lost, closed account, invalid number) will
fail every time: retrying annoys the issuer and risks the merchant's standing, so dunning stops
charging and asks the customer for a new payment method. Unknown codes are treated as soft, which is
what the card networks' own retry rules allow for generic declines.
"""

from __future__ import annotations

SOFT = "soft"
HARD = "hard"

HARD_DECLINE_CODES = frozenset(
    {
        "stolen_card",
        "lost_card",
        "pickup_card",
        "restricted_card",
        "invalid_account",
        "account_closed",
        "new_account_information_available",
        "card_not_supported",
        "currency_not_supported",
        "expired_card",
        "incorrect_number",
        "invalid_number",
        "invalid_cvc",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "fraudulent",
        "merchant_blacklist",
        "revocation_of_all_authorizations",
        "revocation_of_authorization",
        "security_violation",
        "stop_payment_order",
        "transaction_not_allowed",
        "no_action_taken",
        "debit_not_authorized",
        "bank_account_restricted",
        "no_account",
        "payment_method_missing",
    }
)

#: Our failure codes (not the issuer's) that no retry can fix either.
HARD_FAILURE_CODES = frozenset({"expired_card", "incorrect_number", "invalid_number", "payment_method_missing"})


def decline_type(*, failure_code: str, decline_code: str) -> str:
    """``hard`` or ``soft`` for a failed charge, from the issuer's decline code and our failure code."""
    if (decline_code or "").lower() in HARD_DECLINE_CODES:
        return HARD
    if (failure_code or "").lower() in HARD_FAILURE_CODES:
        return HARD
    return SOFT


def retry_at_days(retry_days: list[int], *, step: int) -> int | None:
    """Days after the first failure of retry number ``step`` (0-based), ``None`` when the schedule is done."""
    return retry_days[step] if 0 <= step < len(retry_days) else None


def schedule_problems(retry_days: object, max_attempts: int) -> list[str]:
    """What is wrong with a retry schedule, in words finance understands (empty when it is fine)."""
    if not isinstance(retry_days, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in retry_days):
        return ["Give the retry days as whole numbers, for example 1, 3, 5, 7."]
    problems = []
    if any(d < 1 for d in retry_days):
        problems.append("Retry days start at 1 (the day after the first failed payment).")
    if any(b <= a for a, b in zip(retry_days, retry_days[1:], strict=False)):
        problems.append("Retry days must go up, each later than the one before (1, 3, 5, 7).")
    if retry_days and retry_days[-1] > 365:
        problems.append("The last retry must be within a year of the first failure.")
    if max_attempts < 1:
        problems.append("Allow at least one attempt.")
    elif max_attempts > len(retry_days) + 1:
        problems.append(
            f"The schedule has {len(retry_days)} retry day(s), so at most {len(retry_days) + 1} attempts "
            "(the first one included): add retry days or lower the maximum."
        )
    return problems
