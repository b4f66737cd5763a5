# v1's `providers`, `gpu_offers` and `price_history` (0001 describes the first two; 0002 adopts or
# creates the third) changed to what v2 writes, keeping every row.
#
# The same operations run on three kinds of database and leave all three with one schema
# (backend/gpubroker/tests/test_v1_adoption.py compares them):
# - a v1 database adopted with `migrate --fake-initial` (0001 faked);
# - a fresh database (0001 created the v1 shape, this migration changes it);
# - a v2 database migrated before this migration existed, whose 0001 already made the v2 shape:
#   there every statement below is a no-op (the SQL is written to be, and each AlterField only
#   widens a type, drops a NOT NULL or adds one to columns that are already so).

import django.contrib.postgres.fields
import django.utils.timezone
from django.db import migrations, models

# v1 gave these columns server-side defaults; v2 sets every value itself and a fresh v2 database
# has none, so they go. (Defaults are not data: no row changes.)
DROP_V1_DEFAULTS = [
    """ALTER TABLE providers
        ALTER COLUMN id DROP DEFAULT,
        ALTER COLUMN status DROP DEFAULT,
        ALTER COLUMN supported_regions DROP DEFAULT,
        ALTER COLUMN compliance_tags DROP DEFAULT,
        ALTER COLUMN reliability_score DROP DEFAULT,
        ALTER COLUMN created_at DROP DEFAULT,
        ALTER COLUMN updated_at DROP DEFAULT""",
    """ALTER TABLE gpu_offers
        ALTER COLUMN id DROP DEFAULT,
        ALTER COLUMN storage_type DROP DEFAULT,
        ALTER COLUMN currency DROP DEFAULT,
        ALTER COLUMN availability_status DROP DEFAULT,
        ALTER COLUMN min_rental_time DROP DEFAULT,
        ALTER COLUMN spot_pricing DROP DEFAULT,
        ALTER COLUMN preemptible DROP DEFAULT,
        ALTER COLUMN compliance_tags DROP DEFAULT,
        ALTER COLUMN created_at DROP DEFAULT,
        ALTER COLUMN updated_at DROP DEFAULT,
        ALTER COLUMN last_seen_at DROP DEFAULT""",
]

# 0001 keeps v1's availability CHECK (v2 writes the same three values). A v2 database made by
# the 0001 of before never got it.
ADD_AVAILABILITY_CHECK_IF_MISSING = """DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'gpu_offers'::regclass
          AND conname = 'gpu_offers_availability_status_check'
    ) THEN
        ALTER TABLE gpu_offers ADD CONSTRAINT gpu_offers_availability_status_check
            CHECK (availability_status IN ('available', 'limited', 'unavailable'));
    END IF;
END
$$"""

# What Django creates for these fields in a fresh database and v1 never had: the pattern-ops
# index of the unique name (Django's `_like` index), the index of the foreign key, the foreign
# key in Django's form (NO ACTION, DEFERRABLE INITIALLY DEFERRED; Django cascades deletes itself)
# instead of v1's ON DELETE CASCADE, and Django's name for the (provider_id, external_id) unique
# constraint. Names are Django's, so the statements find what an older v2 database already has.
INDEXES_AND_KEYS = [
    "CREATE INDEX IF NOT EXISTS providers_name_fc4e5258_like ON providers (name varchar_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS gpu_offers_provider_id_9e8e3595 ON gpu_offers (provider_id)",
    "ALTER TABLE gpu_offers DROP CONSTRAINT IF EXISTS gpu_offers_provider_id_fkey",
    """DO $$
    BEGIN
        IF NOT EXISTS (
            SELECT 1 FROM pg_constraint
            WHERE conrelid = 'gpu_offers'::regclass
              AND conname = 'gpu_offers_provider_id_9e8e3595_fk_providers_id'
        ) THEN
            ALTER TABLE gpu_offers ADD CONSTRAINT gpu_offers_provider_id_9e8e3595_fk_providers_id
                FOREIGN KEY (provider_id) REFERENCES providers (id) DEFERRABLE INITIALLY DEFERRED;
        END IF;
        IF EXISTS (
            SELECT 1 FROM pg_constraint
            WHERE conrelid = 'gpu_offers'::regclass
              AND conname = 'gpu_offers_provider_id_external_id_key'
        ) THEN
            ALTER TABLE gpu_offers RENAME CONSTRAINT gpu_offers_provider_id_external_id_key
                TO gpu_offers_provider_id_external_id_fb9e210c_uniq;
        END IF;
    END
    $$""",
]

