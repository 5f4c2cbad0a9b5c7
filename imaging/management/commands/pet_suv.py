"""``manage.py pet_suv``: SUV and VOI metrics of one PET series (thin wrapper over quant.pet.cli)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from quant.pet import cli as pet_cli
from quant.pet.crosscheck import BlockLimits


class Command(BaseCommand):
    help = "SUVbw factor, decay time and VOI metrics of one 89Zr PET series (see quant/pet/cli.py)."

    def add_arguments(self, parser) -> None:
        pet_cli.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        options["block_limits"] = BlockLimits(
            injection_days=settings.PET_BLOCK_INJECTION_DAYS, weight_pct=settings.PET_BLOCK_WEIGHT_PCT
        )
        try:
            payload = pet_cli.run(options)
        except pet_cli.EXPECTED_ERRORS as exc:
            raise CommandError(pet_cli.one_line(exc)) from exc
        self.stdout.write(pet_cli.format_output(payload, as_json=options["json"]))
