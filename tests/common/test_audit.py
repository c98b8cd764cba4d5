"""The audit chain: intact after normal writes, and verify_audit names an edited or deleted entry."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from cets.common.audit import audit_record, audit_verify
from cets.common.models import AuditChainHead, AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(national):
    entries = []
    for n in range(4):
        with transaction.atomic():
            entries.append(audit_record(actor=national, action="test.write", object_type="test.thing",
                                        object_id=n, before={"qty": n}, after={"qty": n + 1, "note": "煤"}))
    return entries


def _verify():
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as exc:
        return False, str(exc), err.getvalue()
    return True, out.getvalue(), err.getvalue()


def test_entries_are_chained_and_verify_passes(chain, national):
    assert [e.prev_hash for e in chain[1:]] == [e.entry_hash for e in chain[:-1]]
    assert chain[0].prev_hash == "0" * 64
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_hash, head.last_entry_id) == (chain[-1].entry_hash, chain[-1].pk)
    assert chain[2].actor == national and chain[2].actor_label == "mee"
    ok, out, _ = _verify()
    assert ok and "intact: 4 entries" in out


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
