"""PET quantification for 89Zr-Df-crefmirlimab: SUV, VOIs and their metrics, MIP, cross-checks, phantoms.

References: QIBA FDG-PET/CT Profile and the QIBA SUV vendor-neutral pseudo-code (decay correction,
reference time, Philips/GE private factors); IBSI SUV digital reference objects; Boellaard et al.,
PERCIST (Wahl et al., J Nucl Med 2009: SUVpeak over a 1 mL sphere); 89Zr half-life 78.41 h (DDEP).

Public functions:

- ``series.read_pet_series(paths)`` -> ``PetSeries`` (a ``quant.dicom.series.Series`` with its
  ``suv.SuvHeader``);
- ``suv.compute_suv(header, ..., clock=suv.Clock(site_tz, injection_instant, activity_measured_at))`` ->
  ``SuvResult`` (SUVbw factor, decay between absolute instants, reference time and its source, time basis,
  activity decay from calibration to injection), ``suv.normalisations`` (SUVbw, SUVlbm, SUVbsa, %ID/kg);
- ``timing`` (DA/TM/DT parsing, offsets, ``to_instant``: DT offset, TimezoneOffsetFromUTC, site zone);
- ``plausibility.check_series_date``, ``check_activity_range``, ``check_lossy`` (documented block/warn rules);
- ``voi.sphere_voi``, ``voi.nifti_voi``, ``voi.rtstruct_voi``, ``voi.seg_vois``, ``voi.voi_metrics``
  (SUVmax/mean/peak/min, volume, TLG), ``voi.tumour_to_blood``, ``voi.tumour_to_liver``; masks on another
  grid of the same frame of reference (SEG/NIfTI resampled, RTSTRUCT rasterised in 3-D with shape-based
  interpolation between contour planes) through ``voi_grid``; each ``Voi.method`` says how it was placed;
- ``mip.coronal_mip_png``; ``crosscheck.check_*`` (header against the dosing record and schedule);
- ``phantom.write_phantom`` (synthetic 89Zr series with known SUVs), ``phantom.write_rtstruct``,
  ``phantom.write_seg``, ``phantom.write_nifti_mask``;
- ``cli.main`` / ``cli.run``: the ``pet_suv`` command-line contract.
"""
