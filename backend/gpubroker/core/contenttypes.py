"""Migration helper: keep a model's content type (and its permissions) when it changes app.

A model moved between apps with `SeparateDatabaseAndState` keeps its table; without this its
`django_content_type` row would stay under the old app label, so admin permissions granted on
it would point at a model that no longer exists and a new, permission-less row would appear.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MigrationFunction = Callable[[Any, Any], None]


def content_type_relabel(model: str, *, old_app: str, new_app: str) -> MigrationFunction:
    """A `RunPython` function moving `model`'s content type from `old_app` to `new_app`.

    `model` is the lower-case model name. Does nothing when there is no row under `old_app`
    (a fresh database: content types are created after migrating) or one already exists under
    `new_app`. Use it with the same function with the labels swapped as the reverse.
    """

    def relabel(apps: Any, schema_editor: Any) -> None:
        content_type = apps.get_model("contenttypes", "ContentType")
        rows = content_type.objects.using(schema_editor.connection.alias)
        if rows.filter(app_label=new_app, model=model).exists():
            return
        rows.filter(app_label=old_app, model=model).update(app_label=new_app)

    return relabel
