"""Create the staff roles Pricing, Finance, Support and Approver with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from billing_site.roles import ROLE_PERMISSIONS, sync_roles


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate; create them now so the roles can get them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_roles(apps)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing_site", "0001_initial"),
        ("catalog", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
