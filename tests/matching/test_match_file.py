"""``manage.py match_file``: the CSV contract, and clear errors."""

from __future__ import annotations

import csv
import json

import pytest
from django.core.management import CommandError, call_command

from mdm.matching.synthetic import customer_rows

COLUMNS = ["id", "legal_name", "trading_name", "tax_id", "website", "phone", "address_line", "postcode", "city",
           "country"]
# Extra keys (allowed by the contract) tell the engine that website, phone
# and address are shared by a company's group and to read names in their light.
SPEC = {"fields": [
    {"name": "legal_name", "type": "org_name", "alternatives": ["trading_name"], "given": "contact"},
    {"name": "tax_id", "type": "tax_id"},
    {"name": "website", "type": "domain", "combine": "contact"},
    {"name": "phone", "type": "phone", "combine": "contact"},
    {"name": "address_line", "type": "address", "postcode": "postcode", "city": "city", "combine": "contact"},
    {"name": "country", "type": "exact"},
]}


@pytest.fixture
def files(tmp_path):
    rows = list(customer_rows(150, seed=3))
    data = tmp_path / "in.csv"
    with open(data, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    return data, spec, tmp_path / "pairs.csv", rows


def test_match_file_writes_scored_pairs_at_or_above_review(files):
    data, spec, out, rows = files
    call_command("match_file", str(data), "--spec", str(spec), "--out", str(out), "--no-progress")
    with open(out, newline="", encoding="utf-8") as fh:
        pairs = list(csv.DictReader(fh))
    assert pairs and list(pairs[0]) == ["id_a", "id_b", "score", "decision"]
    assert {p["decision"] for p in pairs} <= {"match", "review"}
    truth = {r["id"]: r["truth_id"] for r in rows}
    matches = [p for p in pairs if p["decision"] == "match"]
    right = sum(truth[p["id_a"]] == truth[p["id_b"]] for p in matches)
    assert right / len(matches) > 0.95
    assert all(0.0 <= float(p["score"]) <= 1.0 for p in pairs)


def test_match_file_honours_spec_thresholds_and_not_duplicates(files, tmp_path):
    data, spec, out, _ = files
    spec.write_text(json.dumps({**SPEC, "thresholds": {"match": 0.99, "review": 0.5}}))
    call_command("match_file", str(data), "--spec", str(spec), "--out", str(out), "--no-progress")
    with open(out, newline="", encoding="utf-8") as fh:
        pairs = list(csv.DictReader(fh))
    assert all(float(p["score"]) >= 0.5 for p in pairs)
    first = pairs[0]
    banned = tmp_path / "not_dup.csv"
    banned.write_text(f"id_a,id_b\n{first['id_b']},{first['id_a']}\n")
    call_command("match_file", str(data), "--spec", str(spec), "--out", str(out), "--no-progress",
                 "--not-duplicates", str(banned))
    with open(out, newline="", encoding="utf-8") as fh:
        again = {frozenset((p["id_a"], p["id_b"])) for p in csv.DictReader(fh)}
    assert frozenset((first["id_a"], first["id_b"])) not in again


@pytest.mark.parametrize("spec_text, message", [
    ("{not json", "not valid JSON"),
    ('{"fields": []}', "non-empty 'fields'"),
    ('{"fields": [{"name": "legal_name", "type": "banana"}]}', "type 'banana'"),
    ('{"fields": [{"name": "nowhere", "type": "text"}]}', "lacks the column"),
    ('{"fields": [{"name": "legal_name", "type": "text"}], "thresholds": {"match": 0.2, "review": 0.9}}',
     "review <= match"),
    ('{"fields": [{"name": "legal_name", "type": "text"}], "thresholds": {"match_bits": 5, "review_bits": 9}}',
     "review_bits <= match_bits"),
])
def test_bad_specs_are_command_errors_with_a_reason(files, spec_text, message):
    data, spec, out, _ = files
    spec.write_text(spec_text)
    with pytest.raises(CommandError, match=message):
        call_command("match_file", str(data), "--spec", str(spec), "--out", str(out), "--no-progress")


def test_bad_csv_files_are_command_errors_with_a_reason(files, tmp_path):
    data, spec, out, _ = files
    with pytest.raises(CommandError, match="no id column 'ref'"):
        call_command("match_file", str(data), "--spec", str(spec), "--out", str(out), "--id-column", "ref",
                     "--no-progress")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("match_file", str(tmp_path / "missing.csv"), "--spec", str(spec), "--out", str(out))
    dupes = tmp_path / "dupes.csv"
    dupes.write_text("id,legal_name,trading_name,tax_id,website,phone,address_line,postcode,city,country\n"
                     "1,Acme,,,,,,,,GB\n1,Acme,,,,,,,,GB\n")
    with pytest.raises(CommandError, match="unique"):
        call_command("match_file", str(dupes), "--spec", str(spec), "--out", str(out), "--no-progress")


def test_a_parent_column_keeps_a_row_and_its_parent_apart(files, tmp_path):
    data, spec, out, _ = files
    call_command("match_file", str(data), "--spec", str(spec), "--out", str(out), "--no-progress")
    with open(out, newline="", encoding="utf-8") as fh:
        first = next(p for p in csv.DictReader(fh) if p["decision"] == "match")
    with open(data, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:  # the second row of the pair names the first as its parent
        r["parent_id"] = first["id_a"] if r["id"] == first["id_b"] else ""
    linked = tmp_path / "with_parents.csv"
    with open(linked, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, [*COLUMNS, "parent_id"])
        writer.writeheader()
        writer.writerows(rows)
    spec.write_text(json.dumps({**SPEC, "parent": "parent_id"}))
    call_command("match_file", str(linked), "--spec", str(spec), "--out", str(out), "--no-progress")
    with open(out, newline="", encoding="utf-8") as fh:
        pairs = {frozenset((p["id_a"], p["id_b"])) for p in csv.DictReader(fh)}
    assert pairs and frozenset((first["id_a"], first["id_b"])) not in pairs
    spec.write_text(json.dumps({**SPEC, "parent": "no_such_column"}))
    with pytest.raises(CommandError, match="parent column 'no_such_column'"):
        call_command("match_file", str(linked), "--spec", str(spec), "--out", str(out), "--no-progress")
