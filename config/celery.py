"""Celery application: tasks are thin wrappers that take ids and call services."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("cd8pet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_tokens: dict[str, object] = {}


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs) -> None:
    """Send the current request id with the task, so a worker's log lines and audit rows can be followed."""
    from trial.logging import request_id_var

    if headers is not None:
        headers.setdefault("request_id", request_id_var.get())


@task_prerun.connect
def _restore_request_id(task_id=None, task=None, **kwargs) -> None:
    from trial.logging import request_id_var

    rid = getattr(task.request, "request_id", None) if task is not None else None
    if rid and task_id:
        _tokens[task_id] = request_id_var.set(rid)


@task_postrun.connect
def _forget_request_id(task_id=None, **kwargs) -> None:
    from trial.logging import request_id_var

    token = _tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
