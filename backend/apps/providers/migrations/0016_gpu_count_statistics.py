"""Statistics on COALESCE(gpu_count, 0), the grouped pages' GPU-count key.

PostgreSQL reads an expression's statistics from an index on it only when the index is not
partial; `offers_group_price_idx` is partial (listed offers), so the planner took the default
0.5 % for `COALESCE(gpu_count, 0) = n` and expected ~5 rows per (model, GPU count) group instead
of hundreds. At 100,000 offers it then read every row of each group through a bitmap and sorted
them, instead of stopping after a page in index order: the `model=…` cost page's statement took
~105 ms instead of ~17-33 ms (docs/benchmarks.md, "Listing"). Expression statistics (PostgreSQL
14+) are collected by ANALYZE and autovacuum, cost nothing when offers are written.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0015_raw_model_index"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE STATISTICS IF NOT EXISTS offers_gpu_count_stats "
                "ON (COALESCE(gpu_count, 0)) FROM gpu_offers"
            ),
            reverse_sql="DROP STATISTICS IF EXISTS offers_gpu_count_stats",
        ),
    ]
