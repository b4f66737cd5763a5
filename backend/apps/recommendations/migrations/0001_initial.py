# RecommenderModel (from math_core) and UserOfferInteraction (from providers) move here with
# their tables: state only; `recommender_models` (math_core.0001) and `user_offer_interactions`
# (providers.0002) stay as they are. math_core.0003 and providers.0008 drop them from the old
# apps' state; their content types are relabelled so admin permissions follow.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from gpubroker.core.contenttypes import content_type_relabel


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("math_core", "0002_gpubenchmark_to_gpus"),
        ("providers", "0007_adopt_v1_offers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RecommenderModel",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        (
                            "trained_at",
                            models.DateTimeField(default=django.utils.timezone.now),
                        ),
                        ("algorithm", models.CharField(default="implicit_als", max_length=32)),
                        ("parameters", models.JSONField(default=dict)),
                        ("user_count", models.PositiveIntegerField(default=0)),
                        ("item_count", models.PositiveIntegerField(default=0)),
                        ("interaction_count", models.PositiveIntegerField(default=0)),
                        ("artefact", models.BinaryField()),
                    ],
                    options={
                        "db_table": "recommender_models",
                        "ordering": ["-trained_at"],
                    },
                ),
                migrations.CreateModel(
                    name="UserOfferInteraction",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("view", "View"),
                                    ("select", "Select"),
                                    ("book", "Book"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("weight", models.FloatField(default=1.0)),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now),
                        ),
                        (
                            "offer",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="interactions",
                                to="providers.gpuoffer",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="offer_interactions",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "user_offer_interactions",
                        "indexes": [
                            models.Index(
                                fields=["user", "offer"], name="interactions_user_offer_idx"
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(
            content_type_relabel("recommendermodel", old_app="math_core", new_app="recommendations"),
            reverse_code=content_type_relabel(
                "recommendermodel", old_app="recommendations", new_app="math_core"
            ),
        ),
        migrations.RunPython(
            content_type_relabel(
                "userofferinteraction", old_app="providers", new_app="recommendations"
            ),
            reverse_code=content_type_relabel(
                "userofferinteraction", old_app="recommendations", new_app="providers"
            ),
        ),
    ]
