from pathology import api


def register(router) -> None:
    router.register("biopsies", api.BiopsyViewSet, basename="biopsy")
    router.register("ihc-scores", api.IhcScoreViewSet, basename="ihc-score")
