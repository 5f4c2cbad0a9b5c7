"""Site-isolation walk registrations for the exports pages (job and token ids are not participant-owned)."""

from __future__ import annotations

from exports import services
from exports.models import ExportJob
from tests import factories
from trial.models import Role


def _job(participant, user) -> dict:
    return {"job_id": ExportJob.objects.create(requested_by=user).pk}


def _token(participant, user) -> dict:
    manager = factories.make_user("isolation_dm", (participant.site, Role.DATA_MANAGER))
    token, _key = services.token_issue(ctx=factories.ctx_for(manager), username=user.username, label="walk")
    return {"token_id": token.pk}


PATTERN_BUILDERS = {
    "exports_job_status": _job,
    "exports_download": _job,
    "exports_token_revoke": _token,
}

# The sponsor starts bulk exports (exports.api: data managers and the sponsor).
READ_ROLE_POSTS_ALLOWED = {"api:export/bulk"}
