"""Export resources of the trial frame: sites, participants, eligibility, consent, visits, doses."""

from __future__ import annotations

from django.db.models import F
from rest_framework import serializers

from exports.resources.base import Col, Nested, Resource, register
from trial.models import (
    AntiPD1Dose,
    Consent,
    EligibilityAnswer,
    Participant,
    ParticipantStatusChange,
    Site,
    TracerDose,
    Visit,
)

P = Col("participant", "participant__study_id", help="Study id of the participant.")
SITE = Col("site", "participant__site__code", help="Site code.")
COMMON = (Col("voided"), Col("created_at"), Col("updated_at"))

SITES = register(
    Resource(
        name="sites",
        model=Site,
        site_field="",
        participant_field=None,
        columns=(Col("id"), Col("code"), Col("name"), Col("country"), Col("time_zone")),
        description="Trial sites visible to the caller.",
    )
)

STATUS_COLUMNS = (
    Col("id"),
    Col("from_status"),
    Col("to_status"),
    Col("date"),
    Col("reason"),
    Col("changed_at"),
)

PARTICIPANTS = register(
    Resource(
        name="participants",
        model=Participant,
        site_field="site",
        participant_field="study_id",
        columns=(
            Col("id"),
            Col("study_id"),
            Col("site", "site__code", help="Site code."),
            Col("year_of_birth"),
            Col("sex"),
            Col("height_cm"),
            Col("weight_kg"),
            Col("tumour_type"),
            Col("planned_anti_pd1"),
            Col("status"),
            Col("status_date"),
            *COMMON,
        ),
        date_fields=("status_date",),
        nested=(
            Nested(
                "status_history", ParticipantStatusChange, "participant", STATUS_COLUMNS, ("changed_at", "id")
            ),
        ),
        description="Participants with their status history.",
    )
)

STATUS_CHANGES = register(
    Resource(
        name="status-changes",
        model=ParticipantStatusChange,
        columns=(Col("id"), P, SITE, *STATUS_COLUMNS[1:]),
        date_fields=("date",),
        description="Participant status history, one row per transition (flat form for CSV).",
    )
)

ELIGIBILITY = register(
    Resource(
        name="eligibility-answers",
        model=EligibilityAnswer,
        columns=(
            Col("id"),
            P,
            SITE,
            Col("criterion_code", "criterion__code"),
            Col("criterion_kind", "criterion__kind"),
            Col("protocol_version", "criterion__protocol_version__version"),
            Col("answer"),
            *COMMON,
        ),
        description="Eligibility answers per criterion.",
    )
)

CONSENTS = register(
    Resource(
        name="consents",
        model=Consent,
        columns=(Col("id"), P, SITE, Col("consent_date"), Col("form_version"), *COMMON),
        date_fields=("consent_date",),
        description="Informed consents.",
    )
)

VISITS = register(
    Resource(
        name="visits",
        model=Visit,
        columns=(
            Col("id"),
            P,
            SITE,
            Col("code"),
            Col("name"),
            Col("kind"),
            Col("planned_date"),
            Col("window_before"),
            Col("window_after"),
            Col("actual_date"),
            Col("status"),
            Col("out_of_window"),
            Col("out_of_window_reason"),
            Col("is_study_procedure"),
            *COMMON,
        ),
        date_fields=("planned_date", "actual_date"),
        description="Scheduled and recorded visits.",
    )
)

TRACER_DOSES = register(
    Resource(
        name="tracer-doses",
        model=TracerDose,
        columns=(
            Col("id"),
            P,
            SITE,
            Col("visit", "visit_id"),
            Col("visit_code", "visit__code"),
            Col("administered_at"),
            Col("activity_before_mbq"),
            Col("residual_mbq"),
            Col(
                "net_injected_mbq",
                expr=F("activity_before_mbq") - F("residual_mbq"),
                field=serializers.DecimalField(max_digits=8, decimal_places=2),
                help="Activity before minus residual.",
            ),
            Col("activity_measured_at"),
            Col("mass_dose_mg"),
            Col("batch"),
            *COMMON,
        ),
        date_fields=("administered_at",),
        description="89Zr-Df-crefmirlimab administrations (MBq and mass dose).",
    )
)

ANTI_PD1_DOSES = register(
    Resource(
        name="anti-pd1-doses",
        model=AntiPD1Dose,
        columns=(
            Col("id"),
            P,
            SITE,
            Col("visit", "visit_id"),
            Col("drug"),
            Col("dose_mg"),
            Col("administered_at"),
            *COMMON,
        ),
        date_fields=("administered_at",),
        description="Anti-PD-1 administrations.",
    )
)
