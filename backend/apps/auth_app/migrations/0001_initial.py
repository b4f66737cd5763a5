# The v1 tables `users` and `user_sessions`, exactly as v1's init script created them
# (docs/migration.md), so that `migrate --fake-initial` adopts a v1 database: v1's types,
# lengths, nullability and CHECK constraint. v1's server-side defaults are not part of Django's
# state; 0003 drops them. v2's columns come in 0002, and 0003 changes what v2 needs changed.

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import apps.auth_app.models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="User",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("email", models.EmailField(max_length=255, unique=True)),
                (
                    "password",
                    models.CharField(db_column="password_hash", max_length=255),
                ),
                ("full_name", models.CharField(max_length=255)),
                (
                    "organization",
                    models.CharField(blank=True, max_length=255, null=True),
                ),
                ("is_active", models.BooleanField(default=True, null=True)),
                ("is_verified", models.BooleanField(default=False, null=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, null=True),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, null=True)),
                ("last_login", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "db_table": "users",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            email__iregex=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
                        ),
                        name="users_email_format",
                    ),
                ],
            },
            managers=[("objects", apps.auth_app.models.UserManager())],
        ),
        migrations.CreateModel(
            name="UserSession",
            fields=[
                (
                    "jti",
                    models.UUIDField(default=uuid.uuid4, primary_key=True, serialize=False),
                ),
                ("refresh_token_hash", models.CharField(max_length=255)),
                ("expires_at", models.DateTimeField()),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, null=True),
                ),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("user_agent", models.TextField(blank=True, null=True)),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"db_table": "user_sessions"},
        ),
    ]
