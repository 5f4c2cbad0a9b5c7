from safety.api import AdverseEventViewSet


def register(router) -> None:
    router.register("adverse-events", AdverseEventViewSet, basename="adverse-event")
