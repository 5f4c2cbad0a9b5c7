"""Sites, roles, participants, eligibility, consent, visit schedule, dosing and the audit trail."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    SITE_COORDINATOR = "site_coordinator", "Site coordinator"
    INVESTIGATOR = "investigator", "Investigator"
    RADIOLOGIST = "radiologist", "Radiologist"
    PATHOLOGIST = "pathologist", "Pathologist"
    MONITOR = "monitor", "Monitor"
    DATA_MANAGER = "data_manager", "Data manager"
    SPONSOR = "sponsor", "Sponsor"


ALL_SITES_ROLES = frozenset({Role.DATA_MANAGER, Role.SPONSOR})


class Site(models.Model):
    code = models.CharField(max_length=8, unique=True, help_text='Site code such as "NL01".')
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 country code.")
    time_zone = models.CharField(max_length=64, default="Europe/Amsterdam")
    investigator_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site", "role"], name="unique_membership"),
        ]
        ordering = ["site__code", "role"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.site.code}"


class ClinicalRecord(models.Model):
    """Base of every model holding clinical data: voided, never deleted; audited by services."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    voided = models.BooleanField(default=False, db_index=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Raised by every audited change; an edit must name the version it read.",
    )

    class Meta:
        abstract = True


class Sex(models.TextChoices):
    MALE = "M", "Male"
    FEMALE = "F", "Female"


class AntiPD1Drug(models.TextChoices):
    NIVOLUMAB = "nivolumab", "Nivolumab"
    CETRELIMAB = "cetrelimab", "Cetrelimab"


class ParticipantStatus(models.TextChoices):
    SCREENING = "screening", "Screening"
    ENROLLED = "enrolled", "Enrolled"
    ON_TREATMENT = "on_treatment", "On treatment"
    FOLLOW_UP = "follow_up", "Follow-up"
    COMPLETED = "completed", "Completed"
    SCREEN_FAILURE = "screen_failure", "Screen failure"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Participant(ClinicalRecord):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    sequence_number = models.PositiveIntegerField()
    study_id = models.CharField(max_length=16, unique=True, help_text='Generated per site: "NL01-007".')
    year_of_birth = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    height_cm = models.DecimalField(max_digits=5, decimal_places=1)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, help_text="Weight at baseline.")
    tumour_type = models.CharField(max_length=100)
    planned_anti_pd1 = models.CharField(max_length=16, choices=AntiPD1Drug.choices)
    status = models.CharField(
        max_length=16, choices=ParticipantStatus.choices, default=ParticipantStatus.SCREENING
    )
    status_date = models.DateField()

    class Meta:
        ordering = ["study_id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "sequence_number"], name="unique_participant_number"),
        ]

    def __str__(self) -> str:
        return self.study_id


class ParticipantStatusChange(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="status_history")
    from_status = models.CharField(max_length=16, choices=ParticipantStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ParticipantStatus.choices)
    date = models.DateField()
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status} on {self.date}"


class ProtocolVersion(models.Model):
    version = models.CharField(max_length=16, unique=True)
    effective_date = models.DateField()
    is_current = models.BooleanField(default=False)

    class Meta:
        ordering = ["-effective_date"]

    def __str__(self) -> str:
        return f"Protocol v{self.version}"


class CriterionKind(models.TextChoices):
    INCLUSION = "inclusion", "Inclusion"
    EXCLUSION = "exclusion", "Exclusion"


