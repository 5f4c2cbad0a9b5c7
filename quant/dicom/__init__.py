"""DICOM series: finding files, reading and validating single-frame series, geometry, de-identification.

References: DICOM PS3.3 (Image Plane module: ImagePositionPatient, ImageOrientationPatient, PixelSpacing),
PS3.5 (transfer syntaxes; decoding is left to pydicom's pixel decoders), PS3.15 Annex E (de-identification
profiles and options, Table E.1-1).

Public functions:

- ``files.list_dicom_files``, ``files.read_dicom`` (Part 10, or without preamble after validation by
  ``files.sniff_raw_dataset``), ``files.inventory`` / ``files.pick_series`` (CD and PACS layouts: DICOMDIR,
  README, AUTORUN ignored and listed), ``files.scan_series`` (series in a folder, for a chooser),
  ``files.raise_if_mixed``;
- ``series.read_series(paths, modality, checks)`` -> ``Series`` (volume, ``Geometry``, per-slice info);
  ``series.SeriesChecks`` is the hook a modality uses to add checks (``quant.pet.series``) and to name the
  enhanced multi-frame SOP classes it reads (``enhanced.frames_of``/``classic_view``: one frame, one slice);
- ``geometry.Geometry`` (voxel <-> patient mm), ``geometry.slice_order``, ``geometry.slice_spacing``;
- ``pixels.check_decoder``, ``pixels.stored_pixels`` (every standard transfer syntax through pylibjpeg,
  pylibjpeg-libjpeg/-openjpeg/-rle and pyjpegls; per-file byte order), ``pixels.lossy_reason``,
  ``pixels.decode_file``; ``fastread.fast_read`` (explicit VR LE fast path);
- ``deid.deidentify`` / ``deid.deidentify_file`` with ``deid.DeidOptions``; ``deid.remap_uid``; the whole of
  PS3.15 Table E.1-1 (``deid_table``, data in ``data/``), ``deid.DeidRefused`` (burned-in annotation).
"""
