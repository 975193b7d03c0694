"""Check digits agree with python-stdnum; the CSV export and the command."""

from __future__ import annotations

import csv
import io
import random

import pytest
from stdnum import lei as stdnum_lei

from mdm.demo.generator import field_names_for
from mdm.demo.ids import NumberedIds, SalesforceIds, sf_checksum
from mdm.demo.taxids import (corrupt_tax_id, format_tax_id, is_valid_tax_id, make_lei, make_tax_and_registration,
                             numbered_tax_id)

COUNTRIES = ["GB", "DE", "FR", "NL", "IE", "ES", "IT", "BE", "SE", "US"]


@pytest.mark.parametrize("country", COUNTRIES)
def test_generated_tax_ids_are_valid_in_every_spelling_and_corruptions_are_not(country):
    rng = random.Random(country)
    forms = ["Limited", "LLP", "GmbH & Co. KG", "S.A.", "S.L.", ""]
    for _ in range(400):
        vat, reg = make_tax_and_registration(country, rng, rng.choice(forms), rng.choice([None, "SC", "B", "MI"]))
        for style in range(4):
            assert is_valid_tax_id(format_tax_id(vat, country, style), country), (vat, style)
        assert not is_valid_tax_id(corrupt_tax_id(vat, country, rng), country)


@pytest.mark.parametrize("country", [c for c in COUNTRIES if c != "US"])
def test_numbered_tax_ids_are_valid_and_one_per_number(country):
    numbers = sorted({*range(2000), *random.Random(country).sample(range(9_000_000), 3000), 8_999_999})
    ids = [numbered_tax_id(country, n) for n in numbers]
    assert all(is_valid_tax_id(t, country) for t in ids)
    assert len(set(ids)) == len(numbers)
    with pytest.raises(ValueError):
        numbered_tax_id(country, 9_000_000)


def test_stdnum_direct_checks():
    # submodules imported by name: a package attribute exists only once someone imported it
    import stdnum.be.vat
    import stdnum.de.vat
    import stdnum.fr.siren
    import stdnum.fr.tva
    import stdnum.gb.vat
    import stdnum.it.iva
    import stdnum.nl.btw
    import stdnum.se.orgnr
    import stdnum.se.vat
    from stdnum import be, de, fr, gb, it, nl, se

    rng = random.Random(5)
    assert gb.vat.is_valid(make_tax_and_registration("GB", rng)[0])
    assert de.vat.is_valid(make_tax_and_registration("DE", rng)[0])
    vat, siren = make_tax_and_registration("FR", rng)
    assert fr.tva.is_valid(vat) and fr.siren.is_valid(siren)
    assert nl.btw.is_valid(make_tax_and_registration("NL", rng)[0])
    assert it.iva.is_valid(make_tax_and_registration("IT", rng)[0])
    vat, number = make_tax_and_registration("BE", rng)
    assert be.vat.is_valid(vat) and be.vat.is_valid(number)
    vat, org = make_tax_and_registration("SE", rng)
    assert se.vat.is_valid(vat) and se.orgnr.is_valid(org)
    assert all(stdnum_lei.is_valid(make_lei(rng)) for _ in range(200))


def test_ids_unique_and_checksummed():
    sf = SalesforceIds("001", "8d", 99)
    ids = [sf(k) for k in range(20000)]
    assert len(set(ids)) == len(ids) and len(set(i.lower() for i in ids)) == len(ids)  # case-safe
    assert all(len(i) == 18 and i.startswith("0018d0") and sf_checksum(i[:15]) == i[15:] for i in ids)
    erp = NumberedIds("C", 1_200_000, 6, 5)
    nums = [erp(k) for k in range(0, 1_200_000, 97)]
    assert len(set(nums)) == len(nums) and all(len(n) == 8 for n in nums)  # grew to 7 digits


def test_csv_export_and_command(tmp_path):
    from mdm.demo.export import write_demo_csvs
    from mdm.management.commands.generate_demo import Command

    result = write_demo_csvs(tmp_path / "a", n_customers=80, seed=3, progress=False)
    names = set(result["files"])
    assert {"crm_customer.csv", "erp_customer.csv", "psa_customer.csv", "erp_legal_entity.csv",
            "crm_contract.csv", "erp_contract.csv", "psa_project.csv", "truth_customer.csv"} <= names
    for name in names - {"truth_customer.csv"}:
        system, entity_type = name[:-4].split("_", 1)
        with open(tmp_path / "a" / name, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == field_names_for(system, entity_type)
        assert len(rows) - 1 == result["files"][name]
    with open(tmp_path / "a" / "truth_customer.csv", newline="", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    assert list(truth[0])[:4] == ["system", "source_id", "truth_id", "group_id"]
    assert len(truth) == sum(result["files"][f"{s}_customer.csv"] for s in ("crm", "erp", "psa"))

    out = io.StringIO()
    Command(stdout=out).handle(customers=80, seed=3, out=str(tmp_path / "b"), no_progress=True)
    assert "rows/s" in out.getvalue()
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
