"""The casebook's record kinds: model, form fields, page title and list columns, keyed by a URL slug."""

from __future__ import annotations

from dataclasses import dataclass

from casebook import models as m


@dataclass(frozen=True)
class Kind:
    slug: str
    model: type
    title: str
    fields: tuple[str, ...]
    columns: tuple[str, ...]
    add_label: str


KINDS: dict[str, Kind] = {
    k.slug: k
    for k in (
        Kind(
            "medications",
            m.Medication,
            "Prior and concomitant medications",
            (
                "category",
                "name",
                "indication",
                "dose",
                "dose_unit",
                "route",
                "frequency",
                "start_date",
                "end_date",
                "ongoing",
                "is_systemic_steroid",
                "whodrug_code",
                "atc_code",
            ),
            (
                "category",
                "name",
                "indication",
                "dose",
                "dose_unit",
                "route",
                "frequency",
                "start_date",
                "end_date",
                "ongoing",
            ),
            "Add a medication",
        ),
        Kind(
            "medical-history",
            m.MedicalHistory,
            "Medical history",
            ("term", "meddra_code", "start_date", "end_date", "ongoing", "autoimmune"),
            ("term", "start_date", "end_date", "ongoing", "autoimmune"),
            "Add a condition",
        ),
        Kind(
            "cancer-history",
            m.CancerHistory,
            "Cancer history",
            ("histology", "diagnosis_date", "stage", "sites_of_disease", "pdl1_status", "pdl1_score"),
            ("histology", "diagnosis_date", "stage", "sites_of_disease", "pdl1_status", "pdl1_score"),
            "Add cancer history",
        ),
        Kind(
            "prior-therapy",
            m.PriorTherapyLine,
            "Prior therapy lines",
            ("line_number", "regimen", "start_date", "end_date", "best_response"),
            ("line_number", "regimen", "start_date", "end_date", "best_response"),
            "Add a therapy line",
        ),
        Kind(
            "vital-signs",
            m.VitalSigns,
            "Vital signs",
            (
                "visit",
                "tracer_dose",
                "timepoint",
                "measured_at",
                "systolic_mmhg",
                "diastolic_mmhg",
                "pulse_bpm",
                "temperature_c",
                "respiratory_rate",
                "spo2_pct",
            ),
            (
                "measured_at",
                "timepoint",
                "systolic_mmhg",
                "diastolic_mmhg",
                "pulse_bpm",
                "temperature_c",
                "respiratory_rate",
                "spo2_pct",
            ),
            "Record vital signs",
        ),
        Kind(
            "weight",
            m.BodyMeasurement,
            "Weight and height",
            ("visit", "measured_on", "weight_kg", "height_cm"),
            ("measured_on", "visit", "weight_kg", "height_cm"),
            "Record weight",
        ),
        Kind(
            "ecog",
            m.EcogAssessment,
            "ECOG performance status",
            ("visit", "assessed_on", "score"),
            ("assessed_on", "visit", "score"),
            "Record ECOG",
        ),
        Kind(
            "labs",
            m.LabResult,
            "Laboratory results",
            ("visit", "panel", "collected_on", "test_code", "value", "unit", "lln", "uln", "is_baseline"),
            (
                "collected_on",
                "panel",
                "test_code",
                "value",
                "unit",
                "lln",
                "uln",
                "is_baseline",
                "ctcae_grade",
                "ctcae_term",
            ),
            "Record a lab result",
        ),
        Kind(
            "pk-samples",
            m.PkSample,
            "PK blood samples",
            (
                "tracer_dose",
                "nominal_timepoint",
                "sampled_at",
                "counted_at",
                "sample_volume_ml",
                "gross_counts",
                "background_counts",
                "count_time_s",
                "counter_efficiency",
                "calibration_factor",
            ),
            ("nominal_timepoint", "sampled_at", "minutes_after_injection", "activity_bq_per_ml"),
            "Record a PK sample",
        ),
        Kind(
            "ada-samples",
            m.AdaSample,
            "Anti-drug antibody samples",
            ("visit", "collected_on", "sample_id", "result", "titre"),
            ("collected_on", "sample_id", "result", "titre"),
            "Record an ADA sample",
        ),
        Kind(
            "end-of-study",
            m.Disposition,
            "End of study",
            ("status", "end_date", "last_contact_date", "details", "death_date", "death_cause"),
            ("status", "end_date", "last_contact_date", "death_date", "death_cause"),
            "Record end of study",
        ),
    )
}

BY_MODEL = {k.model._meta.model_name: k for k in KINDS.values()}
