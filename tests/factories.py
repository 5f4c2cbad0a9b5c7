"""Plain test-data builders shared by every app's tests (real database, no mocks)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from trial import services
from trial.audit import AuditContext
from trial.models import AuditSource, Membership, Participant, Site, Visit

PASSWORD = "correct-horse-battery-9"


def make_site(
    code: str = "NL01", name: str = "Amsterdam UMC", country: str = "NL", time_zone: str = "Europe/Amsterdam"
) -> Site:
    site, created = Site.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "country": country,
            "time_zone": time_zone,
            "investigator_email": f"pi.{code.lower()}@example.org",
        },
    )
    if created:  # audited like a site created in the admin (it then reaches the sites change feed)
        services.membership_audit(
            ctx=AuditContext.system(), membership=site, action="site created", changes={"code": [None, code]}
        )
    return site


def make_user(username: str, *roles: tuple[Site, str], first_name: str = "", last_name: str = "") -> Any:
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        user = user_model.objects.create_user(
            username=username,
            password=PASSWORD,
            email=f"{username}@example.org",
            first_name=first_name or username.capitalize(),
            last_name=last_name or "Tester",
        )
    for site, role in roles:
        Membership.objects.get_or_create(user=user, site=site, role=role)
    return user


def ctx_for(user: Any, source: str = AuditSource.BROWSER) -> AuditContext:
    return AuditContext(user=user, source=source, ip_address="127.0.0.1")


def all_yes_answers() -> dict[int, bool]:
    pv = services.current_protocol()
    return {c.pk: c.kind == "inclusion" for c in pv.criteria.all()}


def enrol(
    user: Any,
    site: Site,
    *,
    treatment_start: dt.date | None = None,
    drug: str = "nivolumab",
    tumour_type: str = "Melanoma",
    weight_kg: str = "72.5",
    sex: str = "F",
    consent_date: dt.date | None = None,
    enrolment_date: dt.date | None = None,
) -> Participant:
    today = timezone.localdate()
    enrolment_date = enrolment_date or today - dt.timedelta(days=30)
    return services.participant_enrol(
        ctx=ctx_for(user),
        site=site,
        year_of_birth=1961,
        sex=sex,
        height_cm=Decimal("171.0"),
        weight_kg=Decimal(weight_kg),
        tumour_type=tumour_type,
        planned_anti_pd1=drug,
        answers=all_yes_answers(),
        consent_date=consent_date or enrolment_date - dt.timedelta(days=2),
        consent_version="ICF v1.0",
        enrolment_date=enrolment_date,
        treatment_start_date=treatment_start or enrolment_date + dt.timedelta(days=21),
    )


def visit(participant: Participant, code: str) -> Visit:
    return participant.visits.get(code=code)


def record_tracer_dose(
    user: Any,
    participant: Participant,
    *,
    code: str = "BL_TRACER",
    when: dt.datetime | None = None,
    mbq: str = "37.0",
) -> Any:
    v = visit(participant, code)
    when = when or dt.datetime.combine(v.planned_date, dt.time(9, 30), tzinfo=dt.UTC)
    return services.tracer_dose_record(
        ctx=ctx_for(user),
        participant=participant,
        visit=v,
        administered_at=when,
        activity_before_mbq=Decimal(mbq),
        residual_mbq=Decimal("0.5"),
        mass_dose_mg=Decimal("10.0"),
        batch="ZR-2026-001",
    )


def bare_series_upload(participant: Participant, scan: Any) -> Any:
    """Test data only: the row a PET upload would leave, without files (for locks and refusals)."""
    from imaging.models import SeriesUpload

    return SeriesUpload.objects.create(
        participant=participant,
        scan=scan,
        storage_dir="pet/none",
        instance_count=0,
        total_bytes=0,
        series_instance_uid="1.2.3",
        study_instance_uid="1.2",
        frame_of_reference_uid="1.2.4",
        source_fingerprint="0" * 64,
        geometry={},
        suv_before_deid={},
        suv_after_deid={},
        suv_parameters={},
    )
