from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from config.api_router import router
from trial import views as trial_views

urlpatterns = [
    path("health/", trial_views.health, name="health"),
    path("accounts/login/", trial_views.LockoutLoginView.as_view(), name="login"),
    path("accounts/logout/", trial_views.logout_view, name="logout"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its init script from a URL: no inline script, so it works under the CSP.
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/v1/export/", include("exports.api_urls")),  # ODM / SDTM / define.xml files (before the router)
    path("api/v1/", include(router.urls)),
    path("safety/", include("safety.urls")),
    path("casebook/", include("casebook.urls")),
    path("imaging/", include("imaging.urls")),
    path("lesions/", include("lesions.urls")),
    path("mri/", include("mri.urls")),
    path("pathology/", include("pathology.urls")),
    path("kinetics/", include("kinetics.urls")),
    path("exports/", include("exports.urls")),
    path("queries/", include("queries.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("", include("trial.urls")),
]

handler400 = "trial.errors.bad_request"
handler403 = "trial.errors.permission_denied"
handler404 = "trial.errors.page_not_found"
handler500 = "trial.errors.server_error"
