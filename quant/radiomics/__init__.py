"""Radiomics: IBSI 1 texture and first-order features, and lesion volumetry.

References: Zwanenburg et al., The Image Biomarker Standardisation Initiative, Radiology 2020, and the
IBSI 1 reference manual and digital phantom (482 of 482 reference values in the tests); Lorensen &
Cline 1987 (marching cubes mesh volume).

Public functions:

- ``texture.compute_features(image, mask, spacing, TextureSettings)`` -> ``TextureResult`` with families
  morph, loc, stat, ih, ivh, cm, rlm, szm, dzm, ngt, ngl; ``texture.discretise``;
- ``volumetry.lesion_volume`` (voxel and mesh volume), ``volumetry.percent_change``, ``volumetry.mask_mesh``.
"""
