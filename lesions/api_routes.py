from lesions import api


def register(router) -> None:
    router.register("lesions", api.LesionViewSet, basename="lesion")
    router.register("lesion-assessments", api.AssessmentViewSet, basename="lesion-assessment")
    router.register("lesion-measurements", api.MeasurementViewSet, basename="lesion-measurement")
    router.register("mri-parameters", api.MriParameterSetViewSet, basename="mri-parameter")
    router.register("lesion-volumes", api.MaskAnalysisViewSet, basename="lesion-volume")
