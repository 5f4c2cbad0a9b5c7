from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from safety.models import AdverseEvent, AeSignature, SaeNotification

pytestmark = pytest.mark.django_db
# The trial and the safety demo only (tests/trial/test_demo.py loads the whole demo).
NOT_SAFETY = ("lesions", "imaging", "kinetics", "pathology", "casebook", "exports")


def test_the_demo_adds_realistic_aes_saes_iraes_and_signatures_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", "--skip", *NOT_SAFETY, stdout=StringIO())
    aes = AdverseEvent.objects.filter(voided=False)
    assert aes.count() >= 20
    assert aes.filter(serious=True).count() >= 2 and aes.filter(immune_related=True).exists()
    assert aes.filter(previous__isnull=False).exists()  # a grade change course
    assert AeSignature.objects.filter(voided=False).count() >= 3
    assert SaeNotification.objects.filter(sent_at__isnull=False).count() == aes.filter(serious=True).count()
    assert set(aes.values_list("ctcae_version", flat=True)) == {"5.0"}
    before = (AdverseEvent.objects.count(), AeSignature.objects.count())
    call_command("load_demo", "--skip", *NOT_SAFETY, stdout=StringIO())
    assert (AdverseEvent.objects.count(), AeSignature.objects.count()) == before
