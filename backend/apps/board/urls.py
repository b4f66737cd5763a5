"""Routes of the market board: the page at `/`, one offer's page, and the fragments."""

from django.urls import path

from apps.board import views

urlpatterns = [
    path("", views.board, name="board"),
    path("offers/<uuid:offer_id>", views.offer_page, name="board-offer"),
    path("board/table", views.board_table_fragment, name="board-table"),
    path("board/offers/<uuid:offer_id>", views.offer_drawer, name="board-offer-drawer"),
    path("board/offers/<uuid:offer_id>/row", views.offer_row, name="board-offer-row"),
]
