"""Register the periodic jobs with django-q2: the billing run and the daily customer reminders."""

from django.conf import settings
from django.db import migrations

JOBS = [
    ("billing run", "invoicing.tasks.billing_run_task", "I", "BILLING_RUN_MINUTES", 15),
    ("customer reminders", "invoicing.tasks.reminders_task", "D", None, None),
]


def add(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, kind, setting, default in JOBS:
        minutes = getattr(settings, setting, default) if setting else None
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": kind, "minutes": minutes, "repeats": -1}
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[job[0] for job in JOBS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(add, remove)]
