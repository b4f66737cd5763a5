# RecommenderModel now belongs to the recommendations app (recommendations.0001); its table is
# untouched. math_core keeps no model: it is the HTTP face of the calculators.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("math_core", "0002_gpubenchmark_to_gpus"),
        ("recommendations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RecommenderModel")],
        ),
    ]
