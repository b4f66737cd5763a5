"""The console lists chat sessions newest activity first: an index to read them in that order."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ai_assistant", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="chatsession",
            index=models.Index(models.F("updated_at").desc(), name="ai_sessions_updated_idx"),
        ),
    ]
