"""A small demo trial built once per test module and rolled back when the module is done.

`load_demo` trimmed for speed: two sites with two participants each, lesions and
biopsies for one participant, one small PET series (processed here, so SUV results exist).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from tests.module_data import rolled_back_after_module


def _first(participants: list[Any]) -> list[Any]:
    return [p for p in participants if p.site.code == "NL01"][:1]


def _first_only(build):
    def build_one(participants, users, rng):
        return build(_first(participants), users, rng)

    return build_one


@contextmanager
def _eager(app: Any) -> Iterator[None]:
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@contextmanager
def demo_trial(django_db_blocker: Any) -> Iterator[None]:
    from django.core.management import call_command

    from config.celery import app
    from imaging import demo as imaging_demo
    from imaging.models import SeriesUpload
    from imaging.services.processing import series_process
    from lesions import demo as lesions_demo
    from trial import demo

    with ExitStack() as stack:
        stack.enter_context(_eager(app))
        stack.enter_context(mock.patch.object(demo, "PARTICIPANTS_PER_SITE", 2))
        stack.enter_context(mock.patch.object(demo, "SITES", [demo.SITES[0], demo.SITES[2]]))
        stack.enter_context(mock.patch.object(imaging_demo, "PET_CODES", ("BL_PET1",)))
        stack.enter_context(
            mock.patch.object(
                imaging_demo, "_candidates", lambda ps, c=imaging_demo._candidates: _first(c(ps))
            )
        )
        stack.enter_context(
            mock.patch.object(lesions_demo, "build_demo", _first_only(lesions_demo.build_demo))
        )
        stack.enter_context(rolled_back_after_module(django_db_blocker))
        with open(os.devnull, "w") as quiet:
            call_command("load_demo", skip=["kinetics"], stdout=quiet)  # no PK series
        for upload_id in SeriesUpload.objects.filter(state="stored").values_list("id", flat=True):
            series_process(upload_id)  # queued on commit, which never comes inside this block
        yield
