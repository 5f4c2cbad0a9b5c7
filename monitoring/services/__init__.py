"""Writes of monitoring: locks (locks.py), source data verification (sdv.py), casebook sign-off (signoff.py)."""

from monitoring.services.locks import (
    final_export_start,
    lock_apply,
    lock_guard,
    lock_release,
    record_refusal,
    study_locked,
)
from monitoring.services.sdv import sdv_mark, sdv_mark_many, sdv_on_write
from monitoring.services.signoff import casebook_records, casebook_sign, signature_on_write

__all__ = [
    "casebook_records",
    "casebook_sign",
    "final_export_start",
    "lock_apply",
    "lock_guard",
    "lock_release",
    "record_refusal",
    "sdv_mark",
    "sdv_mark_many",
    "sdv_on_write",
    "signature_on_write",
    "study_locked",
]
