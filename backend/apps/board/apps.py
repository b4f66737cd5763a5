"""Django app config of the market board."""

from django.apps import AppConfig


class BoardConfig(AppConfig):
    """The `board` app: the live market board at `/` (top layer, reads every app below it)."""

    name = "apps.board"
    label = "board"
