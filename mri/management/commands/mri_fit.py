"""``manage.py mri_fit``: voxel-wise DCE/IVIM/DKI fit of one MR DICOM series, medians per VOI (quant.mri.cli)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from quant.mri import cli as mri_cli


class Command(BaseCommand):
    help = "Fit tofts, extended_tofts, 2cxm, ivim or dki voxel-wise on an MR DICOM series; medians per VOI."

    def add_arguments(self, parser) -> None:
        mri_cli.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        try:
            outcome = mri_cli.run(options)
        except mri_cli.EXPECTED_ERRORS as exc:
            raise CommandError(mri_cli.one_line(exc)) from exc
        self.stdout.write(mri_cli.format_output(outcome, as_json=options["json"]))
