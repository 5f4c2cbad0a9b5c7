"""Enhanced PET test objects made from classic PET files (shared by tests/quant and tests/imaging).

``legacy_converted(files, out)`` converts classic PET Image Storage files with highdicom's
LegacyConvertedEnhancedPETImage (SOP class 1.2.840.10008.5.1.4.1.1.128.1). ``true_enhanced(files, out)``
turns that object into an Enhanced PET Image (SOP class ...1.130) by the IOD's rules (PS3.3 A.56, C.8.22):
the legacy-only macros (unassigned converted attributes, conversion source) removed; the Enhanced PET Series,
Isotope (RadionuclideTotalDose in MBq), Acquisition, Image and Corrections modules written from the classic
values (DecayCorrection START -> DecayCorrectionDateTime = SeriesDate/SeriesTime, ADMIN -> the injection,
NONE -> DecayCorrected NO; CorrectedImage -> the YES/NO flags); per frame a Real World Value Mapping in CID 84
units equal to the frame's rescale, FrameReferenceDateTime from FrameReferenceTime, and the PET functional
groups (frame type, acquisition, position, correction factors with DecayFactor, reconstruction,
radiopharmaceutical usage, frame anatomy).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import highdicom as hd
import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

ENHANCED_PET = "1.2.840.10008.5.1.4.1.1.130"
UCUM = {"BQML": "Bq/ml", "CNTS": "{counts}", "CM2ML": "cm2/ml{SUVbsa}"}
GML = {"BW": "g/ml{SUVbw}", "LBMJAMES128": "g/ml{SUVlbm(James128)}", "IBW": "g/ml{SUVibw}"}
FLAGS = {
    "AttenuationCorrected": "ATTN",
    "DecayCorrected": "DECY",
    "ScatterCorrected": "SCAT",
    "DeadTimeCorrected": "DTIM",
    "RandomsCorrected": "RAN",
    "DetectorNormalizationCorrection": "NORM",
    "CountLossNormalizationCorrected": "CLN",
    "NonUniformRadialSamplingCorrected": "RADL",
    "SensitivityCalibrated": "DCAL",
    "GantryMotionCorrected": "MOTN",
    "PatientMotionCorrected": "PMOT",
}


def legacy_converted(files: list[str] | list[Path], out: Path) -> Path:
    """highdicom's Legacy Converted Enhanced PET object of classic files (same series UID), saved to ``out``."""
    datasets = [pydicom.dcmread(str(f)) for f in files]
    for ds in datasets:  # "PETDRO PHANTOM" (IBSI): one name component, which highdicom warns about
        if "PatientName" in ds and "^" not in str(ds.PatientName):
            ds.PatientName = str(ds.PatientName).replace(" ", "^", 1)
    obj = hd.legacy.LegacyConvertedEnhancedPETImage(
        datasets,
        series_instance_uid=str(datasets[0].SeriesInstanceUID),
        series_number=int(datasets[0].get("SeriesNumber") or 1),
        sop_instance_uid=hd.UID(),
        instance_number=1,
    )
    obj.save_as(str(out))
    return out


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    if len(value) > 16:  # SH holds 16 characters; longer codes go in LongCodeValue (PS3.3 8.8)
        item.LongCodeValue = value
    else:
        item.CodeValue = value
    item.CodingSchemeDesignator, item.CodeMeaning = scheme, meaning
    return item


def _dt(date: str, time: str) -> str:
    return f"{date}{str(time).split('.')[0]}"


