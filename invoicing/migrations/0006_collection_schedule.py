"""Register the collection run with django-q2: first charges, retries, reminders and final actions."""

from django.conf import settings
from django.db import migrations

NAME = "collection run"


def add(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "invoicing.tasks.collection_run_task",
            "schedule_type": "I",
            "minutes": getattr(settings, "COLLECTION_RUN_MINUTES", 15),
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0005_default_dunning_policy"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(add, remove)]
