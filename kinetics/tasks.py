"""Celery task (thin): bring a participant's stored PK parameters up to date after their inputs changed."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def refresh_pk_parameters(participant_id: int) -> str:
    from kinetics import services

    return services.pk_parameters_refresh_after_change(participant_id)