# price_history as v1 left it (when its script ran on past the error) differs from the one 0002
# creates: availability_status NOT NULL (v2 allows NULL), recorded_at nullable, uuid-ossp's
# default and a foreign key checked immediately. Made the same as 0002's; on a table 0002
# created every statement is a no-op.
PRICE_HISTORY_AS_V2 = [
    "UPDATE price_history SET recorded_at = now() WHERE recorded_at IS NULL",
    """ALTER TABLE price_history
        ALTER COLUMN id SET DEFAULT gen_random_uuid(),
        ALTER COLUMN availability_status DROP NOT NULL,
        ALTER COLUMN recorded_at SET DEFAULT now(),
        ALTER COLUMN recorded_at SET NOT NULL""",
    """ALTER TABLE price_history ALTER CONSTRAINT price_history_offer_id_fkey
        DEFERRABLE INITIALLY DEFERRED""",
]


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0005_listed_updated_index"),
    ]

    operations = [
        migrations.RunSQL(DROP_V1_DEFAULTS, reverse_sql=migrations.RunSQL.noop),
        # v1 allowed only active/maintenance/deprecated; ingestion records `error` and
        # `circuit_open` (selectors.ProviderFreshness reads them).
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE providers DROP CONSTRAINT IF EXISTS providers_status_check",
                    reverse_sql=migrations.RunSQL.noop,
                ),
            ],
            state_operations=[
                migrations.RemoveConstraint(model_name="provider", name="providers_status_check"),
            ],
        ),
        # v2's model allows 255 characters (admin-entered names); v1 allowed 100.
        migrations.AlterField(
            model_name="provider",
            name="display_name",
            field=models.CharField(max_length=255),
        ),
        # Optional in v2: a provider row can exist without an API (created in the admin, or a
        # price list); every adapter still records its own.
        migrations.AlterField(
            model_name="provider",
            name="api_base_url",
            field=models.CharField(blank=True, max_length=500, null=True),
        ),
        migrations.AlterField(
            model_name="provider",
            name="status",
            field=models.CharField(default="active", max_length=20),
        ),
        migrations.AlterField(
            model_name="provider",
            name="supported_regions",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(), blank=True, default=list, size=None
            ),
        ),
        migrations.AlterField(
            model_name="provider",
            name="compliance_tags",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(), blank=True, default=list, size=None
            ),
        ),
        migrations.AlterField(
            model_name="provider",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="provider",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        # Not every provider reports CPU, RAM or disk (RunPod's GPU types have no disk size);
        # v2 stores NULL for unknown rather than a made-up number.
        migrations.AlterField(
            model_name="gpuoffer",
            name="cpu_cores",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="ram_gb",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="storage_gb",
            field=models.IntegerField(blank=True, null=True),
        ),
        # Ingestion keeps up to 50 characters of a storage description and 100 of a region
        # (services/normalise.py); with v1's 20 and 50, one longer value would fail the whole
        # sync's upsert.
        migrations.AlterField(
            model_name="gpuoffer",
            name="storage_type",
            field=models.CharField(blank=True, max_length=50, null=True),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="region",
            field=models.CharField(max_length=100),
        ),
        # Ingestion clamps link speeds to 999,999.99 Gbit/s (services/normalise.py); v1's
        # DECIMAL(6,2) overflows at 10,000 and would fail the whole sync's upsert.
        migrations.AlterField(
            model_name="gpuoffer",
            name="network_speed_gbps",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=8, null=True),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="currency",
            field=models.CharField(default="USD", max_length=3),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="availability_status",
            field=models.CharField(
                choices=[
                    ("available", "Available"),
                    ("limited", "Limited"),
                    ("unavailable", "Unavailable"),
                ],
                default="available",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="spot_pricing",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="preemptible",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="compliance_tags",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(), blank=True, default=list, size=None
            ),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="gpuoffer",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.RunSQL(ADD_AVAILABILITY_CHECK_IF_MISSING, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(PRICE_HISTORY_AS_V2, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(INDEXES_AND_KEYS, reverse_sql=migrations.RunSQL.noop),
    ]
