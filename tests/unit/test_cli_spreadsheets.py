"""``ctiserver import customers`` and ``ctiserver export`` as an admin runs them (a real
process, a real SQLite file)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.unit.test_cli import ctiserver
from tests.unit.test_customer_import import CHINESE


def test_import_reports_rejected_rows_exits_1_and_a_second_run_adds_nothing(tmp_path: Path) -> None:
    source = tmp_path / "客户.csv"
    source.write_bytes(CHINESE.encode("gb18030"))  # no catalogue: every model is accepted
    done = ctiserver("import", "customers", str(source), tmp_path=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:-1] == [
        "line 4: missing phone",
        'line 5: bad date "2023-13-45"',
        'line 6: duplicate: serial "AC001" is on line 2',
        'line 7: invalid phone "12345"',
        'line 11: duplicate: this customer\'s "KFR-35GW" is on line 10',
    ]
    assert lines[-1] == (
        "imported 5 row(s): 4 customer(s), 5 phone(s), 5 product(s) added, 0 row(s) already there; "
        "rejected 5 row(s)"
    )
    again = ctiserver("import", "customers", str(source), tmp_path=tmp_path)
    assert again.returncode == 1
    assert again.stdout.splitlines()[-1] == (
        "imported 5 row(s): 0 customer(s), 0 phone(s), 0 product(s) added, 5 row(s) already there; "
        "rejected 5 row(s)"
    )
    good = tmp_path / "good.csv"
    good.write_text("姓名,电话,型号\n吴十,+886 912 345 678,XQG100\n", encoding="utf-8-sig")
    clean = ctiserver("import", "customers", str(good), tmp_path=tmp_path)
    assert clean.returncode == 0 and clean.stdout.startswith("imported 1 row(s): 1 customer(s)")

    out = tmp_path / "customers.csv"
    exported = ctiserver("export", "customers", str(out), tmp_path=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    # in the page's language by default (Chinese)
    assert len(rows) == 6 and rows[-1]["姓名"] == "吴十" and rows[-1]["电话"] == "'+886 912 345 678"
    calls = tmp_path / "calls.csv"
    assert ctiserver("export", "calls", "--from", "2024-01-01", "--to", "2024-01-31", str(calls),
                     tmp_path=tmp_path).returncode == 0
    assert calls.read_bytes().startswith("\ufeff通话编号,主叫号码".encode())


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    done = ctiserver("import", "customers", str(bad), tmp_path=tmp_path)
    assert done.returncode == 1 and "no column name or phone" in done.stderr
    missing = ctiserver("import", "customers", str(tmp_path / "nothing.csv"), tmp_path=tmp_path)
    assert missing.returncode == 1 and "nothing.csv" in missing.stderr  # every refusal exits 1
