"""Per-provider ingestion cadence: an empty `sync_interval_seconds` means "the settings' cadence".

Until now every provider row was registered with `sync_interval_seconds = 300` (the one loop's
interval, written by `provider_ensure`), which would now override the per-provider settings
(`PROVIDER_SYNC_INTERVALS`). Rows still holding exactly that automatic value are emptied; any
other value was an operator's choice in the console and is kept.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0010_offer_facts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="provider",
            name="sync_interval_seconds",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Seconds between syncs; leave empty for the configured cadence"
                " (PROVIDER_SYNC_INTERVALS: marketplaces 2 min, neoclouds 15 min, price lists"
                " daily).",
                null=True,
            ),
        ),
        migrations.RunSQL(
            "UPDATE providers SET sync_interval_seconds = NULL WHERE sync_interval_seconds = 300",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
