"""Pure computation for the CD8-PET trial: the ground floor the Django apps stand on.

No module here imports Django, DRF, Celery or any app (``lint-imports`` enforces it), so every engine can
be tested and benchmarked on arrays, dicts and files alone.

Subpackages (each ``__init__`` names its references and public functions):

- ``quant.dicom``: finding, reading and validating series; geometry; de-identification (DICOM PS3.15).
- ``quant.pet``: SUV (QIBA), VOI masks and metrics, MIP, trial cross-checks, the synthetic 89Zr phantom.
- ``quant.mri``: AIFs, DCE models and fits (OSIPI), semi-quantitative and voxel-wise DCE, IVIM, DKI.
- ``quant.radiomics``: IBSI 1 texture features and volumetry.
- ``quant.response``: RECIST 1.1 (Eisenhauer 2009) and iRECIST (Seymour 2017).
- ``quant.errors``: every error type raised here; messages are one readable line.

Layers: ``pet | mri | radiomics | response`` over ``dicom`` over ``errors``; no cycles.
"""
