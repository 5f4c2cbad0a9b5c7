"""Export resource of the tracer PK side: the stored PK parameters of the serum and PET image-derived curves
(kinetics.PkParameter; the same rows SDTM PP is made of)."""

from __future__ import annotations

from exports.resources.base import Col, Resource, register
from kinetics.models import PkParameter

register(
    Resource(
        name="pk-parameters",
        model=PkParameter,
        columns=(
            Col("id"),
            Col("participant", "participant__study_id", help="Study id of the participant."),
            Col("site", "participant__site__code", help="Site code."),
            Col("tracer_visit_code", help="Visit code of the tracer injection the curve follows."),
            Col("series_key", help="serum, an organ code or lesion:<label>."),
            Col("series_label"),
            Col("category", help="serum | image"),
            Col("quantity", help="bq_ml (serum Bq/mL) | suv_mean (SUVmean) | tiac"),
            Col("specimen", help="SERUM or the organ (SDTM PPSPEC)."),
            Col(
                "test_code",
                help="SDTM PPTESTCD (CDISC PK parameter code; HLEFF, HLFAST, TIAC sponsor-defined).",
            ),
            Col("test_name"),
            Col("value", help="Empty when not computable (see not_done_reason)."),
            Col("unit"),
            Col("not_done_reason"),
            Col("fit_model", help="mono | bi, or the TIAC method."),
            Col("n_points", help="Time points of the curve."),
            Col("method"),
            Col("inputs_sha256"),
            Col("version"),
            Col("voided"),
            Col("created_at"),
            Col("updated_at"),
        ),
        description=(
            "PK parameters per participant, tracer injection and curve: half-lives (biological = LAMZHL, "
            "effective, fast phase), AUC to last and to infinity, % extrapolated, r2, and TIAC per source organ."
        ),
    )
)
