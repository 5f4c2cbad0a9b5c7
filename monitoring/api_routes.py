from monitoring.api import LockViewSet, SdvViewSet


def register(router) -> None:
    router.register("locks", LockViewSet, basename="lock")
    router.register("sdv", SdvViewSet, basename="sdv")
