"""``manage.py pk_fit CSV``: exponential fit, half-lives and AUC of one curve (thin wrapper, quant.pk.cli)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from quant.pk import cli as pk_cli
from quant.pk.errors import PkInputError


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a pure CSV computation: no database, URLs or apps checked
    help = "Mono/bi-exponential fit, effective and biological half-lives and AUC of a t_h,value CSV."

    def add_arguments(self, parser) -> None:
        pk_cli.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        try:
            result = pk_cli.run(options)
        except PkInputError as exc:
            raise CommandError(str(exc).splitlines()[0] if str(exc) else "bad input") from exc
        self.stdout.write(pk_cli.format_output(result, as_json=options["json"]))
