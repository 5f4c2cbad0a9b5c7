"""File endpoints under /api/v1/export/ (included by config/urls.py before the router)."""

from django.urls import path

from exports import files_api, metadata_api

urlpatterns = [
    path("metadata/", metadata_api.MetadataView.as_view(), name="export-metadata"),
    path("odm/", files_api.OdmExportView.as_view(), name="export-odm"),
    path("sdtm/", files_api.SdtmIndexView.as_view(), name="export-sdtm"),
    path("sdtm/define.xml", files_api.DefineXmlView.as_view(), name="export-sdtm-define"),
    path("sdtm/<str:filename>", files_api.SdtmFileView.as_view(), name="export-sdtm-file"),
]
