from queries.api import QueryViewSet


def register(router) -> None:
    router.register("queries", QueryViewSet, basename="query")
