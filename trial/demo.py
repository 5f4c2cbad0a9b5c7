"""A realistic demo trial: 3 sites, 24 participants at different stages, visits and doses.

Everything goes through the same services as real entries (audited, source "import"). Idempotent: a second
run finds the sites and participants and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from trial import services
from trial.audit import AuditContext
from trial.models import AuditSource, Membership, Participant, ParticipantStatus, Role, Site, VisitStatus

DEMO_PASSWORD = "cd8pet-demo-2026"
SITES = [
    ("NL01", "Amsterdam UMC", "NL", "Europe/Amsterdam"),
    ("NL02", "UMC Groningen", "NL", "Europe/Amsterdam"),
    ("BE01", "UZ Leuven", "BE", "Europe/Brussels"),
]
SITE_ROLES = [Role.SITE_COORDINATOR, Role.INVESTIGATOR, Role.RADIOLOGIST, Role.PATHOLOGIST]
TUMOURS = [
    "Melanoma",
    "Non-small cell lung cancer",
    "Renal cell carcinoma",
    "Head and neck squamous cell carcinoma",
    "Urothelial carcinoma",
    "Colorectal cancer (MSI-high)",
]
PARTICIPANTS_PER_SITE = 8
FIRST_NAMES = {"coordinator": "Carla", "investigator": "Ivan", "radiologist": "Rita", "pathologist": "Paula"}


def make_users() -> dict[str, Any]:
    user_model = get_user_model()
    users: dict[str, Any] = {}

    def user(username: str, first: str, last: str) -> Any:
        u, created = user_model.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.example"},
        )
        if created:
            u.set_password(DEMO_PASSWORD)
            u.save()
        return u

    sites = {}
    for code, name, country, tz in SITES:
        sites[code], created = Site.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "country": country,
                "time_zone": tz,
                "investigator_email": f"pi.{code.lower()}@demo.example",
            },
        )
        if created:  # audited like a site created in the admin (it then reaches the sites change feed)
            services.membership_audit(
                ctx=AuditContext.system(source=AuditSource.IMPORT),
                membership=sites[code],
                action="site created",
                changes={"code": [None, code]},
            )
    for code, site in sites.items():
        for role in SITE_ROLES:
            short = role.value.replace("site_", "")
            u = user(f"{short}_{code.lower()}", FIRST_NAMES[short], f"{code} demo")
            Membership.objects.get_or_create(user=u, site=site, role=role)
            users[f"{short}_{code}"] = u
    for role in (Role.DATA_MANAGER, Role.SPONSOR):
        u = user(role.value, role.label.split()[0], "Demo")
        Membership.objects.get_or_create(user=u, site=sites["NL01"], role=role)
        users[role.value] = u
    grant_protocol_admin(users["data_manager"])
    monitor = user("monitor", "Mona", "Monitor")
    for site in sites.values():
        Membership.objects.get_or_create(user=monitor, site=site, role=Role.MONITOR)
    users["monitor"] = monitor
    admin = user("admin", "Ada", "Admin")
    if not admin.is_superuser:
        admin.is_superuser = admin.is_staff = True
        admin.save()
    users["admin"] = admin
    return users


def grant_protocol_admin(user: Any) -> None:
    """Data managers amend eligibility criteria and the visit calendar (with a protocol version) in the admin."""
    from django.contrib.auth.models import Permission

    user.is_staff = True
    user.save(update_fields=["is_staff"])
    models = ["protocolversion", "eligibilitycriterion", "visitdefinition", "site", "membership"]
    perms = Permission.objects.filter(content_type__app_label="trial", content_type__model__in=models)
    user.user_permissions.add(*perms.exclude(codename__startswith="delete_"))


def _ctx(user: Any) -> AuditContext:
    return AuditContext(user=user, source=AuditSource.IMPORT, request_id="demo-load")


def _answers() -> dict[int, bool]:
    return {c.pk: c.kind == "inclusion" for c in services.current_protocol().criteria.all()}


def enrol_participant(site: Site, coordinator: Any, index: int, rng: random.Random) -> Participant:
    today = timezone.localdate()
    # Spread enrolment over the last ~14 months so every stage of the trial is represented.
    enrolment = today - dt.timedelta(
        days=int(420 * (PARTICIPANTS_PER_SITE - 1 - index) / (PARTICIPANTS_PER_SITE - 1)) + rng.randint(3, 12)
    )
    sex = rng.choice(["M", "F"])
    height = Decimal(str(rng.randint(158, 192) if sex == "M" else rng.randint(150, 180)))
    weight = Decimal(str(round(rng.uniform(52, 98), 1)))
    return services.participant_enrol(
        ctx=_ctx(coordinator),
        site=site,
        year_of_birth=rng.randint(1945, 1990),
        sex=sex,
        height_cm=height,
        weight_kg=weight,
        tumour_type=rng.choice(TUMOURS),
        planned_anti_pd1=rng.choice(["nivolumab", "cetrelimab"]),
        answers=_answers(),
        consent_date=enrolment - dt.timedelta(days=rng.randint(1, 10)),
        consent_version="ICF v1.0",
        enrolment_date=enrolment,
        treatment_start_date=enrolment + dt.timedelta(days=21),
    )


def progress_participant(
    participant: Participant, coordinator: Any, rng: random.Random, withdraw: bool
) -> None:
    """Record what would have happened by today: visits, doses and status changes."""
    ctx = _ctx(coordinator)
    today = timezone.localdate()
    day1 = participant.visits.get(code="C1D1").planned_date
    withdrawal = day1 + dt.timedelta(days=rng.randint(70, 120)) if withdraw else None
    for visit in participant.visits.order_by("planned_date"):
        if visit.code == "SAFETY_FU":
            continue
        visit.refresh_from_db()  # an earlier injection may have re-planned its PET time points
        if visit.planned_date >= today or (withdrawal and visit.planned_date > withdrawal):
            break
        if rng.random() < 0.04 and visit.kind in {"ct", "mri"}:
            services.visit_record(
                ctx=ctx,
                visit=visit,
                status=VisitStatus.MISSED,
                actual_date=None,
                reason="Participant unable to attend",
            )
            continue
        actual = visit.planned_date + dt.timedelta(
            days=rng.randint(-min(visit.window_before, 1), min(visit.window_after, 1))
        )
        reason = ""
        if visit.kind == "ct" and rng.random() < 0.15:
            actual = visit.window_end + dt.timedelta(days=2)
            reason = "Scanner maintenance; rescheduled"
        actual = min(actual, today - dt.timedelta(days=1))
        services.visit_record(
            ctx=ctx, visit=visit, status=VisitStatus.DONE, actual_date=actual, out_of_window_reason=reason
        )
        if visit.kind == "tracer":
            tz = dt.timezone(dt.timedelta(hours=1))
            services.tracer_dose_record(
                ctx=ctx,
                participant=participant,
                visit=visit,
                administered_at=dt.datetime.combine(
                    actual, dt.time(rng.randint(8, 11), rng.choice([0, 15, 30, 45])), tzinfo=tz
                ),
                activity_before_mbq=Decimal(str(round(rng.uniform(36.5, 38.5), 2))),
                residual_mbq=Decimal(str(round(rng.uniform(0.3, 1.2), 2))),
                mass_dose_mg=Decimal("10.000"),
                batch=f"ZR{actual:%y%m}-{rng.randint(10, 99)}",
            )
    _anti_pd1_doses(participant, ctx, day1, min(today, withdrawal or today), rng)
    _statuses(participant, ctx, day1, today, withdrawal)


def _anti_pd1_doses(
    participant: Participant, ctx: AuditContext, day1: dt.date, until: dt.date, rng: random.Random
) -> None:
    interval = 14 if participant.planned_anti_pd1 == "nivolumab" else 21
    dose = Decimal("240") if participant.planned_anti_pd1 == "nivolumab" else Decimal("240")
    eot = participant.visits.get(code="EOT").planned_date
    day = day1
    while day < min(until, eot):
        when = dt.datetime.combine(day, dt.time(13, rng.choice([0, 30])), tzinfo=dt.UTC)
        services.anti_pd1_dose_record(
            ctx=ctx,
            participant=participant,
            drug=participant.planned_anti_pd1,
            dose_mg=dose,
            administered_at=when,
        )
        day += dt.timedelta(days=interval)


def _statuses(
    participant: Participant, ctx: AuditContext, day1: dt.date, today: dt.date, withdrawal: dt.date | None
) -> None:
    def move(status: str, date: dt.date, reason: str) -> None:
        services.participant_change_status(
            ctx=ctx, participant=participant, to_status=status, date=date, reason=reason
        )

    if day1 >= today:
        return
    move(ParticipantStatus.ON_TREATMENT, day1, "First anti-PD-1 dose given")
    if withdrawal and withdrawal < today:
        move(ParticipantStatus.WITHDRAWN, withdrawal, "Withdrew consent for further study procedures")
        return
    eot = participant.visits.get(code="EOT")
    if eot.actual_date and eot.actual_date < today:
        move(ParticipantStatus.FOLLOW_UP, eot.actual_date, "Treatment discontinuation visit done")
        follow_up = participant.visits.get(code="SAFETY_FU")
        if follow_up.planned_date < today:
            services.visit_record(
                ctx=ctx, visit=follow_up, status=VisitStatus.DONE, actual_date=follow_up.planned_date
            )
            move(ParticipantStatus.COMPLETED, follow_up.planned_date, "Safety follow-up completed")


def build_trial(rng: random.Random) -> tuple[list[Participant], dict[str, Any]]:
    users = make_users()
    for code, *_ in SITES:
        site = Site.objects.get(code=code)
        coordinator = users[f"coordinator_{code}"]
        existing = Participant.objects.filter(site=site).count()
        for index in range(existing, PARTICIPANTS_PER_SITE):
            with transaction.atomic():
                participant = enrol_participant(site, coordinator, index, rng)
                progress_participant(participant, coordinator, rng, withdraw=(index == 2 and code == "NL02"))
    return list(Participant.objects.filter(voided=False).order_by("study_id")), users
