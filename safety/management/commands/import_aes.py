"""Import AEs from a CSV through the same service (and rules) as the form and the API."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from safety import services
from safety.models import CtcaeTerm
from trial.audit import AuditContext
from trial.models import AuditSource, Participant

# Optional column: why a row that looks like a duplicate of a live AE (same participant, term, onset and
# grade) is a separate AE; without it such a row is refused and nothing is imported.
CONFIRM_COLUMN = "confirm_duplicate_reason"
BOOL_FIELDS = {
    "ongoing",
    "serious",
    "immune_related",
    "sae_death",
    "sae_life_threatening",
    "sae_hospitalisation",
    "sae_disability",
    "sae_congenital_anomaly",
    "sae_other_important",
}


def row_values(row: dict[str, str]) -> dict:
    """CSV text -> service values (term by MedDRA code)."""
    import datetime as dt

    skip = {"participant", "meddra_code", CONFIRM_COLUMN}
    values: dict = {k: (v or "").strip() for k, v in row.items() if k not in skip}
    for key in BOOL_FIELDS & values.keys():
        values[key] = values[key].lower() in {"1", "true", "yes", "y"}
    if "grade" in values:
        values["grade"] = int(values["grade"]) if values["grade"].isdigit() else values["grade"]
    if values.get("death_date"):
        values["death_date"] = dt.date.fromisoformat(values["death_date"])
    else:
        values["death_date"] = None
    code = (row.get("meddra_code") or "").strip()
    term = CtcaeTerm.objects.filter(
        version=values.pop("ctcae_version", "") or "5.0", meddra_code=int(code) if code.isdigit() else -1
    ).first()
    if term is None:
        raise ValidationError({"meddra_code": f"No CTCAE term has MedDRA code {code!r}."})
    values["term"] = term
    return values


def _line_of(data: bytes | str, index: int) -> int:
    return data[:index].count(b"\n" if isinstance(data, bytes) else "\n") + 1


def read_rows(path: Path) -> list[dict[str, str]]:
    """CSV rows of a UTF-8 file (a BOM is allowed); a NUL byte or non-UTF-8 text is a one-line CommandError."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise CommandError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8."
        ) from None
    if "\x00" in text:
        raise CommandError(
            f"{path}: line {_line_of(text, text.index(chr(0)))}: NUL byte; not a text CSV file."
        )
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise CommandError(f"{path}: {exc}") from None


class Command(BaseCommand):
    help = (
        "Import AEs from CSV (participant = study id, meddra_code, AE fields, optional "
        "confirm_duplicate_reason); all rows or none."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_path", type=Path)
        parser.add_argument(
            "--user", required=True, help="Username of the coordinator the import is done as."
        )

    def handle(self, *args, csv_path: Path, user: str, **options):
        account = get_user_model().objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"No user {user!r}.")
        if not csv_path.exists():
            raise CommandError(f"File not found: {csv_path}")
        ctx = AuditContext.system(source=AuditSource.IMPORT, user=account)
        rows = read_rows(csv_path)
        errors: list[str] = []
        with transaction.atomic():
            for line, row in enumerate(rows, start=2):
                try:
                    participant = Participant.objects.get(study_id=(row.get("participant") or "").strip())
                    services.ae_create(
                        ctx=ctx,
                        participant=participant,
                        values=row_values(row),
                        confirm_duplicate_reason=(row.get(CONFIRM_COLUMN) or "").strip(),
                    )
                except Participant.DoesNotExist:
                    errors.append(f"line {line}: participant: unknown study id {row.get('participant')!r}")
                except ValidationError as exc:
                    detail = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
                    for field, messages in detail.items():
                        errors.extend(f"line {line}: {field}: {m}" for m in messages)
                except (PermissionDenied, ValueError) as exc:
                    errors.append(f"line {line}: {exc}")
            if errors:
                transaction.set_rollback(True)
        if errors:
            raise CommandError("Nothing imported:\n" + "\n".join(errors))
        self.stdout.write(f"Imported {len(rows)} AE(s) from {csv_path.name}.")
