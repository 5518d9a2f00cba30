"""The default dunning policy "Standard": every installation chases unpaid invoices from the start.

Retries 1, 3, 5 and 7 days after the first failed payment (5 attempts in all), a reminder at each step,
then the subscription is marked unpaid; access is never suspended. Finance changes it in the admin.
"""

import datetime as dt

from django.db import migrations

STANDARD = {
    "retry_days": [1, 3, 5, 7],
    "max_attempts": 5,
    "send_reminders": True,
    "final_action": "mark_unpaid",
    "suspend_after_days": None,
}


def add(apps, schema_editor):
    DunningPolicy = apps.get_model("invoicing", "DunningPolicy")
    if DunningPolicy.objects.filter(is_default=True).exists():
        return
    moment = dt.datetime.now(dt.UTC)
    policy, created = DunningPolicy.objects.get_or_create(
        name="Standard", defaults={**STANDARD, "is_default": True, "created_at": moment, "updated_at": moment}
    )
    if not created:
        policy.is_default = True
        policy.save(update_fields=["is_default"])


def remove(apps, schema_editor):
    DunningPolicy = apps.get_model("invoicing", "DunningPolicy")
    DunningPolicy.objects.filter(
        name="Standard", cases__isnull=True, plan_links__isnull=True, customer_links__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0004_collection")]
    operations = [migrations.RunPython(add, remove)]
