from __future__ import annotations

import pytest


@pytest.fixture
def tmp_media(settings, tmp_path):
    """Stored files and upload temp dirs under tmp_path."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UPLOAD_TMP_DIR = tmp_path / "upload_tmp"
    settings.MEDIA_ROOT.mkdir()
    settings.UPLOAD_TMP_DIR.mkdir()
    return settings
