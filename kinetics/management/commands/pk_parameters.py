"""``manage.py pk_parameters [--participant STUDY_ID ...]``: store the PK parameters of every (or the named)
participant's curves (thin wrapper over kinetics.services.pk_parameters_refresh; audited as the system)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kinetics import services
from trial.audit import AuditContext
from trial.models import AuditSource, Participant


class Command(BaseCommand):
    help = "Recompute and store (audited) the PK parameters that SDTM PP and the sponsor API export."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--participant", action="append", default=[], help="Study id (repeatable).")

    def handle(self, *args, **options) -> None:
        people = Participant.objects.filter(voided=False).order_by("study_id")
        if options["participant"]:
            people = people.filter(study_id__in=options["participant"])
            missing = sorted(set(options["participant"]) - set(people.values_list("study_id", flat=True)))
            if missing:
                raise CommandError(f"No participant {', '.join(missing)}.")
        ctx = AuditContext.system(source=AuditSource.SYSTEM)
        totals = {"created": 0, "updated": 0, "voided": 0, "unchanged": 0}
        for person in people:
            try:
                counts = services.pk_parameters_refresh(ctx=ctx, participant=person)
            except ValidationError as exc:  # e.g. the participant's data is locked
                raise CommandError(f"{person.study_id}: {' '.join(exc.messages)}") from exc
            for k, v in counts.items():
                totals[k] += v
        self.stdout.write(", ".join(f"{k} {v}" for k, v in totals.items()))
