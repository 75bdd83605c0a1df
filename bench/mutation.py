"""`python -m bench.mutation [MODULE ...]`: mutation testing of the pure logic with cosmic-ray.

Each module's mutants run against only the fast tests of that logic (no Redis, no workers), one module
at a time: a mutant costs a pytest start (~2-3 s on a 2-core VM). Mutants of code outside the pure
functions (a module's Redis reads and writes) are dropped before the run, and so are all but one
replacement per binary operator (cosmic-ray makes twelve for each `+`, which mostly repeat each other) and
each comparison's negation and boundary shift (of nine), and one of the two replacements of a number.
Writes bench/mutation.md: the score per module, each surviving mutant's diff, and the survivors
listed in EQUIVALENT (mutants that cannot change behaviour) with the reason. Not part of CI.

    .venv/bin/pip install cosmic-ray && .venv/bin/python -m bench.mutation
    .venv/bin/python -m bench.mutation --rerun normalize   # only the last survivors again, after a fix

cosmic-ray edits a module in place while a mutant runs, so it works in a copy of the tree
(.mutation/tree, imported as headline_dedup through PYTHONPATH): the work tree is never touched,
and tests run meanwhile see the real code.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".mutation"  # outside every package, so neither mypy nor ruff reads the copy
TREE = OUT / "tree"
REPORT = ROOT / "bench" / "mutation.md"
# --noconftest: the pure tests need no Redis, and a session Redis per mutant would double its cost.
PYTEST = f"{sys.executable} -m pytest -x -q -p no:randomly -p no:cacheprovider --noconftest"


@dataclass(frozen=True)
class Target:
    path: str
    tests: tuple[str, ...]
    pure: tuple[str, ...] | None = None  # names of the pure functions and classes; None: the whole module


TARGETS = {
    "stories": Target("service/stories.py", ("tests/test_stories.py",)),
    # The merge plan: candidates, plan and their helpers; read_open, write and the rest talk to Redis.
    "merge": Target("service/merge.py", ("tests/test_merge_plan.py",),
                    pure=("candidates", "_units", "_unit", "_matrix", "plan", "_similarities", "_age", "_final",
                          "_rename")),
    "scoring": Target("service/scoring.py", ("tests/test_scoring.py",)),
    "dedup": Target("service/dedup.py", ("tests/test_dedup.py",)),
    "normalize": Target("service/normalize.py", ("tests/test_normalize.py",)),
    "placement": Target("service/placement.py", ("tests/test_placement.py",)),
}

# One replacement kept per binary operator: the one that changes the arithmetic most plainly.
_OPPOSITE = {"Add": "Sub", "Sub": "Add", "Mul": "Div", "Div": "Mul", "FloorDiv": "Div", "Mod": "FloorDiv",
             "Pow": "Mul", "LShift": "RShift", "RShift": "LShift", "BitAnd": "BitOr", "BitOr": "BitAnd",
             "BitXor": "BitOr", "MatMult": "Mul"}

_CACHE = "a cache's size: how often a value is computed again, never which value"
_KEEP_ALL = "cutting to `keep` terms when there are exactly `keep` keeps them all: the same weights"
_VALUES = ("term_ids reads only the hashed indices, never the values that alternate_sign and binary set (bar "
           "two words of one hash with opposite signs cancelling, at 2^22 buckets)")
_REPR = "repr only"
_EMPTY_ROW = ("the fallback divisor only divides the weights of a story with none (every stored weight is "
              "above 1e-6), so it divides nothing")
_OUT = ("the mark of a pair out of play: -2, -0 or `not 1.0` (0) for -1 stays below merge_threshold all "
        "the same, which Settings bounds above 0")
_ANNOTATION = "inside an annotation, which `from __future__ import annotations` leaves unevaluated"
# Survivors that cannot change behaviour: (module, source line stripped, operator) -> why.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("normalize", "@lru_cache(maxsize=1)", "NumberReplacer"): _CACHE,
    ("normalize", "@lru_cache(maxsize=1)", "RemoveDecorator"): _CACHE,
    ("dedup", "@lru_cache(maxsize=1 << 17)", "NumberReplacer"): _CACHE,
    ("dedup", "@lru_cache(maxsize=1 << 17)", "ReplaceBinaryOperator_LShift_RShift"): _CACHE,
    ("dedup", "@lru_cache(maxsize=1 << 17)", "RemoveDecorator"): _CACHE,
    ("stories", "if len(raw) >= HEADER_SIZE:", "ReplaceComparisonOperator_GtE_Gt"):
        "a blob of exactly HEADER_SIZE bytes is a story with no terms and no embedding, and the old layout "
        "reads it the same: no terms, the same time and size",
    ("stories", "scores[cid] = scores.get(cid, 0.0) + w", "NumberReplacer"):
        "the same offset added once to every candidate's sum leaves their order, all that is returned",
    ("stories", "if gap > 0:", "ReplaceComparisonOperator_Gt_GtE"): "at gap 0 the time penalty is 0",
    ("stories", "self.weights = _strongest(weights, keep) if len(weights) > keep else weights",
     "ReplaceComparisonOperator_Gt_GtE"): _KEEP_ALL,
    ("stories", "if len(weights) > keep:", "ReplaceComparisonOperator_Gt_GtE"): _KEEP_ALL,
    ("stories", "analyzer=_features, n_features=N_FEATURES, alternate_sign=False, norm=None, binary=True",
     "ReplaceTrueWithFalse"): _VALUES,
    ("stories", "analyzer=_features, n_features=N_FEATURES, alternate_sign=False, norm=None, binary=True",
     "ReplaceFalseWithTrue"): _VALUES,
    ("stories", "_norm: float | None = field(default=None, repr=False)", "ReplaceFalseWithTrue"): _REPR,
    ("stories", "_unit: np.ndarray | None = field(default=None, repr=False)  # embedding / its norm, for _unit_of",
     "ReplaceFalseWithTrue"): _REPR,
    ("stories", "_unit_of: np.ndarray | None = field(default=None, repr=False)", "ReplaceFalseWithTrue"): _REPR,
    ("stories", "return Centroid(dict(zip(ids.tolist(), weights, strict=True)), size, last_seen,",
     "ReplaceTrueWithFalse"): "ids and weights are read with the same count: always the same length",
    ("merge", "data /= np.where(norms > 0, norms, 1.0)[row_of]", "NumberReplacer"): _EMPTY_ROW,
    ("merge", "data /= np.where(norms > 0, norms, 1.0)[row_of]", "ReplaceComparisonOperator_Gt_GtE"): _EMPTY_ROW,
    ("merge", "data /= np.where(norms > 0, norms, 1.0)[row_of]", "ReplaceComparisonOperator_Gt_LtE"): _EMPTY_ROW,
    ("merge", "norm = float(np.sqrt(ws @ ws)) or 1.0", "NumberReplacer"): _EMPTY_ROW,
    ("merge", "np.fill_diagonal(sim, -1.0)", "NumberReplacer"): _OUT,
    ("merge", "sim[j, :] = sim[:, j] = -1.0", "NumberReplacer"): _OUT,
    ("merge", "sim[j, :] = sim[:, j] = -1.0", "ReplaceUnaryOperator_USub_Not"): _OUT,
    ("merge", "np.fill_diagonal(sim, -1.0)", "ReplaceUnaryOperator_USub_Not"): _OUT,
    ("merge", "row[dead] = -1.0  # merged-away stories and the diagonal stay out", "ReplaceUnaryOperator_USub_Not"):
        _OUT,
    ("merge", "row[dead] = -1.0  # merged-away stories and the diagonal stay out", "NumberReplacer"): _OUT,
    ("merge", "row = np.where(out_of_play, -1.0, row + emb_weight * (units @ units[i] - emb_baseline))",
     "NumberReplacer"): _OUT,
    ("merge", "row = np.where(out_of_play, -1.0, row + emb_weight * (units @ units[i] - emb_baseline))",
     "ReplaceUnaryOperator_USub_Not"): _OUT,
    ("merge", "return int(cid) if cid.isdigit() else 0", "NumberReplacer"):
        "stored story ids come from INCRBY of cluster_seq (state.writer, admin): digits from 1 up, so a "
        "non-digit id's age, 0 or -1, ranks it older than every stored story all the same",
    ("normalize", "if first and (first[0].startswith(key[0]) or (len(first[0]) >= 3 and key[0].startswith(first[0]))):",
     "NumberReplacer"): "key is `split()[:1]`, one word at most: key[-1] is key[0]",
    ("normalize", "_fold_source = lru_cache(maxsize=1 << 14)(_fold)", "ReplaceBinaryOperator_LShift_RShift"): _CACHE,
    ("scoring", "if n == 0:", "ReplaceComparisonOperator_Eq_LtE"): "n is a len(), never below 0",
    ("scoring", "joint = Counter(zip(g, p, strict=True))", "ReplaceTrueWithFalse"):
        "g and p are built from the same ids: always the same length, so strict never fires",
}


# Per comparison, its negation and its boundary shift (< to >= and <=): the rest of cosmic-ray's nine
# mostly die with these.
_COMPARED = {"Lt": {"GtE", "LtE"}, "LtE": {"Gt", "Lt"}, "Gt": {"LtE", "GtE"}, "GtE": {"Lt", "Gt"},
             "Eq": {"NotEq"}, "NotEq": {"Eq"}, "Is": {"IsNot"}, "IsNot": {"Is"}, "In": {"NotIn"},
             "NotIn": {"In"}}


def _keep(operator: str) -> bool:
    name = operator.removeprefix("core/")
    if name.startswith("ReplaceBinaryOperator_"):
        _, source, target = name.split("_")
        return _OPPOSITE.get(source) == target
    if name.startswith("ReplaceComparisonOperator_"):
        _, source, target = name.split("_")
        return target in _COMPARED.get(source, set())
    return True


def _copy_tree() -> dict[str, str]:
    """A fresh copy of the work tree's files; returns the environment that imports it as headline_dedup."""
    shutil.rmtree(TREE, ignore_errors=True)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (TREE / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, TREE / name)
    # The installed layout, as links: headline_dedup is service/, headline_dedup.workers is workers/.
    (TREE / "service" / "workers").symlink_to(TREE / "workers")
    (TREE / ".import").mkdir()
    (TREE / ".import" / "headline_dedup").symlink_to(TREE / "service")
    return {**os.environ, "PYTHONPATH": str(TREE / ".import")}


