import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded and derived files go to a per-test directory, never into the repository."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
