"""The audit chain: sealed after commit, intact after normal writes, and verify_audit names an edited or deleted
entry."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from cets.common.audit import audit_record, audit_seal, audit_seal_all, audit_verify
from cets.common.models import AuditChainHead, AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(national):
    entries = []
    for n in range(4):
        with transaction.atomic():
            entries.append(audit_record(actor=national, action="test.write", object_type="test.thing",
                                        object_id=n, before={"qty": n}, after={"qty": n + 1, "note": "煤"}))
    assert audit_seal_all() == 4
    return list(AuditEntry.objects.order_by("seq"))


def _verify():
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as exc:
        return False, str(exc), err.getvalue()
    return True, out.getvalue(), err.getvalue()


def test_entries_are_chained_and_verify_passes(chain, national):
    assert [e.seq for e in chain] == [1, 2, 3, 4]
    assert [e.prev_hash for e in chain[1:]] == [e.entry_hash for e in chain[:-1]]
    assert chain[0].prev_hash == "0" * 64
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_hash, head.last_entry_id) == (chain[-1].entry_hash, chain[-1].pk)
    assert chain[2].actor == national and chain[2].actor_label == "mee"
    ok, out, _ = _verify()
    assert ok and "intact: 4 entries (0 sealed just now)" in out


def test_writes_insert_unsealed_entries_and_the_sealer_chains_them_in_order(chain, national):
    with transaction.atomic():
        late = audit_record(actor=national, action="test.write", object_type="test.thing", object_id=9)
    stored = AuditEntry.objects.get(pk=late.pk)
    assert (stored.seq, stored.entry_hash, stored.prev_hash) == (None, None, "")
    assert audit_verify() == []  # committed but not sealed yet is not tampering
    assert audit_seal() == 1 and audit_seal() == 0
    stored.refresh_from_db()
    assert stored.seq == 5 and stored.prev_hash == chain[-1].entry_hash
    assert AuditChainHead.objects.get(pk=1).last_seq == 5
    ok, out, _ = _verify()
    assert ok and "intact: 5 entries" in out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_entry_committed_after_a_later_one_is_sealed_in_the_next_batch(national):
    """Ids are handed out before commit: the sealer chains what is committed and picks up the rest later."""
    import threading

    started, release = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            audit_record(actor=None, action="test.slow", object_type="t", object_id=1)
            started.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    started.wait(10)
    with transaction.atomic():
        audit_record(actor=None, action="test.fast", object_type="t", object_id=2)
    assert audit_seal() == 1
    release.set()
    thread.join()
    assert audit_seal() == 1
    chain = list(AuditEntry.objects.order_by("seq").values_list("action", "seq"))
    assert chain == [("test.fast", 1), ("test.slow", 2)]
    assert audit_verify() == []


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction(national):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=national, action="test.write", object_type="t", object_id=1)
    assert AuditEntry.objects.count() == 0


def test_raw_edit_of_after_is_detected_naming_the_entry(chain):
    with connection.cursor() as cur:
        cur.execute("UPDATE common_auditentry SET after = %s WHERE id = %s", ['{"qty": 1000}', chain[1].pk])
    ok, message, err = _verify()
    assert not ok
    assert f"entry #{chain[1].pk}: contents do not match its hash (edited)" in err
    assert "1 problem(s)" in message
    assert f"#{chain[2].pk}" not in err  # the later entries still chain to the stored hash


def test_deleting_a_middle_row_is_detected(chain):
    AuditEntry.objects.filter(pk=chain[1].pk).delete()
    ok, _, err = _verify()
    assert not ok
    assert f"entry #{chain[2].pk}: previous hash does not match" in err


def test_deleting_the_last_row_is_detected(chain):
    AuditEntry.objects.filter(pk=chain[-1].pk).delete()
    problems = audit_verify()
    assert problems == [f"chain head points at #{chain[-1].pk}, the last entry is #{chain[-2].pk} "
                        f"(entries at the end were deleted)"]
    ok, _, err = _verify()
    assert not ok and f"chain head points at #{chain[-1].pk}" in err


def test_entity_services_write_to_the_chain(api, hubei):
    from tests import factories as f

    payload = {"name": "湖北审计测试公司", "credit_code": f.credit_code("420100"), "province": "42",
               "city": "420100", "inclusion_year": 2021}
    assert api(hubei).post("/api/v1/entities/", payload, format="json").status_code == 201
    assert AuditEntry.objects.filter(action="entity.create", actor=hubei).count() == 1
    assert audit_verify() == []