def _config(name: str, target: Target) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    config = OUT / f"{name}.toml"
    tests = " ".join(target.tests)
    config.write_text(f"""[cosmic-ray]
module-path = "{target.path}"
timeout = 120.0
excluded-modules = []
test-command = "{PYTEST} {tests}"

[cosmic-ray.distributor]
name = "local"
""")
    return config


def _prune(db: Path, target: Target, sample: int | None = None) -> int:
    """Drop the mutants this run does not test: other replacements of one operator, impure functions, and
    with `sample`, all but that many of the rest (a seeded draw per module, so a rerun tests the same)."""
    con = sqlite3.connect(db)
    rows = con.execute("""SELECT job_id, operator_name, definition_name, start_pos_row, start_pos_col
                          FROM mutation_specs ORDER BY job_id""").fetchall()
    numbers: set[tuple[int, int]] = set()  # sites whose number already has its one replacement
    dropped = []
    for job, op, where, row, col in rows:
        if op.endswith("NumberReplacer"):
            if (row, col) in numbers:
                dropped.append(job)  # one of n+1 and n-1 per number: the other mostly dies with it
                continue
            numbers.add((row, col))
        if not _keep(op) or (target.pure is not None and (where or "").split(".")[0] not in target.pure):
            dropped.append(job)
    gone = set(dropped)
    kept = [job for job, *_ in rows if job not in gone]
    if sample is not None and sample < len(kept):
        chosen = set(random.Random(target.path).sample(kept, sample))
        dropped += [job for job in kept if job not in chosen]
    for job in dropped:
        con.execute("DELETE FROM mutation_specs WHERE job_id = ?", (job,))
        con.execute("DELETE FROM work_items WHERE job_id = ?", (job,))
    con.commit()
    con.close()
    return len(kept)


