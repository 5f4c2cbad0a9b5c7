"""Plausibility findings of a PET header, by documented rules (pure Python, no Django).

Each rule returns :class:`~quant.pet.crosscheck.CheckFinding`s naming the header field and the record:

- SERIES_DATE_IMPLAUSIBLE (error, blocks; overridable): SeriesDate/SeriesTime is more than
  ``SERIES_BEFORE_ACQUISITION_H`` (2 h) before the earliest AcquisitionDate/AcquisitionTime. QIBA uses the
  series time as the decay reference when it is not after the acquisition, so such a series time would
  decay-correct over the wrong interval (a SeriesDate 20 days early multiplies 89Zr SUV by 2^(480/78.41)).
  SeriesDate after the acquisition is not a finding (the reference is then back-computed or taken from
  the acquisition, see quant.pet.suv).
- ACTIVITY_OUTSIDE_PROTOCOL (warning) when RadionuclideTotalDose or the dosing record's net activity lies
  outside the protocol activity +/- ``warn_pct`` (37 MBq +/- 10 %); ACTIVITY_IMPLAUSIBLE (error, blocks)
  beyond ``block_factor`` (x2) of the protocol activity either way: another tracer or a unit error
  (e.g. 4,266 MBq).
- LOSSY_COMPRESSION (warning): a lossy transfer syntax or LossyImageCompression 01 in any file; SUVs from
  lossy pixels are kept but flagged for review.
"""

from __future__ import annotations

from dataclasses import dataclass

from quant.pet.crosscheck import CheckFinding
from quant.pet.suv import SuvHeader, combine

SERIES_BEFORE_ACQUISITION_H = 2.0


@dataclass(frozen=True)
class ActivityRange:
    """The protocol's injected activity: nominal MBq, warning band in %, blocking factor either way."""

    nominal_mbq: float = 37.0
    warn_pct: float = 10.0
    block_factor: float = 2.0

    @property
    def warn_low(self) -> float:
        return round(self.nominal_mbq * (1 - self.warn_pct / 100), 6)

    @property
    def warn_high(self) -> float:
        return round(self.nominal_mbq * (1 + self.warn_pct / 100), 6)


def check_series_date(header: SuvHeader) -> list[CheckFinding]:
    series_dt = combine(header.series_date, header.series_time)
    acquisitions = [
        combine(d or header.series_date, t)
        for d, t in zip(header.acquisition_dates, header.acquisition_times)
    ]
    known = [a for a in acquisitions if a is not None]
    if series_dt is None or not known:
        return []
    earliest = min(known)
    hours = (earliest - series_dt).total_seconds() / 3600.0
    if hours <= SERIES_BEFORE_ACQUISITION_H:
        return []
    return [
        CheckFinding(
            "SERIES_DATE_IMPLAUSIBLE",
            "error",
            f"SeriesDate/SeriesTime {series_dt:%Y-%m-%d %H:%M} is {_span(hours)} before the earliest "
            f"AcquisitionDate/AcquisitionTime {earliest:%Y-%m-%d %H:%M} (limit {SERIES_BEFORE_ACQUISITION_H:g} h): "
            "the series time would be taken as the decay reference.",
            {
                "series": series_dt.replace(tzinfo=None).isoformat(),
                "earliest_acquisition": earliest.replace(tzinfo=None).isoformat(),
                "hours": hours,
            },
        )
    ]


def check_activity_range(
    header_bq: float | None,
    record_mbq: float | None,
    record_label: str,
    protocol: ActivityRange = ActivityRange(),
) -> list[CheckFinding]:
    out = []
    if header_bq:
        header_mbq = header_bq / 1e6 if header_bq >= 1e4 else header_bq
        out += _activity_finding("RadionuclideTotalDose in the header", header_mbq, protocol)
    if record_mbq is not None:
        out += _activity_finding(f"Net activity of the dosing record {record_label}", record_mbq, protocol)
    return out


def _activity_finding(what: str, mbq: float, protocol: ActivityRange) -> list[CheckFinding]:
    details = {"mbq": mbq, "protocol_mbq": protocol.nominal_mbq}
    band = f"{protocol.warn_low:.1f}-{protocol.warn_high:.1f} MBq"
    if (
        mbq > protocol.nominal_mbq * protocol.block_factor
        or mbq < protocol.nominal_mbq / protocol.block_factor
    ):
        return [
            CheckFinding(
                "ACTIVITY_IMPLAUSIBLE",
                "error",
                f"{what} is {mbq:,.2f} MBq: more than x{protocol.block_factor:g} away from the protocol activity "
                f"{protocol.nominal_mbq:g} MBq (another tracer or a unit error).",
                details,
            )
        ]
    if not protocol.warn_low <= mbq <= protocol.warn_high:
        return [
            CheckFinding(
                "ACTIVITY_OUTSIDE_PROTOCOL",
                "warning",
                f"{what} is {mbq:,.2f} MBq, outside the protocol range {band} "
                f"({protocol.nominal_mbq:g} MBq +/- {protocol.warn_pct:g} %).",
                details,
            )
        ]
    return []


def check_lossy(reasons: tuple[str, ...] | list[str]) -> list[CheckFinding]:
    if not reasons:
        return []
    return [
        CheckFinding(
            "LOSSY_COMPRESSION",
            "warning",
            "Lossy image compression (" + "; ".join(reasons) + "): SUVs are computed from pixels that may "
            "differ from the scanner's; review before analysis.",
            {"reasons": list(reasons)},
        )
    ]


def _span(hours: float) -> str:
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"