class EligibilityCriterion(models.Model):
    """An inclusion criterion must be answered yes, an exclusion criterion no."""

    protocol_version = models.ForeignKey(ProtocolVersion, on_delete=models.PROTECT, related_name="criteria")
    code = models.CharField(max_length=8)
    kind = models.CharField(max_length=10, choices=CriterionKind.choices)
    text = models.TextField()
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["protocol_version", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["protocol_version", "code"], name="unique_criterion_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"

    def is_met_by(self, answer: bool) -> bool:
        return answer if self.kind == CriterionKind.INCLUSION else not answer


class EligibilityAnswer(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="eligibility_answers")
    criterion = models.ForeignKey(EligibilityCriterion, on_delete=models.PROTECT)
    answer = models.BooleanField()

    class Meta:
        ordering = ["criterion__order"]

    def __str__(self) -> str:
        return f"{self.criterion.code}: {'yes' if self.answer else 'no'}"


class Consent(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consents")
    consent_date = models.DateField()
    # Not `version`: that name is the record version every ClinicalRecord carries (optimistic locking).
    form_version = models.CharField(max_length=32, help_text="Informed consent form version.")

    class Meta:
        ordering = ["consent_date"]

    def __str__(self) -> str:
        return f"Consent {self.form_version} on {self.consent_date}"


class VisitDefinition(models.Model):
    """One row of the protocol calendar (loaded from trial/protocol/*.json; data, not code)."""

    protocol_version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="visit_definitions"
    )
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32)
    anchor = models.CharField(max_length=32, help_text="enrolment | treatment_start | last_procedure")
    day = models.IntegerField(help_text="Planned day relative to the anchor.")
    window_before = models.PositiveIntegerField(default=0)
    window_after = models.PositiveIntegerField(default=0)
    repeat_every_days = models.PositiveIntegerField(null=True, blank=True)
    repeat_count = models.PositiveIntegerField(default=1)
    is_study_procedure = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)
    expected_forms = models.JSONField(
        default=list,
        blank=True,
        help_text="Casebook forms the visit expects once its window opens (form keys, optionally form:qualifier).",
    )
    # A PET time point of a tracer injection (protocol `pet_time_points`): its scan is checked in hours.
    hours_after_anchor = models.FloatField(
        null=True, blank=True, help_text="PET time point: nominal hours after the tracer injection (anchor)."
    )
    window_hours_before = models.FloatField(null=True, blank=True, help_text="PET time point: hours before.")
    window_hours_after = models.FloatField(null=True, blank=True, help_text="PET time point: hours after.")

    class Meta:
        ordering = ["protocol_version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["protocol_version", "code"], name="unique_visit_definition"),
        ]

    def __str__(self) -> str:
        return self.name


class VisitStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    DONE = "done", "Done"
    MISSED = "missed", "Missed"


