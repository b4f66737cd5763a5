"""The audit hash chain: canonical hashing, concurrent appends, tamper detection."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from apps.auth_app.audit import (
    GENESIS_HASH,
    audit_append,
    audit_chain_verify,
    canonical_json,
    normalize_details,
    row_hash,
)
from apps.auth_app.models import AuditLog


def _append_many(count: int) -> list[AuditLog]:
    return [
        audit_append(action="test.event", details={"n": n}, ip_address="10.0.0.1")
        for n in range(count)
    ]


@pytest.mark.django_db
def test_rows_link_to_their_predecessor() -> None:
    first, second = _append_many(2)
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.current_hash
    stored = AuditLog.objects.get(pk=second.pk)
    assert stored.current_hash == row_hash(first.current_hash, stored)
    assert audit_chain_verify().rows_checked == 2


@pytest.mark.django_db
def test_canonical_json_is_sorted_compact_utc_and_fixed_decimal() -> None:
    row = AuditLog(
        id=7,
        tenant_id=uuid.UUID("00000000-0000-0000-0000-000000000001"),
        user_id=None,
        action="a",
        resource_type="r",
        resource_id="1",
        details=normalize_details(
            {"z": Decimal("1.50"), "a": 0.1, "big": 1e20, "when": datetime(2025, 1, 2, tzinfo=UTC)}
        ),
        ip_address="::1",
        created_at=datetime(2025, 1, 31, 12, 0, 0, 1, tzinfo=UTC),
    )
    assert canonical_json(row) == (
        '{"action":"a","created_at":"2025-01-31T12:00:00.000001Z",'
        '"details":{"a":"0.1","big":"100000000000000000000","when":"2025-01-02T00:00:00.000000Z",'
        '"z":"1.50"},"id":7,"ip_address":"::1","resource_id":"1","resource_type":"r",'
        '"tenant_id":"00000000-0000-0000-0000-000000000001","user_id":null}'
    )


@pytest.mark.django_db
def test_details_with_numbers_survive_storage_and_verify() -> None:
    audit_append(action="x", details={"price": Decimal("0.4500"), "ratio": 1 / 3, "n": 3})
    assert audit_chain_verify().is_intact


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_parallel_connections_keep_one_chain() -> None:
    threads_count, per_thread = 10, 12
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            for n in range(per_thread):
                audit_append(action="concurrent", details={"thread": index, "n": n})
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditLog.objects.count() == threads_count * per_thread
    report = audit_chain_verify()
    assert (report.is_intact, report.rows_checked) == (True, 120)
    previous = list(AuditLog.objects.order_by("id").values_list("previous_hash", flat=True))
    assert len(set(previous)) == 120  # no two rows claim the same predecessor: no fork


def _raw(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_command_reports_ok(capsys) -> None:
    _append_many(3)
    call_command("verify_audit_chain")
    assert capsys.readouterr().out == "OK: 3 audit rows verified\n"


@pytest.mark.django_db
def test_command_detects_an_edited_row() -> None:
    rows = _append_many(4)
    _raw("UPDATE audit_logs SET details = %s WHERE id = %s", ['{"n": 99}', rows[2].id])
    with pytest.raises(CommandError) as error:
        call_command("verify_audit_chain")
    assert str(error.value) == (
        f"BROKEN at audit row {rows[2].id}: current_hash does not match the row's content "
        "(2 rows verified before it)"
    )


@pytest.mark.django_db
def test_command_detects_a_deleted_row() -> None:
    rows = _append_many(4)
    _raw("DELETE FROM audit_logs WHERE id = %s", [rows[1].id])
    report = audit_chain_verify()
    assert report.broken_row_id == rows[2].id
    assert report.reason.startswith("previous_hash does not match")
    with pytest.raises(CommandError):
        call_command("verify_audit_chain")


@pytest.mark.django_db
def test_command_detects_swapped_rows() -> None:
    rows = _append_many(4)
    # Swap the full contents (hashes included) of rows 1 and 2 by exchanging their ids.
    _raw("UPDATE audit_logs SET id = -1 WHERE id = %s", [rows[1].id])
    _raw("UPDATE audit_logs SET id = %s WHERE id = %s", [rows[1].id, rows[2].id])
    _raw("UPDATE audit_logs SET id = %s WHERE id = -1", [rows[2].id])
    report = audit_chain_verify()
    assert report.broken_row_id == rows[1].id
    assert report.rows_checked == 1


@pytest.mark.django_db
def test_command_detects_a_recomputed_hash_on_an_edited_row() -> None:
    # An attacker who rewrites a row and recomputes its hash still breaks the next link.
    rows = _append_many(3)
    tampered = AuditLog.objects.get(pk=rows[1].pk)
    tampered.details = {"n": 1000}
    new_hash = row_hash(tampered.previous_hash, tampered)
    _raw(
        "UPDATE audit_logs SET details = %s, current_hash = %s WHERE id = %s",
        ['{"n": 1000}', new_hash, rows[1].id],
    )
    assert audit_chain_verify().broken_row_id == rows[2].id
