"""Builders of pathology URL kwargs for the site-isolation walk (tests/trial/test_site_isolation.py)."""

from __future__ import annotations

from tests.pathology.builders import make_biopsy, make_score

KWARG_BUILDERS = {
    "biopsy_pk": lambda participant, user: make_biopsy(user, participant).pk,
    "score_pk": lambda participant, user: make_score(user, make_biopsy(user, participant)).pk,
}

READ_ROLE_POSTS_ALLOWED: set[str] = set()
