"""Demo PET data: generated 89Zr series for a few participants at both time points, ingested through the
same upload pipeline (validation, cross-checks, de-identification, worker), with organ and lesion VOIs.

Series are generated at demo time (quant.pet.phantom, and the CT of the first baseline PET/CT with
quant.pet.phantom_ct), never committed. Idempotent: a scan that already
has an upload is skipped.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from pathlib import Path
from typing import Any

import pydicom
from django.db import transaction

from imaging import services
from imaging.models import Modality, Scan
from imaging.upload import temp_upload_dir
from quant.pet.phantom import SCAN_START, Lesion, PhantomSpec, write_phantom
from quant.pet.phantom_ct import write_ct_phantom
from quant.pet.suv import combine, parse_dt
from trial.audit import AuditContext
from trial.models import AuditSource, TracerDose

SHAPE = (40, 64, 64)  # z, y, x; 4 mm voxels
PET_CODES = ("BL_PET1", "BL_PET2", "OT_PET1", "OT_PET2")
WITH_CT = ("BL_PET1",)  # uploaded with the CT of the PET/CT (quant.pet.phantom_ct)
CT_SPACING = (2.0, 2.0, 3.0)  # x, y, z mm: finer than the PET, another slice spacing
DATE_TIME_PAIRS = (
    ("StudyDate", "StudyTime"),
    ("SeriesDate", "SeriesTime"),
    ("AcquisitionDate", "AcquisitionTime"),
    ("ContentDate", "ContentTime"),
)
# Organ spheres (centre mm LPS, radius mm) and tumour lesions on the 64 x 64 x 40 grid.
ORGANS = {
    "liver": ((-63.0, 0.0, -210.0), 22.0),
    "spleen": ((62.0, 24.0, -200.0), 14.0),
    "blood_pool": ((6.0, 50.0, -222.0), 10.0),
    "muscle": ((-80.0, -40.0, -280.0), 10.0),
}
LESIONS = {
    "T1": ((30.0, -10.0, -240.0), 12.0),
    "T2": ((-20.0, 30.0, -262.0), 9.0),
    "T3": ((-10.0, -50.0, -180.0), 7.0),
}


def _uptake(
    organ: str, hours: float, on_treatment: bool, rng: random.Random, tumour_factors: tuple[float, float]
) -> float:
    """Plausible 89Zr-anti-CD8 SUVs: blood clears, spleen/lymphoid and tumour uptake rise, more on treatment."""
    late = hours > 96
    base = {
        "liver": 4.2 if late else 4.8,
        "spleen": 7.5 if late else 6.0,
        "blood_pool": 2.6 if late else 5.5,
        "muscle": 0.4,
        "T1": 5.0 if late else 3.6,
        "T2": 3.2 if late else 2.6,
        "T3": 7.0 if late else 4.5,
    }[organ]
    if organ.startswith("T"):
        baseline_factor, treatment_factor = tumour_factors
        base *= baseline_factor * (treatment_factor if on_treatment else 1.0)
    return round(base * rng.uniform(0.93, 1.07), 2)


def _tumour_factors(participant_pk: int) -> tuple[float, float]:
    """Per-participant tumour uptake at baseline and its change on treatment, so the cohort varies."""
    own = random.Random(participant_pk)
    return own.uniform(0.45, 2.0), own.uniform(0.6, 2.3)


def _spec(
    hours: float,
    on_treatment: bool,
    weight: float,
    dose_mbq: float,
    rng: random.Random,
    tumour_factors: tuple[float, float] = (1.0, 1.6),
) -> PhantomSpec:
    def region(name: str, where: dict) -> Lesion:
        centre, radius = where[name]
        return Lesion(name, centre, radius, _uptake(name, hours, on_treatment, rng, tumour_factors))

    return PhantomSpec(
        shape=SHAPE,
        weight_kg=weight,
        dose_bq=dose_mbq * 1e6,
        hours_post_injection=hours,
        background_suv=0.6,
        liver=region("liver", ORGANS),
        blood=region("blood_pool", ORGANS),
        lesions=[region("spleen", ORGANS), region("muscle", ORGANS), *(region(n, LESIONS) for n in LESIONS)],
        series_description=f"PET WB 89Zr-Df-crefmirlimab {hours:.0f}h",
    )


def _shift_times(files: list[str], delta: dt.timedelta) -> None:
    """Move every date/time the SUV needs by `delta` (the phantom scans on a fixed date)."""
    for path in files:
        ds = pydicom.dcmread(path)
        for date_key, time_key in DATE_TIME_PAIRS:
            if date_key in ds and time_key in ds and ds.get(date_key) and ds.get(time_key):
                moved = combine(str(ds[date_key].value), str(ds[time_key].value)) + delta
                ds[date_key].value, ds[time_key].value = f"{moved:%Y%m%d}", f"{moved:%H%M%S.%f}"
        if "RadiopharmaceuticalInformationSequence" not in ds:
            ds.save_as(path, enforce_file_format=True)  # the CT: no injection
            continue
        item = ds.RadiopharmaceuticalInformationSequence[0]
        start = parse_dt(item.get("RadiopharmaceuticalStartDateTime")) + delta
        item.RadiopharmaceuticalStartDateTime = f"{start:%Y%m%d%H%M%S.%f}"
        item.RadiopharmaceuticalStartTime = f"{start:%H%M%S.%f}"
        ds.save_as(path, enforce_file_format=True)


def _dose_wall(dose: TracerDose, tz_name: str) -> dt.datetime:
    return dose.administered_at.astimezone(zoneinfo.ZoneInfo(tz_name)).replace(tzinfo=dt.UTC)


# Participants with PET at both time points: this many from NL01 and this many from the other sites.
DEMO_PET_PER_GROUP = 4


def _candidates(participants: list[Any]) -> list[Any]:
    chosen: list[Any] = []
    for p in participants:
        codes = set(
            TracerDose.objects.filter(participant=p, voided=False).values_list("visit__code", flat=True)
        )
        if {"BL_TRACER", "OT_TRACER"} <= codes and not p.voided:
            chosen.append(p)
    chosen.sort(key=lambda p: (p.site.code != "NL01", p.study_id))
    nl = [p for p in chosen if p.site.code == "NL01"][:DEMO_PET_PER_GROUP]
    other = [p for p in chosen if p.site.code != "NL01"][:DEMO_PET_PER_GROUP]
    return nl + other


@transaction.atomic
def _add_vois(ctx: AuditContext, scan: Scan, rng: random.Random) -> None:
    lesions = list(scan.participant.lesions.filter(voided=False).order_by("label")[:3])
    for organ, (centre, radius) in ORGANS.items():
        services.voi_create_sphere(
            ctx=ctx,
            scan=scan,
            name=organ.replace("_", " ").capitalize(),
            kind="organ",
            organ=organ,
            centre_mm=centre,
            radius_mm=min(radius, 15.0),
        )
    for index, (name, (centre, radius)) in enumerate(LESIONS.items()):
        lesion = lesions[index] if index < len(lesions) else None
        services.voi_create_sphere(
            ctx=ctx,
            scan=scan,
            name=lesion.label if lesion else name,
            kind="lesion",
            centre_mm=centre,
            radius_mm=radius,
            lesion=lesion,
        )


def _ingest(scan: Scan, dose: TracerDose, user: Any, rng: random.Random) -> bool:
    participant = scan.participant
    hours = float(scan.planned_hours_post_injection or 48.0) + rng.uniform(-3, 3)
    injection_wall = _dose_wall(dose, participant.site.time_zone)
    if injection_wall + dt.timedelta(hours=hours) > _dose_wall_now(participant.site.time_zone):
        return False
    ctx = AuditContext.system(source=AuditSource.IMPORT, user=user)
    with temp_upload_dir() as tmp:
        spec = _spec(
            hours,
            scan.phase == "on_treatment",
            float(participant.weight_kg),
            float(dose.net_injected_mbq),
            rng,
            _tumour_factors(participant.pk),
        )
        info = write_phantom(str(tmp / "series"), spec)
        files = list(info.files)
        if scan.visit.code in WITH_CT:  # the PET/CT's CT in the same upload: linked, fused in the viewer
            files += write_ct_phantom(tmp / "ct", info, spacing=CT_SPACING).files
        _shift_times(files, injection_wall - (SCAN_START - dt.timedelta(hours=hours)))
        work = tmp / "work"
        work.mkdir()
        services.series_upload_ingest(
            ctx=ctx, scan=scan, files=[(Path(f), Path(f).name) for f in files], work_dir=work
        )
    _add_vois(ctx, scan, rng)
    return True


def _dose_wall_now(tz_name: str) -> dt.datetime:
    return dt.datetime.now(zoneinfo.ZoneInfo(tz_name)).replace(tzinfo=dt.UTC)


def build_demo(participants: list[Any], users: dict[str, Any], rng: random.Random) -> None:
    """PET series with organ and lesion VOIs for up to eight participants at baseline and on treatment."""
    for participant in _candidates(participants):
        user = users.get(f"radiologist_{participant.site.code}")
        if user is None:
            continue
        services.scans_ensure_for_participant(participant)
        for scan in participant.scans.filter(modality=Modality.PET, visit__code__in=PET_CODES, voided=False):
            if scan.uploads.exists():
                continue
            dose = services.tracer_dose_for(scan)
            if dose is not None:
                _ingest(scan, dose, user, rng)
