"""Environment pages, mounted at /environments/ (namespace ``environments``)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "environments"
urlpatterns = [
    path("", views.timeline_page, name="timeline"),
    path("book/", views.book, name="book"),
    path("bookings/", views.my_bookings, name="my-bookings"),
    path("bookings/<int:pk>/extend/", views.booking_extend, name="booking-extend"),
    path("bookings/<int:pk>/release/", views.booking_release, name="booking-release"),
    path("bookings/<int:pk>/cancel/", views.booking_cancel, name="booking-cancel"),
    path("waitlist/", views.waitlist_join, name="waitlist-join"),
    path("waitlist/<int:pk>/withdraw/", views.waitlist_withdraw, name="waitlist-withdraw"),
    path("<slug:slug>/", views.environment_detail, name="detail"),
    path("<slug:slug>/deployments/", views.environment_deployments, name="deployments"),
    path("<slug:slug>/rules/", views.rules_edit, name="rules"),
    path("<slug:slug>/maintenance/", views.maintenance_add, name="maintenance-add"),
    path(
        "<slug:slug>/maintenance/<int:pk>/delete/",
        views.maintenance_delete,
        name="maintenance-delete",
    ),
]