def run(name: str, rerun: bool, env: dict[str, str], sample: int | None = None) -> None:
    target = TARGETS[name]
    config, db = _config(name, target), OUT / f"{name}.sqlite"
    cosmic = str(Path(sys.executable).parent / "cosmic-ray")
    imported = subprocess.run([sys.executable, "-c", "import headline_dedup; print(headline_dedup.__file__)"],
                              cwd=TREE, env=env, capture_output=True, text=True, check=True).stdout
    if not imported.startswith(str(TREE)):
        raise SystemExit(f"the copy is not what gets imported ({imported.strip()}): mutants would go untested")
    if rerun and db.exists():
        con = sqlite3.connect(db)
        con.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived'")
        con.commit()
        con.close()
    else:
        db.unlink(missing_ok=True)
        subprocess.run([cosmic, "init", str(config), str(db)], cwd=TREE, env=env, check=True)
        kept = _prune(db, target, sample)
        (OUT / f"{name}.kept").write_text(str(kept))  # for the report: how many the sample was drawn from
    baseline = subprocess.run(f"{PYTEST} {' '.join(target.tests)}", shell=True, cwd=TREE, env=env)
    if baseline.returncode != 0:
        raise SystemExit(f"{name}: the tests fail without any mutant; fix them first")
    subprocess.run([cosmic, "exec", str(config), str(db)], cwd=TREE, env=env, check=True)


