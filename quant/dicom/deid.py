"""DICOM PS3.15 Annex E basic-profile de-identification that keeps SUV computable (pure Python, no Django).

``deidentify(ds, study_id, participant, secret, options)`` returns a new Dataset:
- PatientName and PatientID become the trial study id;
- attributes of :data:`ANNEX_E_ACTIONS` are removed (X), emptied (Z) or replaced by a dummy (D);
- every UID outside the DICOM standard root (1.2.840.10008) is remapped to ``2.25.<int>`` derived
  from HMAC-SHA256(secret, participant + uid): the same participant and UID always map the same,
  across files and uploads, so series/study/frame references stay consistent;
- private tags, curves (50xx) and overlays (60xx) are removed, except, with Retain Safe Private,
  the Philips (7053,xx00/xx09) SUV/activity factors and the GE (0009,xx0D) post-injection time;
- Retain Longitudinal Temporal Information keeps dates and times (else they are emptied);
  Retain Patient Characteristics keeps weight, size, sex, age (else they are removed).

``dataset_bytes(ds)`` serialises; ``sha256_hex(data)`` checksums the de-identified bytes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import io
import uuid
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import Tag

# PS3.15 Table E.1-1 basic profile (keyword -> action), attributes present in PET/MR/RT/SEG objects.
# X remove, Z zero length, D dummy value, U remap UID (handled for every UI element), K keep.
ANNEX_E_ACTIONS: dict[str, str] = {
    "AccessionNumber": "Z",
    "AcquisitionComments": "X",
    "AcquisitionDeviceProcessingDescription": "X",
    "AdditionalPatientHistory": "X",
    "AdmissionID": "X",
    "AdmittingDiagnosesDescription": "X",
    "Allergies": "X",
    "Arbitrary": "X",
    "AuthorObserverSequence": "X",
    "BranchOfService": "X",
    "CommentsOnThePerformedProcedureStep": "X",
    "ConfidentialityConstraintOnPatientDataDescription": "X",
    "ContentCreatorName": "Z",
    "ContributionDescription": "X",
    "CountryOfResidence": "X",
    "CurrentPatientLocation": "X",
    "CustodialOrganizationSequence": "X",
    "DataSetTrailingPadding": "X",
    "DerivationDescription": "X",
    "DetectorID": "X",
    "DeviceSerialNumber": "X",
    "DeviceUID": "X",
    "DigitalSignaturesSequence": "X",
    "DischargeDiagnosisDescription": "X",
    "DistributionAddress": "X",
    "DistributionName": "X",
    "EthnicGroup": "X",
    "FrameComments": "X",
    "GantryID": "X",
    "GeneratorID": "X",
    "IconImageSequence": "X",
    "IdentifyingComments": "X",
    "ImageComments": "X",
    "ImagePresentationComments": "X",
    "ImagingServiceRequestComments": "X",
    "InstitutionAddress": "X",
    "InstitutionalDepartmentName": "X",
    "InstitutionCodeSequence": "X",
    "InstitutionName": "X",
    "InsurancePlanIdentification": "X",
    "IntendedRecipientsOfResultsIdentificationSequence": "X",
    "InterpretationApproverSequence": "X",
    "InterpretationAuthor": "X",
    "InterpretationRecorder": "X",
    "InterpretationTranscriber": "X",
    "IssuerOfAdmissionID": "X",
    "IssuerOfPatientID": "X",
    "MedicalAlerts": "X",
    "MedicalRecordLocator": "X",
    "MilitaryRank": "X",
    "ModifiedAttributesSequence": "X",
    "ModifyingDeviceID": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "NamesOfIntendedRecipientsOfResults": "X",
    "Occupation": "X",
    "OperatorIdentificationSequence": "X",
    "OperatorsName": "X",
    "OriginalAttributesSequence": "X",
    "OrderCallbackPhoneNumber": "X",
    "OrderEnteredBy": "X",
    "OrderEntererLocation": "X",
    "OtherPatientIDs": "X",
    "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X",
    "ParticipantSequence": "X",
    "PatientAddress": "X",
    "PatientBirthDate": "Z",
    "PatientBirthName": "X",
    "PatientBirthTime": "X",
    "PatientComments": "X",
    "PatientInstitutionResidence": "X",
    "PatientInsurancePlanCodeSequence": "X",
    "PatientMotherBirthName": "X",
    "PatientPrimaryLanguageCodeSequence": "X",
    "PatientReligiousPreference": "X",
    "PatientState": "X",
    "PatientTelephoneNumbers": "X",
    "PatientTransportArrangements": "X",
    "PatientAge": "X",
    "PatientSex": "Z",
    "PatientSize": "X",
    "PatientWeight": "X",
    "PatientSexNeutered": "X",
    "SmokingStatus": "X",
    "PregnancyStatus": "X",
    "PerformedLocation": "X",
    "PerformedProcedureStepDescription": "X",
    "PerformedProcedureStepID": "X",
    "PerformingPhysicianIdentificationSequence": "X",
    "PerformingPhysicianName": "X",
    "PersonAddress": "X",
    "PersonIdentificationCodeSequence": "X",
    "PersonName": "D",
    "PersonTelephoneNumbers": "X",
    "PhysicianApprovingInterpretation": "X",
    "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X",
    "PreMedication": "X",
    "ProtocolName": "X",
    "ReasonForStudy": "X",
    "ReasonForTheRequestedProcedure": "X",
    "ReferencedPatientSequence": "X",
    "ReferencedStudySequence": "X",
    "ReferringPhysicianAddress": "X",
    "ReferringPhysicianIdentificationSequence": "X",
    "ReferringPhysicianName": "Z",
    "ReferringPhysicianTelephoneNumbers": "X",
    "RegionOfResidence": "X",
    "RequestAttributesSequence": "X",
    "RequestedProcedureDescription": "X",
    "RequestedProcedureID": "X",
    "RequestingPhysician": "X",
    "RequestingService": "X",
    "ResponsibleOrganization": "X",
    "ResponsiblePerson": "X",
    "ReviewerName": "X",
    "ScheduledPerformingPhysicianName": "X",
    "ScheduledProcedureStepDescription": "X",
    "SeriesDescription": "X",
    "ServiceEpisodeDescription": "X",
    "ServiceEpisodeID": "X",
    "SpecialNeeds": "X",
    "StationName": "X",
    "StructureSetDescription": "X",
    "StudyComments": "X",
    "StudyDescription": "X",
    "StudyID": "Z",
    "TextComments": "X",
    "TextString": "X",
    "TopicAuthor": "X",
    "TopicKeywords": "X",
    "TopicSubject": "X",
    "TopicTitle": "X",
    "VerifyingObserverIdentificationCodeSequence": "X",
    "VerifyingObserverName": "D",
    "VerifyingOrganization": "X",
    "VisitComments": "X",
}
PATIENT_CHARACTERISTICS = (
    "PatientAge",
    "PatientSex",
    "PatientSize",
    "PatientWeight",
    "EthnicGroup",
    "SmokingStatus",
    "PregnancyStatus",
    "PatientSexNeutered",
)
TEMPORAL_VRS = ("DA", "DT", "TM")
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
}


@dataclass(frozen=True)
class DeidOptions:
    retain_longitudinal_temporal: bool = True
    retain_patient_characteristics: bool = True
    retain_safe_private: bool = True


def remap_uid(uid: str, participant: str, secret: bytes) -> str:
    """Deterministic per-participant UID: 2.25.<128-bit int> from HMAC-SHA256(secret, participant|uid)."""
    uid = str(uid).strip()
    if not uid or uid.startswith(STANDARD_UID_ROOT):
        return uid
    digest = hmac.new(secret, f"{participant}|{uid}".encode(), hashlib.sha256).digest()
    return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"


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


def _clean(ds: Dataset, participant: str, secret: bytes, options: DeidOptions) -> None:
    keep_private = _safe_private_tags(ds) if options.retain_safe_private else set()
    for elem in list(ds):
        tag = elem.tag
        if tag.is_private:
            if int(tag) not in keep_private:
                del ds[tag]
            continue
        if tag.group & 0xFF00 in (0x5000, 0x6000):
            del ds[tag]
            continue
        keyword = elem.keyword
        if elem.VR == "SQ":
            if ANNEX_E_ACTIONS.get(keyword) == "X":
                del ds[tag]
                continue
            for item in elem.value:
                _clean(item, participant, secret, options)
            continue
        if options.retain_patient_characteristics and keyword in PATIENT_CHARACTERISTICS:
            continue
        action = ANNEX_E_ACTIONS.get(keyword)
        if action == "X":
            del ds[tag]
        elif action == "Z":
            elem.value = ""
        elif action == "D":
            elem.value = "ANONYMOUS"
        elif elem.VR == "UI":
            _remap_element(elem, participant, secret)
        elif elem.VR in TEMPORAL_VRS and not options.retain_longitudinal_temporal:
            elem.value = ""


def _remap_element(elem, participant: str, secret: bytes) -> None:
    if elem.VM > 1:
        elem.value = [remap_uid(v, participant, secret) for v in elem.value]
    elif elem.value:
        elem.value = remap_uid(elem.value, participant, secret)


def deidentify(
    ds: Dataset,
    study_id: str,
    participant: str,
    secret: bytes,
    options: DeidOptions | None = None,
) -> Dataset:
    """A de-identified copy of ``ds`` (the input is not modified)."""
    options = options or DeidOptions()
    if not secret:
        raise ValueError("a non-empty secret is required for UID remapping")
    out = copy.deepcopy(ds)
    _clean(out, participant, secret, options)
    out.PatientName = study_id
    out.PatientID = study_id
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = DEIDENTIFICATION_METHOD
    out.DeidentificationMethodCodeSequence = _method_codes(options)
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
    ds = pydicom.dcmread(src)
    data = dataset_bytes(deidentify(ds, study_id, participant, secret, options))
    with open(dst, "wb") as handle:
        handle.write(data)
    return sha256_hex(data)
