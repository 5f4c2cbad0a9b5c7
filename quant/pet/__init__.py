"""PET quantification for 89Zr-Df-crefmirlimab: SUV, VOIs and their metrics, MIP, cross-checks, phantoms.

References: QIBA FDG-PET/CT Profile and the QIBA SUV vendor-neutral pseudo-code (decay correction,
reference time, Philips/GE private factors); IBSI SUV digital reference objects; Boellaard et al.,
PERCIST (Wahl et al., J Nucl Med 2009: SUVpeak over a 1 mL sphere); 89Zr half-life 78.41 h (DDEP).

Public functions:

- ``series.read_pet_series(paths)`` -> ``PetSeries`` (a ``quant.dicom.series.Series`` with its
  ``suv.SuvHeader``);
- ``suv.compute_suv(header, ...)`` -> ``SuvResult`` (SUVbw factor, decay, reference time and its source),
  ``suv.normalisations`` (SUVbw, SUVlbm James/Janmahasatian, SUVbsa, SUVibw, %ID/kg);
- ``voi.sphere_voi``, ``voi.nifti_voi``, ``voi.rtstruct_voi``, ``voi.seg_vois``, ``voi.voi_metrics``
  (SUVmax/mean/peak/min, volume, TLG), ``voi.tumour_to_blood``, ``voi.tumour_to_liver``;
- ``mip.coronal_mip_png``; ``crosscheck.check_*`` (header against the dosing record and schedule);
- ``phantom.write_phantom`` (synthetic 89Zr series with known SUVs), ``phantom.write_rtstruct``,
  ``phantom.write_seg``, ``phantom.write_nifti_mask``;
- ``cli.main`` / ``cli.run``: the ``pet_suv`` command-line contract.
"""
