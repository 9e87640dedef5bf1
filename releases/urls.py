from django.urls import path

from . import views

app_name = "releases"
urlpatterns = [
    path("", views.release_list, name="list"),
    path("<int:pk>/", views.release_detail, name="detail"),
]
