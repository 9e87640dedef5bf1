from __future__ import annotations

from django.urls import path

from . import views

app_name = "releases"
urlpatterns = [
    path("", views.release_list, name="list"),
    path("new/", views.release_create, name="create"),
    path("readiness/", views.board, name="readiness"),
    path("freezes/", views.freeze_list, name="freezes"),
    path("freezes/<int:pk>/delete/", views.freeze_delete, name="freeze-delete"),
    path("<int:pk>/", views.release_detail, name="detail"),
    path("<int:pk>/edit/", views.release_edit, name="edit"),
    path("<int:pk>/delete/", views.release_delete, name="delete"),
    path("<int:pk>/transition/", views.release_transition, name="transition"),
    path("<int:pk>/milestones/", views.milestone_add, name="milestone-add"),
    path(
        "<int:pk>/milestones/<int:milestone_pk>/done/",
        views.milestone_toggle,
        name="milestone-toggle",
    ),
    path(
        "<int:pk>/milestones/<int:milestone_pk>/delete/",
        views.milestone_delete,
        name="milestone-delete",
    ),
    path("<int:pk>/scope/", views.scope_item_add, name="scope-add"),
    path("<int:pk>/scope/<int:item_pk>/delete/", views.scope_item_delete, name="scope-delete"),
    path("<int:pk>/dependencies/", views.dependency_add, name="dependency-add"),
    path(
        "<int:pk>/dependencies/<int:dependency_pk>/delete/",
        views.dependency_delete,
        name="dependency-delete",
    ),
]
