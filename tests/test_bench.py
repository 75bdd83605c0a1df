"""The benchmark's own parts on tiny data: the floor runs, and the report has every section.

No timings are asserted: figures belong in the benchmark's report, not in tests.
"""

from __future__ import annotations

import re

from bench import floor, report
from tests.helpers import SAMPLE


def titles() -> list[str]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[1:21]
    return [line.split(",")[1] for line in lines]


def fake_results(floor_result: dict) -> dict:
    samples = [{"done": d, "window_bytes": 200_000, "window_keys": 5, "used_memory": 10**6 * d}
               for d in range(10, 110, 10)]
    return {
        "when": "now", "machine": "test box", "workers": 2, "notes": ["data: sample"],
        "floor": floor_result,
        "ingest": {"n": 20, "seconds": 0.5, "rate": 40.0, "wall": 1.0, "cli": "placed 20", "memory_per_headline": 900},
        "naive": {"n": 10, "seconds": 5.0, "rate": 2.0}, "naive_cold": {"n": 2, "seconds": 2.0, "rate": 1.0},
        "http": {"p50_ms": 1.0, "p99_ms": 2.0, "n": 100, "lookup_rate": 500.0, "lookups": 100, "posts": 50,
                 "post_rate": 200.0, "settle_after_last_post": 0.2, "settle_total": 0.5, "jobs": 3},
        "cost": {"total": 100, "first_rate": 50.0, "last_rate": 45.0, "samples": samples, "memory_per_headline": 800},
        "profile": {"self": [("f (service/x.py)", 50.0)], "library": [("service", 50.0)], "service": []},
    }


def test_floor_measures_positive_rate():
    result = floor.measure(titles(), repeats=1)
    assert result["n"] == 20
    assert result["seconds"] > 0
    assert result["rate"] > 0


def test_report_has_every_section_and_positive_figures():
    text = report.render(fake_results(floor.measure(titles(), repeats=1)))
    for heading in ("End-to-end ingest", "One-core floor", "Naive pipeline", "HTTP API", "Cost curve",
                    "Where a worker's time goes"):
        assert f"## {heading}" in text
    values = re.findall(r"^\| [^|]+ \| ([\d,.]+)", text, flags=re.MULTILINE)
    assert values
    assert all(float(v.replace(",", "")) > 0 for v in values)
    assert "pass" in text and "FAIL" in text  # every target is judged, both ways appear here


def test_mutation_run_keeps_one_binary_replacement_and_finds_annotations():
    from bench import mutation

    kept = [op for op in ("core/ReplaceBinaryOperator_Add_Sub", "core/ReplaceBinaryOperator_Add_Mul",
                          "core/NumberReplacer", "core/ReplaceComparisonOperator_Lt_LtE") if mutation._keep(op)]
    assert kept == ["core/ReplaceBinaryOperator_Add_Sub", "core/NumberReplacer",
                    "core/ReplaceComparisonOperator_Lt_LtE"]
    spans = mutation._annotations("def f(a: int | None, b=1) -> str | None:\n    x: int = a | b\n")
    assert sorted(spans) == [((1, 9), (1, 19)), ((1, 29), (1, 39)), ((2, 7), (2, 10))]
    assert not any(start <= (2, 13) < end for start, end in spans)  # a | b in code is no annotation


def test_mutation_sample_keeps_the_same_n_mutants_each_time(tmp_path):
    import sqlite3

    from bench import mutation

    def draw() -> list[int]:
        db = tmp_path / "m.sqlite"
        db.unlink(missing_ok=True)
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE mutation_specs (job_id, operator_name, definition_name, start_pos_row, "
                    "start_pos_col)")
        con.execute("CREATE TABLE work_items (job_id)")
        for job in range(40):  # every other one a replacement the pruning drops anyway
            op = "core/ReplaceBinaryOperator_Add_Sub" if job % 2 else "core/ReplaceBinaryOperator_Add_Mul"
            con.execute("INSERT INTO mutation_specs VALUES (?, ?, 'f', ?, 0)", (job, op, job))
            con.execute("INSERT INTO work_items VALUES (?)", (job,))
        con.commit()
        assert mutation._prune(db, mutation.Target("service/x.py", ()), sample=5) == 20  # kept, before the draw
        kept = [job for (job,) in con.execute("SELECT job_id FROM mutation_specs ORDER BY job_id")]
        assert kept == [job for (job,) in con.execute("SELECT job_id FROM work_items ORDER BY job_id")]
        con.close()
        return kept

    first = draw()
    assert len(first) == 5 and all(job % 2 for job in first)
    assert draw() == first
