"""Site-isolation walk builders for the query pages (see tests/trial/test_site_isolation.py)."""

from __future__ import annotations

from django.utils import timezone

from queries.models import MessageKind, Query, QueryMessage, QueryOrigin, QueryStatus


def _query(participant, user) -> int:
    """An open manual query on the participant's sex, as a monitor would raise it (raised directly here:
    the walk's builder user holds site roles, not a raiser's)."""
    now = timezone.now()
    query = Query.objects.create(
        resource="participants",
        object_id=participant.pk,
        field="sex",
        participant=participant,
        site_id=participant.site_id,
        text="isolation walk",
        status=QueryStatus.OPEN,
        origin=QueryOrigin.MANUAL,
        raised_by=user,
        raised_by_display=user.get_username(),
        raised_at=now,
    )
    QueryMessage.objects.create(
        query=query,
        author=user,
        author_display=user.get_username(),
        at=now,
        kind=MessageKind.RAISED,
        text="isolation walk",
    )
    return query.pk


KWARG_BUILDERS = {
    "query_pk": _query,
    "site_code": lambda participant, user: participant.site.code,
}

# A monitor (a raiser) legitimately closes and reopens queries at their site; answering is the site's job.
# Through the API ("api:<prefix>") a monitor raises queries.
READ_ROLE_POSTS_ALLOWED = {"queries:query_close", "queries:query_reopen", "api:queries"}