def _plus_ms(dt_text: str, ms: float) -> str:
    base = dt.datetime.strptime(dt_text[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    return (base + dt.timedelta(milliseconds=ms)).strftime("%Y%m%d%H%M%S.%f")


def true_enhanced(files: list[str] | list[Path], out: Path) -> Path:
    """An Enhanced PET Image object (SOP class ...1.130) with the data of classic files (see the module docstring)."""
    legacy_path = out.with_suffix(".legacy.dcm")
    legacy_converted(files, legacy_path)
    ds = pydicom.dcmread(str(legacy_path))
    legacy_path.unlink()
    classic = pydicom.dcmread(str(files[0]), stop_before_pixels=True)
    shared = ds.SharedFunctionalGroupsSequence[0]
    for elem in shared.UnassignedSharedConvertedAttributesSequence[0]:
        if elem.tag.is_private:  # vendor private elements (Philips SUV factors) stay, at the top level
            ds.add(copy.deepcopy(elem))
    del shared.UnassignedSharedConvertedAttributesSequence
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = ENHANCED_PET
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    _isotope(ds, classic)
    reference = _corrections(ds, classic)
    _acquisition(ds, classic)
    _image(ds, classic)
    _shared_groups(shared, classic)
    series_dt = _dt(classic.SeriesDate, classic.SeriesTime)
    for frame in ds.PerFrameFunctionalGroupsSequence:
        _frame_groups(frame, shared, classic, series_dt, reference)
    ds.save_as(str(out), enforce_file_format=True)
    return out


def _isotope(ds: Dataset, classic: Dataset) -> None:
    src = classic.RadiopharmaceuticalInformationSequence[0]
    item = Dataset()
    item.RadiopharmaceuticalAgentNumber = 1
    item.RadionuclideCodeSequence = [copy.deepcopy(src.RadionuclideCodeSequence[0])]
    item.AdministrationRouteCodeSequence = [_code("47625008", "SCT", "Intravenous route")]
    item.RadiopharmaceuticalCodeSequence = [_code("C-B1031", "SRT", "Fluorodeoxyglucose F^18^")]
    start = src.get("RadiopharmaceuticalStartDateTime")
    if not start:  # time only (classic): on the series date, or the day before when that is after the scan
        start = _dt(classic.SeriesDate, src.RadiopharmaceuticalStartTime)
        if start > _dt(classic.SeriesDate, classic.SeriesTime):
            start = _plus_ms(start, -86400e3).split(".")[0]
    item.RadiopharmaceuticalStartDateTime = start
    item.RadionuclideTotalDose = f"{float(src.RadionuclideTotalDose) / 1e6:.10g}"  # MBq (C.8.22.4)
    item.RadionuclideHalfLife = src.RadionuclideHalfLife
    item.RadionuclidePositronFraction = src.get("RadionuclidePositronFraction") or "0.227"
    ds.RadiopharmaceuticalInformationSequence = [item]


def _corrections(ds: Dataset, classic: Dataset) -> str | None:
    """Enhanced PET Corrections; returns the decay reference DT (None without decay correction)."""
    corrected = {str(c).strip() for c in classic.get("CorrectedImage") or []}
    for flag, code in FLAGS.items():
        setattr(ds, flag, "YES" if code in corrected else "NO")
    ds.CountsSource = "EMISSION"
    decay = str(classic.DecayCorrection)
    ds.DecayCorrected = "NO" if decay == "NONE" else "YES"
    if ds.RandomsCorrected == "YES":
        ds.RandomsCorrectionMethod = "DLYD"
    if ds.AttenuationCorrected == "YES":
        ds.AttenuationCorrectionSource = "CT"
        ds.AttenuationCorrectionTemporalRelationship = "CONCURRENT"
    if ds.ScatterCorrected == "YES":
        ds.ScatterCorrectionMethod = "MODEL"
    if decay == "NONE":
        return None
    if decay == "ADMIN":
        reference = ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime
    else:
        reference = _dt(classic.SeriesDate, classic.SeriesTime)
    ds.DecayCorrectionDateTime = reference
    return str(reference)


def _acquisition(ds: Dataset, classic: Dataset) -> None:
    ds.AcquisitionStartCondition = "MANU"
    ds.AcquisitionTerminationCondition = "TIME"
    ds.TerminationTimeThreshold = float(classic.get("ActualFrameDuration") or 300000) / 1000.0
    ds.TypeOfDetectorMotion = "STATIONARY"
    ds.DetectorGeometry = "CYLINDRICAL_RING"
    ds.TransverseDetectorSeparation = 820.0
    ds.AxialDetectorDimension = 260.0
    ds.CollimatorType = "NONE"
    ds.CoincidenceWindowWidth = 4.1
    window = Dataset()
    window.EnergyWindowLowerLimit, window.EnergyWindowUpperLimit = "435", "585"
    ds.EnergyWindowRangeSequence = [window]
    ds.TableMotion = "STATIC"
    ds.TimeOfFlightInformationUsed = "TRUE"
    ds.ViewCodeSequence = [_code("399067008", "SCT", "Lateral projection")]
    ds.ViewCodeSequence[0].ViewModifierCodeSequence = []


def _image(ds: Dataset, classic: Dataset) -> None:
    ds.AcquisitionDuration = max(float(classic.get("ActualFrameDuration") or 300000) / 1000.0, 1.0)
    ds.ContentQualification = "RESEARCH"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.PresentationLUTShape = "IDENTITY"
    ds.PixelPresentation, ds.VolumetricProperties, ds.VolumeBasedCalculationTechnique = (
        "MONOCHROME",
        "VOLUME",
        "NONE",
    )
    ds.Manufacturer = classic.get("Manufacturer") or "Synthetic"
    ds.ManufacturerModelName = classic.get("ManufacturerModelName") or "Synthetic"
    ds.DeviceSerialNumber = classic.get("DeviceSerialNumber") or "0"
    ds.SoftwareVersions = "1"
    for keyword in ("ReferencedSeriesSequence",):
        if keyword in ds:
            del ds[keyword]


def _shared_groups(shared: Dataset, classic: Dataset) -> None:
    frame_type = Dataset()
    frame_type.FrameType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    frame_type.PixelPresentation, frame_type.VolumetricProperties = "MONOCHROME", "VOLUME"
    frame_type.VolumeBasedCalculationTechnique = "NONE"
    shared.PETFrameTypeSequence = [frame_type]
    anatomy = Dataset()
    anatomy.AnatomicRegionSequence = [_code("38266002", "SCT", "Entire body")]
    anatomy.FrameLaterality = "U"
    shared.FrameAnatomySequence = [anatomy]
    usage = Dataset()
    usage.RadiopharmaceuticalAgentNumber = 1
    shared.RadiopharmaceuticalUsageSequence = [usage]
    acquisition = Dataset()
    acquisition.TableHeight, acquisition.GantryDetectorTilt, acquisition.GantryDetectorSlew = 150.0, 0.0, 0.0
    acquisition.DataCollectionDiameter = 700.0
    shared.PETFrameAcquisitionSequence = [acquisition]
    reconstruction = Dataset()
    reconstruction.ReconstructionType, reconstruction.ReconstructionAlgorithm = "3D", "OSEM"
    reconstruction.IterativeReconstructionMethod = "YES"
    reconstruction.NumberOfIterations, reconstruction.NumberOfSubsets = 3, 21
    reconstruction.ReconstructionDiameter = 700.0
    shared.PETReconstructionSequence = [reconstruction]


def _frame_groups(
    frame: Dataset, shared: Dataset, classic: Dataset, series_dt: str, reference: str | None
) -> None:
    unassigned = frame.get("UnassignedPerFrameConvertedAttributesSequence")
    per_frame = unassigned[0] if unassigned else Dataset()
    for keyword in ("UnassignedPerFrameConvertedAttributesSequence", "ConversionSourceAttributesSequence"):
        if keyword in frame:
            del frame[keyword]
    content = frame.FrameContentSequence[0]
    content.TemporalPositionIndex = 1  # one time point
    frt = per_frame.get("FrameReferenceTime", classic.get("FrameReferenceTime"))
    if frt is not None:
        content.FrameReferenceDateTime = _plus_ms(series_dt, float(frt))
    rescale = (frame.get("PixelValueTransformationSequence") or shared.PixelValueTransformationSequence)[0]
    mapping = Dataset()
    mapping.LUTExplanation, mapping.LUTLabel = "activity concentration", "PET"
    units = str(classic.Units)
    code = GML[str(classic.get("SUVType") or "BW")] if units == "GML" else UCUM[units]
    mapping.MeasurementUnitsCodeSequence = [_code(code, "UCUM", code)]
    signed = int(classic.PixelRepresentation) == 1
    vr = "SS" if signed else "US"
    mapping.add(DataElement(0x00409216, vr, -32768 if signed else 0))  # RealWorldValueFirstValueMapped
    mapping.add(DataElement(0x00409211, vr, 32767 if signed else 65535))  # RealWorldValueLastValueMapped
    mapping.RealWorldValueIntercept = float(rescale.RescaleIntercept)
    mapping.RealWorldValueSlope = float(rescale.RescaleSlope)
    frame.RealWorldValueMappingSequence = [mapping]
    position = Dataset()
    ipp = [float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient]
    position.TablePosition = ipp[2]
    position.DataCollectionCenterPatient = [0.0, 0.0, ipp[2]]
    position.ReconstructionTargetCenterPatient = [0.0, 0.0, ipp[2]]
    frame.PETPositionSequence = [position]
    factors = Dataset()
    factors.PrimaryPromptsCountsAccumulated = 1000000
    factors.SliceSensitivityFactor = "1.0"
    factors.DecayFactor = per_frame.get("DecayFactor", classic.get("DecayFactor")) or "1.0"
    if reference is None:
        factors.DecayFactor = "1.0"
    factors.ScatterFractionFactor = "0.3"
    factors.DeadTimeFactor = "1.0"
    frame.PETFrameCorrectionFactorsSequence = [factors]
    _ = Sequence  # keep the import for callers building broken variants