class Visit(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="visits")
    definition = models.ForeignKey(VisitDefinition, on_delete=models.PROTECT, null=True, blank=True)
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32)
    planned_date = models.DateField()
    window_before = models.PositiveIntegerField(default=0)
    window_after = models.PositiveIntegerField(default=0)
    actual_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    out_of_window = models.BooleanField(default=False)
    out_of_window_reason = models.TextField(blank=True)
    is_study_procedure = models.BooleanField(default=False)

    class Meta:
        ordering = ["planned_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "code"], name="unique_visit_code"),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.name}"

    @property
    def window_start(self):
        from datetime import timedelta

        return self.planned_date - timedelta(days=self.window_before)

    @property
    def window_end(self):
        from datetime import timedelta

        return self.planned_date + timedelta(days=self.window_after)


class TracerDose(ClinicalRecord):
    """89Zr-Df-crefmirlimab administration: the authority SUV computation cross-checks DICOM against."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="tracer_doses")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="tracer_doses")
    administered_at = models.DateTimeField(help_text="Stored in UTC, entered in the site's time zone.")
    activity_before_mbq = models.DecimalField(max_digits=7, decimal_places=2)
    residual_mbq = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"))
    activity_measured_at = models.DateTimeField(null=True, blank=True)
    mass_dose_mg = models.DecimalField(max_digits=7, decimal_places=3)
    batch = models.CharField(max_length=40)

    class Meta:
        ordering = ["administered_at"]

    def __str__(self) -> str:
        return f"Tracer {self.activity_before_mbq - self.residual_mbq} MBq at {self.administered_at:%Y-%m-%d %H:%M} UTC"

    @property
    def net_injected_mbq(self) -> Decimal:
        return self.activity_before_mbq - self.residual_mbq


class AntiPD1Dose(ClinicalRecord):
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="anti_pd1_doses")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    drug = models.CharField(max_length=16, choices=AntiPD1Drug.choices)
    dose_mg = models.DecimalField(max_digits=7, decimal_places=1)
    administered_at = models.DateTimeField()

    class Meta:
        ordering = ["administered_at"]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} {self.dose_mg} mg at {self.administered_at:%Y-%m-%d %H:%M} UTC"


class AuditAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    VOID = "void", "Void"
    RESTORE = "restore", "Restore"
    SIGN = "sign", "Sign"
    UNSIGN = "unsign", "Signature voided"
    LOCK = "lock", "Lock"
    UNLOCK = "unlock", "Unlock"
    ACCOUNT = "account", "Account or role change"
    LOGIN = "login", "Login"
    LOGOUT = "logout", "Logout"
    LOGIN_FAILED = "login_failed", "Failed login"
    TOKEN_USE = "token_use", "API token used"
    EXPORT = "export", "Export"
    DOWNLOAD = "download", "Download"


class AuditSource(models.TextChoices):
    BROWSER = "browser", "Browser"
    API = "api", "API"
    IMPORT = "import", "Import"
    WORKER = "worker", "Worker"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class AuditEntry(models.Model):
    """Append-only, hash-chained history row (trial/audit_chain.py). On PostgreSQL triggers reject UPDATE,
    DELETE and TRUNCATE."""

    at = models.DateTimeField(db_index=True, help_text="Server time, UTC.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    user_display = models.CharField(max_length=200, blank=True, help_text="Printed name at the time.")
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    app_label = models.CharField(max_length=40)
    model = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    participant_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    site_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(default=dict, help_text="{field: [old, new]}")
    reason = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=AuditSource.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    txid = models.BigIntegerField(null=True, blank=True, help_text="PostgreSQL transaction id (exports).")
    seq = models.PositiveBigIntegerField(
        unique=True,
        null=True,
        editable=False,
        help_text="Position in the hash chain; NULL until sealed after commit.",
    )
    prev_hash = models.CharField(max_length=64, editable=False, help_text="entry_hash of the entry before.")
    entry_hash = models.CharField(max_length=64, editable=False, help_text="SHA-256 of content + prev_hash.")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["app_label", "model", "object_id"]),
            # The change feed's cursor order (exports/changes.py): per model, and across the trail.
            models.Index(fields=["app_label", "model", "txid", "id"], name="trial_audit_feed_idx"),
            models.Index(fields=["txid", "id"], name="trial_audit_txid_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S}Z {self.user_display} {self.action} {self.model} {self.object_id}"


class AuditLatest(models.Model):
    """The latest audit entry of each object, kept by a PostgreSQL trigger on every audit insert (migration
    0009), so the change feed reads one row per object in cursor order instead of skipping superseded entries.
    Not written by Django; empty on SQLite (the feed then reads the audit table)."""

    app_label = models.CharField(max_length=40)
    model = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    entry_id = models.BigIntegerField()
    txid = models.BigIntegerField(null=True)
    site_id = models.BigIntegerField(null=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app_label", "model", "object_id"], name="unique_audit_latest")
        ]
        indexes = [
            models.Index(fields=["app_label", "model", "txid", "entry_id"], name="trial_latest_feed_idx")
        ]

    def __str__(self) -> str:
        return f"{self.app_label}.{self.model} {self.object_id} at entry {self.entry_id}"


class LoginFailure(models.Model):
    username = models.CharField(max_length=150, db_index=True)
    at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.username} at {self.at}"


class TokenScope(models.TextChoices):
    """What part of the API a token may call (besides its user's roles and sites, which always apply)."""

    EXPORT = "export", "Exports: resources, change feeds, ODM/SDTM files, bulk (/api/v1/export/)"
    CAPTURE = "capture", "Capture: clinical records and their writes (the rest of /api/v1/)"


class ApiToken(models.Model):
    """Per-user API token; only a SHA-256 of the key is stored. Issued and revoked by a data manager.

    Every token expires (`expires_at`) and carries the scopes it may call; both are set when it is issued."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    label = models.CharField(max_length=100, blank=True)
    read_only = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    scopes = models.JSONField(default=list, help_text="TokenScope values the token may call.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class IdempotencyKey(models.Model):
    """The first answer to an API create sent with an ``Idempotency-Key``: a replay gets it back, nothing more is made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    body_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(default=bytes)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
