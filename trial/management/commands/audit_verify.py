"""Walk the audit hash chain: exit 0 with a one-line summary when intact, else name the first bad entry.

First it reports how many committed entries are still unsealed (a process that died between commit and its
after-commit seal leaves some; the beat job `seal_audit_entries` catches them too) and seals them, unless
`--no-seal` is given; then it verifies the sealed chain.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trial.audit_chain import pending_count, seal_pending, verify
from trial.models import AuditEntry


class Command(BaseCommand):
    help = "Seal pending audit entries, then verify the audit trail's hash chain, streaming in chunks."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--chunk", type=int, default=5000, help="Rows read per query (default 5000).")
        parser.add_argument(
            "--no-seal", action="store_true", help="Only report unsealed entries; do not seal them."
        )

    def handle(self, *args, chunk: int, no_seal: bool, **options) -> None:
        if chunk < 1:
            raise CommandError("--chunk must be a positive number of rows.")
        pending = pending_count(AuditEntry)
        if no_seal:
            self.stdout.write(f"Unsealed audit entries: {pending} (not sealed: --no-seal).")
        else:
            sealed = seal_pending(AuditEntry) if pending else 0
            self.stdout.write(f"Unsealed audit entries: {pending} ({sealed} sealed now).")
        checked, fault = verify(AuditEntry, chunk=chunk)
        if fault is not None:
            raise CommandError(f"Audit chain broken after {checked} good entries: {fault}")
        self.stdout.write(f"Audit chain intact: {checked} entries checked.")
