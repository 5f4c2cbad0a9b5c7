"""Export resources of the casebook: medications, history, vital signs, weight, ECOG, labs (with the CTCAE grade),
PK and ADA samples, end of study, and the screening log (no direct identifiers)."""

from __future__ import annotations

from django.db import models

from exports.resources.base import Col, Resource, register

try:
    from casebook import models as cb
except ImportError:  # the casebook app has not landed its models
    cb = None

SKIP = {"id", "participant", "voided", "voided_at", "void_reason", "version", "created_at", "updated_at"}


def _columns(model: type[models.Model]) -> tuple[Col, ...]:
    cols = [Col("id"), Col("participant", "participant__study_id", help="Study id of the participant.")]
    cols.append(Col("site", "participant__site__code", help="Site code."))
    for f in model._meta.concrete_fields:
        if f.name in SKIP:
            continue
        if f.is_relation and f.name == "visit":
            cols.append(Col("visit", "visit__code", help="Visit code of the protocol calendar."))
        elif f.is_relation:
            cols.append(Col(f.name, f.attname))
        else:
            cols.append(Col(f.name, help=str(f.help_text or "")))
    cols += [Col("version"), Col("voided"), Col("created_at"), Col("updated_at")]
    return tuple(cols)


if cb is not None:
    RESOURCES = [
        ("medications", cb.Medication, "Prior and concomitant medications (WHODrug / ATC codes when given)."),
        ("medical-history", cb.MedicalHistory, "Medical history entries."),
        (
            "cancer-history",
            cb.CancerHistory,
            "Cancer history: histology, stage, sites of disease, PD-L1 status.",
        ),
        ("prior-therapy-lines", cb.PriorTherapyLine, "Prior anticancer therapy lines with best response."),
        ("vital-signs", cb.VitalSigns, "Vital signs, including before and after each tracer infusion."),
        ("body-measurements", cb.BodyMeasurement, "Weight and height per visit."),
        ("ecog-assessments", cb.EcogAssessment, "ECOG performance status."),
        ("lab-results", cb.LabResult, "Laboratory results with reference ranges and the CTCAE v5.0 grade."),
        (
            "pk-samples",
            cb.PkSample,
            "Tracer PK serum samples: counts and Bq/mL decay-corrected to injection.",
        ),
        ("ada-samples", cb.AdaSample, "Anti-drug antibody samples."),
        ("dispositions", cb.Disposition, "End of study / disposition, with death date and cause."),
    ]
    for name, model, description in RESOURCES:
        register(Resource(name=name, model=model, columns=_columns(model), description=description))
    register(
        Resource(
            name="screening-log",
            model=cb.ScreeningLogEntry,
            site_field="site",
            participant_field=None,
            columns=(
                Col("id"),
                Col("site", "site__code", help="Site code."),
                Col("screened_on"),
                Col("age_band"),
                Col("failed_criteria", help="Codes of the eligibility criteria not met."),
                Col("other_reason"),
                Col("version"),
                Col("voided"),
                Col("created_at"),
                Col("updated_at"),
            ),
            description="Screen failures without direct identifiers (site, date, age band, criteria not met).",
        )
    )
