from django.urls import include, path


def boom(request):
    raise RuntimeError("secret internal detail 42")


urlpatterns = [path("boom/", boom), path("", include("config.urls"))]
handler500 = "trial.errors.server_error"
