"""Routes for /ledger/; included at the site root."""

from django.urls import path

from migrations_log import views

app_name = "migrations_log"

urlpatterns = [
    path("ledger/", views.record_list, name="record-list"),
    path("ledger/record/", views.record_create, name="record-create"),
    path("ledger/accuracy", views.accuracy, name="accuracy"),
    path("ledger/contradictions", views.contradictions, name="contradictions"),
    path("ledger/reevaluation", views.reevaluation, name="reevaluation"),
    path("ledger/<int:pk>/", views.record_detail, name="record-detail"),
]
