"""mpMRI models: arterial input functions, DCE-MRI (tracer-kinetic and semi-quantitative), IVIM and DKI.

References: OSIPI DCE-MRI and IVIM code collections and their test data (tolerances in the tests);
Tofts et al., JMRI 1999 (Tofts, extended Tofts); Sourbron & Buckley, MRM 2011 (2CXM); Parker et al.,
MRM 2006 (population AIF); Weinmann et al. 1984; Murase, MRM 2004 (linear least squares);
Le Bihan 1988 and the segmented IVIM fit; Jensen et al., MRM 2005 (DKI, validity b < 3/(D K)).

Public functions:

- ``aif.parker_plasma_mM``, ``aif.weinmann_plasma_mM``, ``aif.measured_aif``, ``aif.shift_aif``;
- ``dce_models.tofts``, ``extended_tofts``, ``two_cxm``, ``two_cxm_ktrans``; ``dce.fit_dce_curve``,
  ``dce.spgr_signal_to_concentration``; ``dce_semiquant.semi_quantitative``;
  ``dce_voxelwise.fit_extended_tofts_voxelwise`` (vectorised maps);
- ``ivim.fit_ivim``, ``ivim.ivim_signal``; ``dki.fit_dki``, ``dki.dki_signal``, ``dki.validity_limit``;
- ``curve_csv.read_numeric_columns`` (the ``dce_fit``/``ivim_fit``/``dki_fit`` CSV contract);
  ``io.parse_curve``, ``io.load_nifti``, ``io.roi_stats``, ``io.slice_preview_png`` (uploaded files).
"""
