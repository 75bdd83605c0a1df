"""The Markdown report: each figure beside its target, pass or fail. Targets live here, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Row = tuple[str, str, str, bool | None]  # figure, value, target, passed (None: no target)


@dataclass(frozen=True)
class Target:
    text: str
    check: Callable[[float], bool]


TARGETS = {
    "e2e_rate": Target(">= 6,000/s", lambda v: v >= 6000),
    "e2e_floor": Target(">= 0.14", lambda v: v >= 0.14),
    "e2e_naive": Target(">= 30x", lambda v: v >= 30),
    "lookup_p99": Target("<= 5 ms", lambda v: v <= 5),
    "lookup_rate": Target(">= 2,000/s", lambda v: v >= 2000),
    "post_rate": Target(">= 1,000/s", lambda v: v >= 1000),
    "memory": Target("<= 1 KB", lambda v: v <= 1024),
    "speed_kept": Target(">= 0.8 of first 10%", lambda v: v >= 0.8),
    "window_growth": Target("<= 1.25 (flat)", lambda v: v <= 1.25),
}


def row(name: str, value: float, fmt: str, target: str | None = None) -> Row:
    if target is None:
        return (name, fmt.format(value), "", None)
    t = TARGETS[target]
    return (name, fmt.format(value), t.text, t.check(value))


def table(rows: list[Row]) -> str:
    mark = {True: "pass", False: "**FAIL**", None: ""}
    lines = ["| figure | value | target | |", "|---|---:|---|---|"]
    lines += [f"| {n} | {v} | {t} | {mark[ok]} |" for n, v, t, ok in rows]
    return "\n".join(lines)


def ingest_rows(res: dict) -> list[Row]:
    ing, rows = res["ingest"], []
    rows.append(row(f"headlines/s ({ing['n']:,} headlines, {res['workers']} workers)", ing["rate"], "{:,.0f}",
                    "e2e_rate"))
    rows.append(row("seconds, first stored to last placed", ing["seconds"], "{:.1f}"))
    if "floor" in res:
        rows.append(row("÷ one-core floor", ing["rate"] / res["floor"]["rate"], "{:.3f}", "e2e_floor"))
    if "naive" in res:
        rows.append(row("÷ naive pipeline", ing["rate"] / res["naive"]["rate"], "{:.1f}x", "e2e_naive"))
    rows.append(row("Redis bytes per stored headline", ing["memory_per_headline"], "{:,.0f}", "memory"))
    return rows


def http_rows(h: dict) -> list[Row]:
    return [
        row(f"GET /headlines/{{id}} p50, sequential ({h['n']:,})", h["p50_ms"], "{:.2f} ms"),
        row("GET /headlines/{id} p99, sequential", h["p99_ms"], "{:.2f} ms", "lookup_p99"),
        row(f"GET /headlines/{{id}} per s, 16 clients ({h['lookups']:,})", h["lookup_rate"], "{:,.0f}",
            "lookup_rate"),
        row(f"single POSTs accepted per s, 16 clients ({h['posts']:,})", h["post_rate"], "{:,.0f}", "post_rate"),
        row("seconds from last POST until all placed", h["settle_after_last_post"], "{:.2f}"),
        row("seconds from first POST until all placed", h["settle_total"], "{:.2f}"),
        row("RQ jobs those POSTs became", h["jobs"], "{:,.0f}"),
    ]


def cost_rows(c: dict) -> list[Row]:
    settled = [s["window_bytes"] for s in c["samples"] if s["done"] > c["total"] * 0.1]
    half = len(settled) // 2
    growth = (sum(settled[half:]) / len(settled[half:])) / (sum(settled[:half]) / half) if half else float("nan")
    return [
        row(f"headlines/s, first 10% of {c['total']:,}", c["first_rate"], "{:,.0f}"),
        row("headlines/s, last 10%", c["last_rate"], "{:,.0f}"),
        row("last 10% ÷ first 10%", c["last_rate"] / c["first_rate"], "{:.2f}", "speed_kept"),
        row("window state, mean of 2nd half ÷ 1st half (after 10%)", growth, "{:.2f}", "window_growth"),
        row("Redis bytes per stored headline at the end", c["memory_per_headline"], "{:,.0f}", "memory"),
    ]


def samples_table(c: dict) -> str:
    lines = ["| placed | window-only state | window keys | Redis used_memory |", "|---:|---:|---:|---:|"]
    every = max(1, len(c["samples"]) // 10)  # ten rows are enough to see the shape
    lines += [f"| {s['done']:,} | {s['window_bytes'] / 1e6:.1f} MB | {s['window_keys']:,} | "
              f"{s['used_memory'] / 1e6:.0f} MB |" for s in c["samples"][every - 1 :: every]]
    return "\n".join(lines)


def profile_block(top: dict[str, list[tuple[str, float]]]) -> str:
    parts = []
    titles = {"self": "self time, by function", "library": "self time, by package",
              "service": "total time of service/ functions (their callees included)"}
    for kind, title in titles.items():
        parts.append(f"{title} (% of samples):\n")
        parts += [f"    {pct:5.1f}%  {frame}" for frame, pct in top[kind]]
        parts.append("")
    return "\n".join(parts)


def render(res: dict) -> str:
    out = [f"# Benchmark: {res['when']}", "", res["machine"], ""]
    if "ingest" in res:
        out += ["## End-to-end ingest (`headlines ingest --wait`)", "", table(ingest_rows(res)), "",
                f"The CLI's own line: {res['ingest']['cli']}.", ""]
    if "floor" in res:
        f = res["floor"]
        out += ["## One-core floor (MinHash.bulk, 128 permutations, in memory)", "",
                table([row(f"headlines/s ({f['n']:,})", f["rate"], "{:,.0f}")]), ""]
    if "naive" in res:
        n = res["naive"]
        cold = res["naive_cold"]
        out += ["## Naive pipeline (job per headline, MinHashLSH in Redis, forking workers)", "",
                table([row(f"headlines/s, job module preloaded ({n['n']:,}, {res['workers']} workers)", n["rate"],
                           "{:,.1f}"),
                       row(f"headlines/s, plain `rq worker` ({cold['n']:,})", cold["rate"], "{:,.2f}")]), "",
                "The ratio above uses the preloaded run, the faster of the two.", ""]
    if "http" in res:
        out += ["## HTTP API", "", table(http_rows(res["http"])), ""]
    if "cost" in res:
        out += ["## Cost curve (dev data replayed, +14 days a round)", "", table(cost_rows(res["cost"])), "",
                samples_table(res["cost"]), ""]
    if res.get("profile"):
        out += ["## Where a worker's time goes (py-spy, one worker during the ingest)", "",
                profile_block(res["profile"]), ""]
    for note in res.get("notes", []):
        out.append(f"- {note}")
    return "\n".join(out).rstrip() + "\n"
