"""Site-isolation walk builders for the monitoring pages (see tests/trial/test_site_isolation.py)."""

from __future__ import annotations

from imaging.models import Finding, Modality, Severity
from imaging.services import scans_ensure_for_participant
from monitoring import services
from tests import factories
from trial.models import Role


def _lock(participant, user) -> int:
    """A live freeze of one record nothing else in the walk writes (a fresh PET finding), applied by a data
    manager of the participant's site, so the other builders' writes are not refused."""
    scans_ensure_for_participant(participant)
    scan = participant.scans.filter(modality=Modality.PET).order_by("visit__planned_date").first()
    finding = Finding.objects.create(
        participant=participant, scan=scan, code="TEST", severity=Severity.WARNING, message="isolation lock"
    )
    manager = factories.make_user("isolation_dm", (participant.site, Role.DATA_MANAGER))
    lock = services.lock_apply(
        ctx=factories.ctx_for(manager),
        scope="record",
        kind="freeze",
        resource="scan-findings",
        object_id=finding.pk,
        reason="isolation walk",
    )
    return lock.pk


KWARG_BUILDERS = {
    "lock_pk": _lock,
}

# A monitor verifies source data (page and API) and may freeze records and casebooks through the API;
# releasing a freeze or lock stays a data manager's action.
READ_ROLE_POSTS_ALLOWED = {"monitoring:sdv_verify", "api:sdv", "api:locks"}
