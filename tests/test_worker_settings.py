"""Worker fault settings: late acks, lost-worker rejects, prefetch 1, a short visibility timeout above every
hard time limit, a limit per task kind, and beat's stuck-work jobs scheduled."""

from __future__ import annotations

import importlib

from config.celery import app

KINDS = {
    "imaging.tasks.process_series_upload": "PET SUV processing",
    "lesions.tasks.fit_curve": "MRI curve fit",
    "lesions.tasks.fit_voxelwise": "MRI voxel-wise fit",
    "exports.tasks.run_bulk_export": "bulk export",
    "safety.tasks.send_sae_notification": "SAE e-mail",
}


def test_acks_late_reject_on_lost_worker_and_prefetch_one():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1


def test_every_task_kind_has_soft_and_hard_limits_below_the_visibility_timeout():
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility <= 600
    for name, kind in KINDS.items():
        importlib.import_module(
            name.rsplit(".", 1)[0]
        )  # registers the task, as the worker's autodiscovery does
        task = app.tasks[name]
        assert task.soft_time_limit and task.time_limit, kind
        assert task.soft_time_limit < task.time_limit < visibility, kind


def test_beat_requeues_stuck_uploads_and_exports():
    from django.conf import settings

    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"imaging.tasks.requeue_stuck_uploads", "exports.tasks.requeue_stuck_exports"} <= scheduled
    assert app.conf.broker_transport_options["visibility_timeout"] < settings.WORKER_STUCK_AFTER_SECONDS


def test_the_demos_in_process_broker_names_a_host_so_kombu_does_not_warn(caplog):
    """Without Redis (the demo) tasks run eagerly, yet Celery acquires a producer on the in-memory broker: its
    URL names a host, so `make demo` prints no "No hostname was supplied" warning per task."""
    import logging

    from kombu import Connection

    from config import settings

    with caplog.at_level(logging.WARNING, logger="kombu.connection"):
        Connection(settings.EAGER_BROKER_URL)._info()
        assert not [r for r in caplog.records if "hostname" in r.getMessage()]
        Connection("memory://")._info()  # what it was: the warning this guards against
        assert [r for r in caplog.records if "No hostname was supplied" in r.getMessage()]
