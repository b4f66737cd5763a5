# UserOfferInteraction now belongs to the recommendations app (recommendations.0001); its table
# `user_offer_interactions` is untouched.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0007_adopt_v1_offers"),
        ("recommendations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="UserOfferInteraction")],
        ),
    ]
