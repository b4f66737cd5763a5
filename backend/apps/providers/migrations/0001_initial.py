# The v1 tables `providers` and `gpu_offers`, exactly as v1's init script created them
# (docs/migration.md), so that `migrate --fake-initial` adopts a v1 database: v1's types,
# lengths, nullability and CHECK constraints. v1's server-side defaults are not part of Django's
# state; 0006 drops them. v2's columns come in 0002, and 0006 changes what v2 needs changed.

import uuid

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Provider",
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
                ("name", models.CharField(max_length=100, unique=True)),
                ("display_name", models.CharField(max_length=100)),
                (
                    "website_url",
                    models.CharField(blank=True, max_length=500, null=True),
                ),
                ("api_base_url", models.CharField(max_length=500)),
                (
                    "documentation_url",
                    models.CharField(blank=True, max_length=500, null=True),
                ),
                ("status", models.CharField(default="active", max_length=20, null=True)),
                (
                    "supported_regions",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.TextField(),
                        blank=True,
                        default=list,
                        null=True,
                        size=None,
                    ),
                ),
                (
                    "compliance_tags",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.TextField(),
                        blank=True,
                        default=list,
                        null=True,
                        size=None,
                    ),
                ),
                (
                    "reliability_score",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=3, null=True),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, null=True),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, null=True)),
            ],
            options={
                "db_table": "providers",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(status__in=["active", "maintenance", "deprecated"]),
                        name="providers_status_check",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="GPUOffer",
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
                ("external_id", models.CharField(max_length=255)),
                ("gpu_type", models.CharField(max_length=100)),
                ("gpu_memory_gb", models.IntegerField()),
                ("cpu_cores", models.IntegerField()),
                ("ram_gb", models.IntegerField()),
                ("storage_gb", models.IntegerField()),
                (
                    "storage_type",
                    models.CharField(blank=True, max_length=20, null=True),
                ),
                ("price_per_hour", models.DecimalField(decimal_places=4, max_digits=8)),
                ("currency", models.CharField(default="USD", max_length=3, null=True)),
                ("region", models.CharField(max_length=50)),
                (
                    "availability_zone",
                    models.CharField(blank=True, max_length=100, null=True),
                ),
                (
                    "availability_status",
                    models.CharField(
                        choices=[
                            ("available", "Available"),
                            ("limited", "Limited"),
                            ("unavailable", "Unavailable"),
                        ],
                        default="available",
                        max_length=20,
                        null=True,
                    ),
                ),
                ("min_rental_time", models.IntegerField(blank=True, null=True)),
                ("max_rental_time", models.IntegerField(blank=True, null=True)),
                ("spot_pricing", models.BooleanField(default=False, null=True)),
                ("preemptible", models.BooleanField(default=False, null=True)),
                (
                    "sla_uptime",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True),
                ),
                (
                    "network_speed_gbps",
                    models.DecimalField(blank=True, decimal_places=2, max_digits=6, null=True),
                ),
                (
                    "compliance_tags",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.TextField(),
                        blank=True,
                        default=list,
                        null=True,
                        size=None,
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, null=True),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, null=True)),
                ("last_seen_at", models.DateTimeField(blank=True, null=True)),
                (
                    "provider",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="offers",
                        to="providers.provider",
                    ),
                ),
            ],
            options={
                "db_table": "gpu_offers",
                "unique_together": {("provider", "external_id")},
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            availability_status__in=["available", "limited", "unavailable"]
                        ),
                        name="gpu_offers_availability_status_check",
                    ),
                ],
            },
        ),
    ]
