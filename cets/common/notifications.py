"""Notifications: the in-app inbox and its emails (console backend in the demo).

The apps call ``notify`` from their services when something needs a person (a deadline, a request, an
approval) or tells them an outcome (a decision). One call stores any number of notifications in one
``bulk_create`` and sends the emails after commit, so a bulk path (the daily reminders) costs a fixed
number of queries whatever the number of rows. Messages are msgids (mark them with ``gettext_noop``) with
their values (a string value is translated too: pass a label through ``msgid``), translated when read:
each person reads them in their own language.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation

from .models import Notification

Kind = Notification.Kind


@dataclass(frozen=True)
class Note:
    """One message to some users: ``recipients`` are objects with ``pk``, ``email`` and ``preferred_language``."""

    recipients: list
    kind: str
    message: str
    params: dict = field(default_factory=dict)
    url: str = ""


def msgid(label) -> str:
    """The untranslated text of a lazy label (a choice's label), for ``params``: it is translated when read."""
    with translation.override(None):
        return str(label)


def notify(notes: list[Note]) -> int:
    """Store every note's notifications in one insert and email them after commit; returns how many.

    A recipient named twice in one note is notified once."""
    rows, mails = [], []
    for note in notes:
        seen = set()
        for user in note.recipients:
            if user.pk in seen:
                continue
            seen.add(user.pk)
            rows.append(Notification(user_id=user.pk, kind=note.kind, message=note.message, params=note.params,
                                     url=note.url))
            if getattr(user, "email", ""):
                mails.append((user.email, getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE, rows[-1]))
    if not rows:
        return 0
    Notification.objects.bulk_create(rows, batch_size=2000)
    if mails:
        transaction.on_commit(lambda: _send(mails))
    return len(rows)


def _send(mails: list[tuple[str, str, Notification]]) -> None:
    """One email per notification, in its reader's language."""
    by_language = defaultdict(list)
    for address, language, row in mails:
        by_language[language].append((address, row))
    messages = []
    for language, items in by_language.items():
        with translation.override(language):
            for address, row in items:
                body = row.text + (f"\n\n{settings.SITE_URL}{row.url}" if row.url else "")
                messages.append((f"CETS · {row.get_kind_display()}", body, settings.DEFAULT_FROM_EMAIL, [address]))
    send_mass_mail(messages, fail_silently=True)


# ---- reads and the reader's own writes ----------------------------------------------------------------

def notifications_for(user) -> QuerySet[Notification]:
    """The user's own inbox, newest first; nobody reads another person's notifications."""
    if not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return Notification.objects.filter(user=user)


def unread_count(user) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's unread notifications read (``ids``: only those; None: all). Returns how many changed.

    Another user's ids change nothing (the filter is the user's own inbox)."""
    qs = notifications_for(user).filter(read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())

