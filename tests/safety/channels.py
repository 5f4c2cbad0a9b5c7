"""Submit AE values through the form, the API or the import command and collect field errors."""

from __future__ import annotations

import csv
import re
from typing import Any

from django.core.management import CommandError, call_command

from tests.safety.conftest import api_data, form_data

IMPORT_COLUMNS = [
    "participant",
    "meddra_code",
    "verbatim_term",
    "grade",
    "onset_date",
    "end_date",
    "ongoing",
    "serious",
    "sae_death",
    "sae_life_threatening",
    "sae_hospitalisation",
    "sae_disability",
    "sae_congenital_anomaly",
    "sae_other_important",
    "outcome",
    "death_date",
    "action_anti_pd1",
    "immune_related",
    "rel_tracer",
    "rel_pet",
    "rel_biopsy",
    "rel_anti_pd1",
    "description",
    "out_of_window_reason",
]


def via_form(client, participant, values: dict[str, Any]) -> tuple[int, dict[str, list[str]]]:
    response = client.post(f"/safety/participants/{participant.pk}/aes/new/", form_data(values))
    if response.status_code == 302:
        return 201, {}
    form = response.context["form"]
    return response.status_code, {k: list(v) for k, v in form.errors.items()}


def via_api(client, participant, values: dict[str, Any]) -> tuple[int, dict[str, list[str]]]:
    response = client.post(
        "/api/v1/adverse-events/", api_data(values, participant.study_id), content_type="application/json"
    )
    body = response.json()
    return response.status_code, ({} if response.status_code == 201 else body["errors"])


def via_import(
    tmp_path, username: str, participant, values: dict[str, Any]
) -> tuple[int, dict[str, list[str]]]:
    path = tmp_path / "aes.csv"
    row = {
        k: ("1" if v is True else "0" if v is False else "" if v is None else str(v))
        for k, v in api_data(values, participant.study_id).items()
    }
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=IMPORT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerow({c: row.get(c, "") for c in IMPORT_COLUMNS})
    try:
        call_command("import_aes", str(path), user=username)
    except CommandError as exc:
        errors: dict[str, list[str]] = {}
        for line in str(exc).splitlines()[1:]:
            match = re.match(r"line \d+: (\w+): (.*)", line)
            if match:
                errors.setdefault(match.group(1), []).append(match.group(2))
        return 400, errors
    return 201, {}
