"""CSV import: progress, row-numbered report, bad rows never stop good rows."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from mdm.models import Customer, SourceRecord


def write(tmp_path, text):
    path = tmp_path / "erp.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_good_rows_load_and_bad_rows_are_reported_by_row_number(seeded, tmp_path):
    path = write(tmp_path, "customer_no,customer_name,country_code,currency\n"
                           "C1,Alpha Ltd,GB,GBP\n"
                           "C2,Beta GmbH,XX,EUR\n"
                           "C3,,GB,GBP\n"
                           "C4,Delta BV,NL,EURO\n"
                           "C5,Epsilon SA,FR,EUR\n")
    out = io.StringIO()
    call_command("import_records", "erp", "customer", path, "--no-progress", "--errors", str(tmp_path / "r.csv"),
                 stdout=out)
    text = out.getvalue()
    assert "created: 2" in text and "rejected: 3" in text
    assert "row 3: country_code:" in text and "row 4: customer_name: required" in text
    assert "row 5: currency:" in text
    assert set(SourceRecord.objects.values_list("source_id", flat=True)) == {"C1", "C5"}
    assert Customer.objects.count() == 2
    report = (tmp_path / "r.csv").read_text()
    assert report.splitlines()[0] == "row,field,message" and len(report.splitlines()) == 4


def test_reimporting_the_same_file_changes_nothing(seeded, tmp_path):
    path = write(tmp_path, "customer_no,customer_name,country_code\nC1,Alpha Ltd,GB\n")
    call_command("import_records", "erp", "customer", path, "--no-progress", stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_records", "erp", "customer", path, "--no-progress", stdout=out)
    assert "unchanged: 1" in out.getvalue()
    assert SourceRecord.history.count() == 1


def test_a_file_without_the_id_column_is_refused_clearly(seeded, tmp_path):
    path = write(tmp_path, "name\nAlpha\n")
    with pytest.raises(CommandError, match="no 'customer_no' column"):
        call_command("import_records", "erp", "customer", path, "--no-progress")


def test_strict_mode_exits_non_zero_when_a_row_was_rejected(seeded, tmp_path):
    path = write(tmp_path, "customer_no,customer_name,country_code\nC1,Alpha,ZZ\n")
    with pytest.raises(SystemExit) as exc:
        call_command("import_records", "erp", "customer", path, "--no-progress", "--strict", stdout=io.StringIO())
    assert exc.value.code == 2
