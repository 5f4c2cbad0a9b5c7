"""DICOM PS3.15 Annex E de-identification that keeps SUV computable (pure Python, no Django).

``deidentify(ds, study_id, participant, secret, options)`` returns a new Dataset in which every attribute
of PS3.15 Table E.1-1 (quant/dicom/data/ps3_15_table_e1_1.json, read by ``deid_table``) gets the action of
the Basic Application Level Confidentiality Profile with the declared options (DeidOptions):
Retain Longitudinal Temporal Information with Full Dates (113106), Retain Patient Characteristics
(113108), Retain Safe Private (113111) and Clean Descriptors (113105):

- K keep; X remove; Z empty; D a dummy value of the VR (so Type 1 attributes such as DeviceSerialNumber in
  Enhanced MR and SEG stay present); C clean (descriptors: ``deid_table.clean_text``; coded sequences keep
  their codes and clean their text; binary maker notes are removed); U remap UIDs. The rules inside
  sequences are the same, at every depth;
- every UID outside the DICOM root (1.2.840.10008) is remapped to ``2.25.<int>`` derived from
  HMAC-SHA256(secret, participant + uid): the same participant and UID always map the same, across files
  and uploads, so series/study/frame references stay consistent;
- private elements (the table's "gggg odd" row), curves (50xx) and overlay planes (60xx) are removed,
  except, with Retain Safe Private, the Philips (7053,xx00/xx09) SUV/activity factors and the GE
  (0009,xx0D) post-injection time that SUV needs;
- PatientName/PatientID become the trial study id; PatientIdentityRemoved YES,
  LongitudinalTemporalInformationModified UNMODIFIED (full dates kept), DeidentificationMethod and
  DeidentificationMethodCodeSequence (CID 7050) are set.

Refusal (:class:`DeidRefused`): pixel data that may carry burned-in identification is not de-identified:
BurnedInAnnotation YES; or BurnedInAnnotation absent on a Secondary Capture SOP class or an ImageType
naming a screen capture (SCREEN SHOT, SCREEN CAPTURE, CAPTURE). The basic profile without the Clean Pixel
Data option cannot make such images safe.

``dataset_bytes(ds)`` serialises; ``sha256_hex(data)`` checksums the de-identified bytes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import uuid
from dataclasses import dataclass, fields

import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag

from quant.dicom import deid_table
from quant.dicom.files import read_dicom
from quant.errors import SeriesError

STANDARD_UID_ROOT = "1.2.840.10008."
# (group, private creator, element offset) kept with Retain Safe Private
SAFE_PRIVATE = {
    (0x7053, "Philips PET Private Group", 0x00),
    (0x7053, "Philips PET Private Group", 0x09),
    (0x0009, "GEMS_PETD_01", 0x0D),
}
DEIDENTIFICATION_METHOD = "PS3.15 E.1 basic profile with retain options (see code sequence)"
OPTION_CODES = {  # CID 7050 De-identification Method
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "temporal": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "patient": ("113108", "Retain Patient Characteristics Option"),
    "private": ("113111", "Retain Safe Private Option"),
    "descriptors": ("113105", "Clean Descriptors Option"),
}
DUMMY_TEXT = "ANONYMOUS"
DUMMIES = {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "UR": "urn:x-deidentified"}
NUMERIC_VRS = {"IS", "DS", "US", "SS", "UL", "SL", "FL", "FD", "SV", "UV"}
BINARY_VRS = {"OB", "OW", "OD", "OF", "OL", "OV", "UN"}
FREE_TEXT_VRS = {"LO", "LT", "ST", "UT", "UC", "SH", "PN"}
SECONDARY_CAPTURE_ROOT = "1.2.840.10008.5.1.4.1.1.7"
SCREEN_CAPTURE_WORDS = ("SCREEN SHOT", "SCREENSHOT", "SCREEN CAPTURE", "CAPTURE")
# kept for importers of the former hand-written list: keyword -> basic-profile code of Table E.1-1
ANNEX_E_ACTIONS: dict[str, str] = {
    keyword_for_tag(r.tag_int): r.basic for r in deid_table.rows() if r.tag_int is not None
}


class DeidRefused(SeriesError):
    """An object the declared profile cannot make safe (e.g. burned-in annotation)."""


@dataclass(frozen=True)
class DeidOptions:
    retain_longitudinal_temporal: bool = True  # with full dates
    retain_patient_characteristics: bool = True
    retain_safe_private: bool = True
    clean_descriptors: bool = True

    def columns(self) -> tuple[str, ...]:
        return tuple(deid_table.OPTION_COLUMNS[f.name] for f in fields(self) if getattr(self, f.name))


def remap_uid(uid: str, participant: str, secret: bytes) -> str:
    """Deterministic per-participant UID: 2.25.<128-bit int> from HMAC-SHA256(secret, participant|uid)."""
    uid = str(uid).strip()
    if not uid or uid.startswith(STANDARD_UID_ROOT):
        return uid
    digest = hmac.new(secret, f"{participant}|{uid}".encode(), hashlib.sha256).digest()
    return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"


def check_burned_in(ds: Dataset) -> None:
    """Refuse pixel data that may show identifying text (see the module docstring)."""
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        return
    burned = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if burned == "YES":
        raise DeidRefused("BurnedInAnnotation is YES: the pixels may show identifying text; not accepted")
    if burned == "NO":
        return
    image_type = " ".join(str(v).upper() for v in (ds.get("ImageType") or []))
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class.startswith(SECONDARY_CAPTURE_ROOT) or any(w in image_type for w in SCREEN_CAPTURE_WORDS):
        raise DeidRefused(
            "a secondary or screen capture without BurnedInAnnotation NO may show identifying text; not accepted"
        )


class _Cleaner:
    def __init__(self, participant: str, secret: bytes, options: DeidOptions) -> None:
        self.participant, self.secret, self.options = participant, secret, options
        self.actions = deid_table.actions_by_tag(options.columns())

    def dataset(self, ds: Dataset) -> None:
        tags = [Tag(t) for t in ds.keys()]  # noqa: SIM118 - iterating a Dataset converts every value
        private = any(t.is_private for t in tags)
        keep_private = _safe_private_tags(ds) if private and self.options.retain_safe_private else set()
        for tag in tags:
            if tag.is_private:
                if int(tag) not in keep_private:
                    del ds[tag]
                continue
            if tag.group & 0xFF00 in (0x5000, 0x6000):  # curves; overlay planes with their data and comments
                del ds[tag]
                continue
            action = self.actions.get(int(tag))
            if action in (None, "K") and _vr(ds, tag) not in ("SQ", "UI"):
                continue  # kept as read: no value conversion (contour data can be large)
            self.element(ds, ds[tag], action)

    def element(self, ds: Dataset, elem: DataElement, action: str | None) -> None:
        if action == "X":
            del ds[elem.tag]
        elif action == "Z":
            elem.value = [] if elem.VR == "SQ" else (b"" if elem.VR in BINARY_VRS else "")
        elif action == "D":
            self.dummy(ds, elem)
        elif action == "C":
            self.clean(ds, elem)
        elif elem.VR == "SQ":  # K, U (X/Z/U*) or not in the table: the rules apply inside
            for item in elem.value:
                self.dataset(item)
        elif elem.VR == "UI":  # U, or any UID outside the table: remapped unless standard
            self.remap(elem)

    def dummy(self, ds: Dataset, elem: DataElement) -> None:
        vr = elem.VR
        if vr == "SQ":
            for item in elem.value:
                self.dataset(item)
        elif vr == "UI":
            self.remap(elem)
            if not elem.value:
                elem.value = remap_uid("1.2.3.4.5.6.7.8.9", self.participant, self.secret)
        elif vr in BINARY_VRS:
            elem.value = b"\x00\x00"
        elif vr in NUMERIC_VRS:
            elem.value = 0 if vr not in ("IS", "DS") else "0"
        else:
            elem.value = DUMMIES.get(vr, DUMMY_TEXT)

    def clean(self, ds: Dataset, elem: DataElement) -> None:
        if elem.VR == "SQ":
            for item in elem.value:
                self.dataset(item)
                for inner in list(item):
                    if inner.VR in FREE_TEXT_VRS - {"SH"} and not inner.tag.is_private and inner.value:
                        self.clean(item, inner)
        elif elem.VR in BINARY_VRS:
            del ds[elem.tag]  # binary descriptors (maker notes, device settings) cannot be cleaned
        elif elem.VR == "CS" or not elem.value:
            return  # defined terms carry no identity
        elif elem.VM > 1:
            elem.value = [deid_table.clean_text(v) for v in elem.value]
        else:
            elem.value = deid_table.clean_text(elem.value)

    def remap(self, elem: DataElement) -> None:
        if elem.VM > 1:
            elem.value = [remap_uid(v, self.participant, self.secret) for v in elem.value]
        elif elem.value:
            elem.value = remap_uid(elem.value, self.participant, self.secret)


def _vr(ds: Dataset, tag: Tag) -> str:
    """VR of an element without converting its value (implicit VR files: the dictionary's)."""
    raw = ds.get_item(tag)
    vr = getattr(raw, "VR", None)
    if vr and vr != "UN":
        return str(vr)
    try:
        return dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return str(vr or "UN")


def _safe_private_tags(ds: Dataset) -> set[int]:
    keep: set[int] = set()
    for group, creator, offset in SAFE_PRIVATE:
        try:
            block = ds.private_block(group, creator)
        except KeyError:
            continue
        if offset in block:
            keep.add(int(block.get_tag(offset)))
            keep.add(int(Tag(group, block.block_start >> 8)))  # the creator element
    return keep


def deidentify(
    ds: Dataset,
    study_id: str,
    participant: str,
    secret: bytes,
    options: DeidOptions | None = None,
) -> Dataset:
    """A de-identified copy of ``ds`` (the input is not modified); DeidRefused for burned-in pixels."""
    options = options or DeidOptions()
    if not secret:
        raise ValueError("a non-empty secret is required for UID remapping")
    check_burned_in(ds)
    out = copy.deepcopy(ds)
    _Cleaner(participant, secret, options).dataset(out)
    out.PatientName = study_id
    out.PatientID = study_id
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = DEIDENTIFICATION_METHOD
    out.DeidentificationMethodCodeSequence = _method_codes(options)
    if options.retain_longitudinal_temporal:
        out.LongitudinalTemporalInformationModified = "UNMODIFIED"
    elif "LongitudinalTemporalInformationModified" in out:
        out.LongitudinalTemporalInformationModified = "REMOVED"
    if "PatientBirthDate" not in out:
        out.PatientBirthDate = ""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        new_meta = FileMetaDataset()
        for elem in meta:
            new_meta.add(copy.deepcopy(elem))
        if "MediaStorageSOPInstanceUID" in new_meta:
            new_meta.MediaStorageSOPInstanceUID = remap_uid(
                new_meta.MediaStorageSOPInstanceUID, participant, secret
            )
        for key in ("ImplementationVersionName", "SourceApplicationEntityTitle", "PrivateInformation"):
            if key in new_meta:
                del new_meta[key]
        out.file_meta = new_meta
    out.preamble = b"\x00" * 128
    return out


def _method_codes(options: DeidOptions) -> list[Dataset]:
    keys = ["basic"]
    keys += ["temporal"] if options.retain_longitudinal_temporal else []
    keys += ["patient"] if options.retain_patient_characteristics else []
    keys += ["private"] if options.retain_safe_private else []
    keys += ["descriptors"] if options.clean_descriptors else []
    items = []
    for key in keys:
        item = Dataset()
        item.CodeValue, item.CodeMeaning = OPTION_CODES[key]
        item.CodingSchemeDesignator = "DCM"
        items.append(item)
    return items


def dataset_bytes(ds: Dataset) -> bytes:
    """Serialise as a DICOM Part 10 file."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def deidentify_file(
    src: str, dst: str, study_id: str, participant: str, secret: bytes, options: DeidOptions | None = None
) -> str:
    """De-identify one file, write it, return the SHA-256 of the written bytes."""
    ds = read_dicom(src)  # Part 10, or a validated file without the preamble
    data = dataset_bytes(deidentify(ds, study_id, participant, secret, options))
    with open(dst, "wb") as handle:
        handle.write(data)
    return sha256_hex(data)
