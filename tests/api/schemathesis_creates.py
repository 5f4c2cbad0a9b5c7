"""Valid bodies for every write operation of the API, built from the demo trial, so the schemathesis run also
proves the success responses (201/200/202) against the schema: generated bodies are almost never valid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    username: str
    body: dict[str, Any]
    expected: int
    path_parameters: dict[str, Any] | None = None


def _unused_term(participant: Any) -> Any:
    from safety.models import CtcaeTerm

    used = set(participant.adverse_events.values_list("term_id", flat=True))
    return CtcaeTerm.objects.filter(version="5.0").exclude(pk__in=used).order_by("term").first()


def _ae_body(participant: Any, term: Any, onset: dt.date | str) -> dict[str, Any]:
    return {
        "participant": participant.study_id,
        "meddra_code": term.meddra_code,
        "grade": term.defined_grades[0],
        "onset_date": onset if isinstance(onset, str) else onset.isoformat(),  # a partial date is a string
        "ongoing": True,
        "outcome": "not_recovered",
        "action_anti_pd1": "dose_not_changed",
        "rel_tracer": "unrelated",
        "rel_pet": "unrelated",
        "rel_biopsy": "unrelated",
        "rel_anti_pd1": "possible",
    }


def _adverse_event_writes() -> list[Write]:
    from trial.models import Participant, TracerDose

    dose = (
        TracerDose.objects.filter(participant__site__code="NL01", voided=False)
        .select_related("participant")
        .order_by("administered_at")
        .first()
    )
    participant: Participant = dose.participant
    onset = min(timezone.localdate(), dose.administered_at.date() + dt.timedelta(days=2))
    term = _unused_term(participant)
    existing = participant.adverse_events.filter(voided=False).order_by("id").first()
    writes = [
        Write("POST", "/api/v1/adverse-events/", "coordinator_nl01", _ae_body(participant, term, onset), 201)
    ]
    if existing is not None:
        raised = [g for g in existing.term.defined_grades if g > existing.grade]
        if raised:
            body = {**_ae_body(participant, existing.term, existing.onset_date), "grade": raised[0]}
            body["reason"] = "Worsened"
            writes.append(
                Write(
                    "POST",
                    "/api/v1/adverse-events/{id}/change-grade/",
                    "coordinator_nl01",
                    body,
                    201,
                    {"id": existing.pk},
                )
            )
        writes.append(
            Write(
                "PATCH",
                "/api/v1/adverse-events/{id}/",
                "coordinator_nl01",
                {
                    "description": "Seen at the day-8 visit",
                    "reason": "Source document",
                    "version": existing.version,
                },
                200,
                {"id": existing.pk},
            )
        )
    return writes


def _pathology_writes() -> list[Write]:
    """A CD8 score by an NL01 pathologist on an NL01 biopsy they have not scored yet (the demo has two)."""
    from pathology.models import Biopsy, IhcScore

    for biopsy in Biopsy.objects.filter(participant__site__code="NL01", voided=False).order_by("id"):
        scored_by = set(
            IhcScore.objects.filter(biopsy=biopsy, marker__code="CD8", voided=False).values_list(
                "scorer__username", flat=True
            )
        )
        for username in ("pathologist_nl01", "pathologist2_nl01"):
            if username in scored_by:
                continue
            body = {
                "biopsy": biopsy.pk,
                "marker": "CD8",
                "score_date": timezone.localdate().isoformat(),
                "antibody_clone": "C8/144B",
                "scoring_method": "digital",
                "percent_positive": "14.5",
            }
            return [Write("POST", "/api/v1/ihc-scores/", username, body, 201)]
    raise AssertionError("the demo trial has no NL01 biopsy left to score: the write is not exercised")


def _lesion_writes() -> list[Write]:
    from trial.models import Participant

    participant = Participant.objects.filter(site__code="NL01").order_by("id").first()
    body = {"participant": participant.pk, "label": "ST9", "organ": "Liver", "role": "non_target"}
    return [Write("POST", "/api/v1/lesions/", "radiologist_nl01", body, 201)]


def _export_writes() -> list[Write]:
    return [
        Write("POST", "/api/v1/export/tokens/", "data_manager", {"username": "sponsor", "label": "ETL"}, 201),
    ]


def valid_writes() -> list[Write]:
    """One valid request per write operation that the demo trial's data allows."""
    return [*_adverse_event_writes(), *_pathology_writes(), *_lesion_writes(), *_export_writes()]


def user(username: str) -> Any:
    return get_user_model().objects.get(username=username)
