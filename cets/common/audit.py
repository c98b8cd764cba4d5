"""The tamper-evident audit trail: every write appends an entry chained by hash.

Appends are serialised by locking the single chain-head row until commit, so services call
``audit_record`` as their last step: the lock is then held only for the commit itself.
"""

import hashlib
import json

from django.db import transaction
from django.utils import timezone

from .models import AuditChainHead, AuditEntry

GENESIS = "0" * 64


def _normalise(value):
    """JSON-round-trip a value so the hash is computed over exactly what the database stores."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def entry_digest(entry: AuditEntry) -> str:
    payload = {
        "created_at": entry.created_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": str(entry.object_id),
        "before": entry.before,
        "after": entry.after,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((entry.prev_hash + canonical).encode()).hexdigest()


def audit_record(*, actor, action: str, obj=None, object_type: str = "", object_id="",
                 before=None, after=None) -> AuditEntry:
    """Append one entry for a write made in the current transaction (who, what, before/after)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the write it records")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    actor_obj = actor if getattr(actor, "pk", None) else None
    entry = AuditEntry(
        created_at=timezone.now(),
        actor=actor_obj,
        actor_label=(actor_obj.get_username() if actor_obj else str(actor or "system"))[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_normalise(before),
        after=_normalise(after),
        prev_hash=head.last_hash,
    )
    entry.entry_hash = entry_digest(entry)
    entry.save()
    AuditChainHead.objects.filter(pk=1).update(last_hash=entry.entry_hash, last_entry_id=entry.pk)
    return entry


def audit_verify(batch_size: int = 5000) -> list[str]:
    """Recompute the chain; return the problems found (empty list: intact)."""
    problems: list[str] = []
    prev = GENESIS
    last_id = 0
    qs = AuditEntry.objects.order_by("id")
    for entry in qs.iterator(chunk_size=batch_size):
        if entry.prev_hash != prev:
            problems.append(f"entry #{entry.pk}: previous hash does not match (a row before it was deleted "
                            f"or edited)")
        if entry_digest(entry) != entry.entry_hash:
            problems.append(f"entry #{entry.pk}: contents do not match its hash (edited)")
        prev = entry.entry_hash
        last_id = entry.pk
    head = AuditChainHead.objects.filter(pk=1).first()
    if head and (head.last_hash != prev or head.last_entry_id != last_id):
        problems.append(f"chain head points at #{head.last_entry_id}, the last entry is #{last_id} "
                        f"(entries at the end were deleted)")
    return problems
