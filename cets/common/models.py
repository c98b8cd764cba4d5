"""Platform tables every app shares: the audit chain, jobs, the calendar, idempotency keys, notifications."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One write, append-only, chained by hash to the previous entry (tamper evidence).

    A write inserts its entry unsealed, in its own transaction; ``audit_seal`` (a beat task every few
    seconds, and ``verify_audit`` before it checks) then numbers the committed entries in ``seq`` order
    and sets ``entry_hash = sha256(prev_hash + canonical JSON of this entry)``. Sealing after commit
    keeps the chain strictly ordered without a platform-wide lock held by every write until it commits.
    ``verify_audit`` recomputes the sealed chain, so an edited, inserted or deleted row breaks it.
    """

    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    seq = models.BigIntegerField(_("chain position"), null=True, blank=True,
                                 help_text=_("Empty until the entry is sealed into the chain (seconds after commit)."))
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["id"]
        indexes = [
            # Serves "history of this object" in admin and the API.
            models.Index(fields=["object_type", "object_id"], name="common_audit_object_idx"),
            # The sealer's queue: only the few entries not yet sealed.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="common_audit_unsealed_idx"),
            models.Index(fields=["actor"], condition=models.Q(actor__isnull=False), name="common_audit_actor_idx"),
        ]
        # Unique where set: a new entry (unsealed, often by the system) adds nothing to these indexes.
        constraints = [
            models.UniqueConstraint(fields=["seq"], condition=models.Q(seq__isnull=False),
                                    name="common_audit_seq_once"),
            models.UniqueConstraint(fields=["entry_hash"], condition=models.Q(entry_hash__isnull=False),
                                    name="common_audit_hash_once"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """A single row holding the last sealed hash; locking it serialises the sealers, not the writers."""

    last_hash = models.CharField(max_length=64, default="0" * 64)
    last_entry_id = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self):
        return f"head at #{self.last_entry_id}"


class Job(models.Model):
    """Long work (allocation runs, uploads, cycle closing) with progress a person can watch.

    ``heartbeat_at`` is touched while a worker runs the job (and when it is queued), so a job whose
    worker died is recognised by its silence and re-queued by the sweeper, at most ``max_attempts``
    runs; ``attempts`` counts the runs started and fences a run that lost the job (see
    ``cets.common.jobs``). ``error`` keeps the last failure, shown in the admin and on the job page.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=60)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    done = models.BigIntegerField(_("done"), default=0)
    total = models.BigIntegerField(_("total"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=3)
    error = models.CharField(_("last error"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(done__gte=0) & models.Q(total__gte=0), name="common_job_progress_nonneg"
            )
        ]
        # The sweeper reads the unfinished jobs only.
        indexes = [models.Index(fields=["heartbeat_at"], name="common_job_unfinished_idx",
                                condition=models.Q(status__in=["pending", "running"]))]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def is_stale(self) -> bool:
        """Unfinished and silent for longer than ``JOB_STALE_AFTER_SECONDS``: its worker is presumed dead."""
        from .jobs import stale_before

        return (self.status in (self.Status.PENDING, self.Status.RUNNING)
                and (self.heartbeat_at or self.created_at) < stale_before())


class CalendarDay(models.Model):
    """One day of the working and trading calendar.

    Rows come from the chinesecalendar library (public holidays and make-up working days) and can
    be amended by a regulator for a year the library does not know yet (``source = manual``).
    Trading days follow the Shanghai exchanges: working days that fall Monday to Friday (the
    exchanges do not open on weekend make-up working days).
    """

    class Source(models.TextChoices):
        LIBRARY = "library", _("chinesecalendar library")
        MANUAL = "manual", _("amended by a regulator")

    date = models.DateField(_("date"), primary_key=True)
    is_working_day = models.BooleanField(_("working day"))
    is_trading_day = models.BooleanField(_("trading day"))
    holiday_name = models.CharField(_("holiday"), max_length=60, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.LIBRARY)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_trading_day=False) | models.Q(is_working_day=True),
                name="common_calendarday_trading_is_working",
            )
        ]

    def __str__(self):
        return str(self.date)


class IdempotencyRecord(models.Model):
    """The first answer to an API write sent with an ``Idempotency-Key``; repeats replay it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="common_idempotencyrecord_unique_key")
        ]

    def __str__(self):
        return f"{self.method} {self.path} [{self.key}]"


class Notification(models.Model):
    """One message in a user's in-app inbox (and, when the user has an address, one email).

    ``message`` is an untranslated msgid and ``params`` its values, so each reader sees it in their own
    language; the apps create notifications from their services' events through ``cets.common.notifications``.
    """

    class Kind(models.TextChoices):
        DEADLINE = "deadline", _("Deadline")
        REQUEST = "request", _("Request")
        APPROVAL = "approval", _("Approval needed")
        DECISION = "decision", _("Decision")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
                             verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    message = models.CharField(_("message"), max_length=300)
    params = models.JSONField(_("values"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            # Serves the inbox (a user's newest first) and the navbar's unread count.
            models.Index(fields=["user", "-created_at"], name="common_notification_inbox_idx"),
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="common_notification_unread"),
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind} {self.created_at:%Y-%m-%d}"

    @property
    def text(self) -> str:
        """The message in the active language, its values filled in (string values translated too)."""
        params = {key: gettext(value) if isinstance(value, str) and value else value
                  for key, value in self.params.items()}
        try:
            return gettext(self.message) % params
        except (KeyError, TypeError, ValueError):
            return gettext(self.message)
