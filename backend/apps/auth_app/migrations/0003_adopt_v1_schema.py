# v1's `users` and `user_sessions` (described by 0001) changed to what v2 writes, keeping every row.
#
# The same operations run on three kinds of database, and leave all three with one schema
# (backend/gpubroker/tests/test_v1_adoption.py compares them):
# - a v1 database adopted with `migrate --fake-initial` (0001 faked);
# - a fresh database (0001 created the v1 shape, this migration changes it);
# - a v2 database migrated before this migration existed, whose 0001 already made the v2 shape:
#   there every statement below is a no-op (the SQL is written to be, and each AlterField only
#   widens a type or adds NOT NULL to columns that are already so).

import django.utils.timezone
from django.db import migrations, models

# v1 gave these columns server-side defaults; v2 sets every value itself and a fresh v2 database
# has none, so they go. (Defaults are not data: no row changes.)
DROP_V1_DEFAULTS = [
    """ALTER TABLE users
        ALTER COLUMN id DROP DEFAULT,
        ALTER COLUMN is_active DROP DEFAULT,
        ALTER COLUMN is_verified DROP DEFAULT,
        ALTER COLUMN created_at DROP DEFAULT,
        ALTER COLUMN updated_at DROP DEFAULT""",
    """ALTER TABLE user_sessions
        ALTER COLUMN jti DROP DEFAULT,
        ALTER COLUMN created_at DROP DEFAULT""",
]

# v1's login refused a user whose is_active was not true, NULL included ("Account disabled");
# keep that meaning before the column becomes NOT NULL. A NULL is_verified becomes False ("not
# verified", the AlterField's default) and a NULL timestamp the migration time.
BACKFILL_IS_ACTIVE = "UPDATE users SET is_active = FALSE WHERE is_active IS NULL"

# What Django creates for these fields in a fresh database and v1 never had: the pattern-ops
# index of each unique varchar (Django's `_like` index), the index of each foreign key, and the
# foreign key itself in Django's form (NO ACTION, DEFERRABLE INITIALLY DEFERRED; Django cascades
# deletes itself) instead of v1's ON DELETE CASCADE. Names are Django's, so the statements find
# what an older v2 database already has.
INDEXES_AND_KEYS = [
    "CREATE INDEX IF NOT EXISTS users_email_0ea73cca_like ON users (email varchar_pattern_ops)",
    """CREATE INDEX IF NOT EXISTS user_sessions_jti_13a97532_like
        ON user_sessions (jti varchar_pattern_ops)""",
    "CREATE INDEX IF NOT EXISTS user_sessions_user_id_43ce9642 ON user_sessions (user_id)",
    "ALTER TABLE user_sessions DROP CONSTRAINT IF EXISTS user_sessions_user_id_fkey",
    """DO $$
    BEGIN
        IF NOT EXISTS (
            SELECT 1 FROM pg_constraint
            WHERE conrelid = 'user_sessions'::regclass
              AND conname = 'user_sessions_user_id_43ce9642_fk_users_id'
        ) THEN
            ALTER TABLE user_sessions ADD CONSTRAINT user_sessions_user_id_43ce9642_fk_users_id
                FOREIGN KEY (user_id) REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED;
        END IF;
    END
    $$""",
]


class Migration(migrations.Migration):
    dependencies = [
        ("auth_app", "0002_v2_tenants_roles_audit"),
    ]

    operations = [
        migrations.RunSQL(DROP_V1_DEFAULTS, reverse_sql=migrations.RunSQL.noop),
        # v1's email CHECK rejects addresses Django's EmailValidator accepts (o'brien@…, IDN
        # domains, user@localhost); a registration would fail with an IntegrityError that reads
        # as a duplicate. v2 validates addresses in its schemas.
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_format",
                    reverse_sql=migrations.RunSQL.noop,
                ),
            ],
            state_operations=[
                migrations.RemoveConstraint(model_name="user", name="users_email_format"),
            ],
        ),
        migrations.RunSQL(BACKFILL_IS_ACTIVE, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="user",
            name="is_active",
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name="user",
            name="is_verified",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="user",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="user",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        # v2 stores sha256(jti) of its refresh tokens (64 hex characters), which a UUID column
        # refuses. v1's UUIDs become their text form; they match no v2 token, as before.
        migrations.AlterField(
            model_name="usersession",
            name="jti",
            field=models.CharField(max_length=128, primary_key=True, serialize=False),
        ),
        migrations.AlterField(
            model_name="usersession",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunSQL(INDEXES_AND_KEYS, reverse_sql=migrations.RunSQL.noop),
    ]