@dataclass
class Result:
    name: str
    killed: int
    survivors: list[tuple[str, str, str]]  # operator, line, diff
    equivalent: list[tuple[str, str, str, str]]  # operator, line, diff, why
    incompetent: int  # mutants the tool could not run (not counted)
    kept: int | None = None  # mutants kept after pruning, before any sample

    @property
    def run(self) -> int:
        return self.killed + len(self.survivors) + len(self.equivalent)

    @property
    def tested(self) -> int:
        return self.killed + len(self.survivors)

    @property
    def score(self) -> float:
        return self.killed / self.tested if self.tested else 1.0


def _annotations(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of every annotation in a module, 1-based rows and 0-based columns as
    cosmic-ray counts them."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            found.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        spans += [((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0))
                  for a in found if a is not None]
    return spans


def result(name: str) -> Result:
    target = TARGETS[name]
    source = (ROOT / target.path).read_text()
    lines = source.splitlines()
    annotations = _annotations(source)
    con = sqlite3.connect(OUT / f"{name}.sqlite")
    rows = con.execute("""SELECT s.operator_name, s.start_pos_row, s.start_pos_col, r.worker_outcome,
                                 r.test_outcome, r.diff
                          FROM mutation_specs s JOIN work_results r USING (job_id)""").fetchall()
    con.close()
    kept_file = OUT / f"{name}.kept"
    res = Result(name, 0, [], [], 0, int(kept_file.read_text()) if kept_file.exists() else None)
    for op, row, col, worker, test, diff in rows:
        if worker.lower() != "normal":
            res.incompetent += worker.lower() != "skipped"
            continue
        if test.lower() != "survived":
            res.killed += 1
            continue
        line = lines[row - 1].strip()
        why = EQUIVALENT.get((name, line, op.removeprefix("core/")))
        if any(start <= (row, col) < end for start, end in annotations):
            why = _ANNOTATION
        if why:
            res.equivalent.append((op, line, diff, why))
        else:
            res.survivors.append((op, line, diff))
    return res


def report(results: list[Result]) -> str:
    drawn = ("`kept`: the mutants left after the operator pruning described in bench/mutation.py; `run`: those "
             "run (fewer than kept: a seeded sample, `--sample N`); `tested`: run and not equivalent.")
    out = ["# Mutation testing (cosmic-ray)", "", drawn, "",
           "| module | kept | run | tested | killed | survived | equivalent (not counted) | score |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        out.append(f"| {TARGETS[r.name].path} | {r.kept if r.kept is not None else '?'} | {r.run} | {r.tested} | "
                   f"{r.killed} | {len(r.survivors)} | {len(r.equivalent)} | "
                   f"{f'{r.score:.1%}' if r.tested else 'none tested'} |")
    total_killed, total = sum(r.killed for r in results), sum(r.tested for r in results)
    out += ["", f"All: {total_killed}/{total} = {total_killed / total:.1%}" if total else "All: none run", ""]
    for r in results:
        for title, items in (("Surviving", r.survivors), ("Equivalent", r.equivalent)):
            if items:
                out += [f"## {title} mutants: {r.name}", ""]
                for item in items:
                    op, line, diff = item[:3]
                    out += [f"- `{op}` on `{line}`" + (f": {item[3]}" if len(item) > 3 else ""), "",
                            "```diff", diff.strip(), "```", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("modules", nargs="*", default=[], help=f"of {', '.join(TARGETS)} (default: all, one by one)")
    p.add_argument("--rerun", action="store_true", help="run the last run's survivors again")
    p.add_argument("--sample", type=int, metavar="N",
                   help="test only N mutants per module, drawn with a fixed seed (for a busy machine)")
    p.add_argument("--report-only", action="store_true", help="write the report from the last runs")
    args = p.parse_args(argv)
    names = args.modules or list(TARGETS)
    unknown = set(names) - set(TARGETS)
    if unknown:
        p.error(f"unknown module {', '.join(sorted(unknown))}; choose from {', '.join(TARGETS)}")
    if args.sample is not None and args.sample < 1:
        p.error("--sample must be at least 1")
    if not args.report_only:
        env = _copy_tree()
        for name in names:
            run(name, args.rerun, env, args.sample)
    done = [n for n in TARGETS if (OUT / f"{n}.sqlite").exists()]
    REPORT.write_text(report([result(n) for n in done]))
    print(REPORT.read_text())


if __name__ == "__main__":
    main()
