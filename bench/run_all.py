"""Run the five benchmarks one after another and print a summary against the targets.

    .venv/bin/python bench/run_all.py          # quick sizes (`make bench`)
    .venv/bin/python bench/run_all.py --full   # 1,000,000 events (replay, decision state, sheet,
                                               # dossier)

Each benchmark runs in its own process (so memory figures are its own) and writes its figures
as JSON to a temp dir; the summary below is built from them. Figures only: a missed target is
reported, never raised; the exit code is non-zero only if a benchmark itself failed.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import chosen_databases, table, temp_dir

HERE = Path(__file__).resolve().parent


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the full sizes (takes long)")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default=None,
        help="default: sqlite, plus postgresql when JINGUO_BENCH_POSTGRES_URL is set",
    )
    parser.add_argument(
        "--only", choices=["replay", "decision_state", "http_commands", "sheet", "dossier"]
    )
    return parser.parse_args(argv)


def plans(options: argparse.Namespace) -> dict[str, list[str]]:
    database = ["--database", options.database] if options.database else []
    if options.full:
        return {
            "replay": ["--events", "1000000", *database],
            "decision_state": ["--sizes", "10000,1000000", *database],
            "http_commands": ["--rate", "200", "--duration", "30"],
            "sheet": ["--events", "1000000", *database],
            "dossier": ["--events", "1000000", *database],
        }
    return {
        "replay": ["--events", "100000", *database],
        "decision_state": ["--sizes", "10000", "--samples", "2000", *database],
        "http_commands": ["--rate", "200", "--duration", "10", "--saturation-duration", "5"],
        "sheet": ["--events", "100000", "--requests", "50", *database],
        "dossier": ["--events", "100000", "--requests", "100", *database],
    }


def run(name: str, args: list[str], out: Path) -> tuple[dict[str, Any] | None, float, int]:
    print(f"\n=== {name} {' '.join(args)}", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, str(HERE / f"{name}.py"), *args, "--json", str(out)])
    seconds = time.monotonic() - started
    if code != 0 or not out.exists():
        print(f"=== {name} failed (exit code {code})", flush=True)
        return None, seconds, code or 1
    return json.loads(out.read_text()), seconds, 0


def verdict(value: float, target: float, *, at_most: bool) -> str:
    if math.isnan(value):
        return "-"
    met = value <= target if at_most else value >= target
    return "met" if met else "NOT met"


def replay_rows(report: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    n = report["stream"]["messages"]
    for kind, result in report["databases"].items():
        target = 30_000.0 if kind == "sqlite" else 20_000.0
        separate = result["projections"]
        slowest = min(separate, key=lambda p: p["stream_events_per_s"])
        one_pass = result["one_pass"]
        rows.append(
            [
                f"replay {n:,} {kind}: slowest projection ({slowest['projection']})",
                f"{slowest['stream_events_per_s']:,.0f} events/s",
                f">= {target:,.0f}",
                verdict(slowest["stream_events_per_s"], target, at_most=False),
            ]
        )
        rows.append(
            [
                f"replay {n:,} {kind}: all projections in one pass",
                f"{one_pass['stream_events_per_s']:,.0f} events/s",
                f">= {target:,.0f}",
                verdict(one_pass["stream_events_per_s"], target, at_most=False),
            ]
        )
        growth = max(p["rss_sampled_max_mib"] - p["rss_before_mib"] for p in [*separate, one_pass])
        rows.append(
            [
                f"replay {n:,} {kind}: RSS growth during a rebuild (worst)",
                f"{growth:+,.0f} MiB (process peak {result['ru_maxrss_mib']:,.0f} MiB)",
                "flat: < 256 MiB, same at any N",
                verdict(growth, 256, at_most=True),
            ]
        )
    return rows


def decision_rows(report: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for r in report["results"]:
        p50 = r["load_cached"]["p50_ms"]
        rows.append(
            [
                f"decision state {r['stream_events']:,} events {r['database']}: load_cached p50",
                f"{p50:.2f} ms (p99 {r['load_cached']['p99_ms']:.2f})",
                "<= 1 ms",
                verdict(p50, 1.0, at_most=True),
            ]
        )
        rows.append(
            [
                f"decision state {r['stream_events']:,} events {r['database']}: log load p50",
                f"{r['event_store_load']['p50_ms']:.2f} ms",
                "(slow path, for comparison)",
                "",
            ]
        )
    return rows


def http_rows(report: dict[str, Any]) -> list[list[Any]]:
    o, s, d = report["open_loop"], report["saturation"], report["shutdown"]
    p99 = o["latency"]["all"]["p99_ms"]
    errors = sum(v for k, v in o["statuses"].items() if k != "201")
    return [
        [
            f"HTTP commands at {report['rate']:g} req/s: p99",
            f"{p99:,.1f} ms (p50 {o['latency']['all']['p50_ms']:.1f}; "
            f"{o['throughput_per_s']:,.0f} done/s; {errors} not 201)",
            "<= 20 ms",
            verdict(p99, 20.0, at_most=True),
        ],
        [
            f"HTTP saturation, {report['saturation_concurrency']} clients in a closed loop",
            f"{s['throughput_per_s']:,.0f} req/s (p50 {s['latency']['all']['p50_ms']:.1f} ms, "
            f"p99 {s['latency']['all']['p99_ms']:.1f} ms)",
            "(capacity)",
            "",
        ],
        [
            "jinguo up exit after SIGINT",
            f"{d['seconds']:.1f} s, code {d['returncode']}, "
            f"{d['children_left_running']} children left",
            "<= 20 s",
            "met" if d["exited_within_limit"] and not d["children_left_running"] else "NOT met",
        ],
    ]


def sheet_rows(report: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    n = report["fill"]["events"]
    for result in report["databases"]:
        province = result["sheets_ms"]["province year"]
        rows.append(
            [
                f"sheet of a province, {n:,} events {result['database']}: p95",
                f"{province['p95']:,.1f} ms (p50 {province['p50']:.1f})",
                "<= 200 ms",
                verdict(province["p95"], 200.0, at_most=True),
            ]
        )
        figures = result["rebuilds"]["programme_figures"]
        rows.append(
            [
                f"rebuild programme_figures {result['database']}",
                f"{figures['events_read_per_s']:,.0f} events/s",
                "(rate)",
                "",
            ]
        )
    return rows


def dossier_rows(report: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    n = report["fill"]["events"]
    for result in report["databases"]:
        whole = result["path_ms"]["one page of 200"]
        rows.append(
            [
                f"her path, {result['her_lines']} facts among {n:,} events {result['database']}:"
                " p95",
                f"{whole['p95']:,.1f} ms (p50 {whole['p50']:.1f})",
                "<= 50 ms",
                verdict(whole["p95"], 50.0, at_most=True),
            ]
        )
        rates = ", ".join(f"{r['events_read_per_s']:,.0f}" for r in result["rebuilds"])
        rows.append(
            [
                f"rebuild worker_path twice {result['database']}",
                f"{rates} events/s",
                "identical rows",
                "met" if result["replay_equal"] else "NOT met",
            ]
        )
    return rows


def main() -> int:
    options = parse()
    chosen_databases(options.database)
    failures = 0
    rows: list[list[Any]] = []
    timings: list[str] = []
    with temp_dir("all") as workdir:
        for name, args in plans(options).items():
            if options.only and name != options.only:
                continue
            report, seconds, code = run(name, args, workdir / f"{name}.json")
            timings.append(f"{name} {seconds:,.0f} s")
            failures += code != 0
            if report is None:
                rows.append([name, "failed", "", "NOT met"])
            elif name == "replay":
                rows += replay_rows(report)
            elif name == "decision_state":
                rows += decision_rows(report)
            elif name == "sheet":
                rows += sheet_rows(report)
            elif name == "dossier":
                rows += dossier_rows(report)
            else:
                rows += http_rows(report)
    print("\n=== summary (" + ", ".join(timings) + ")")
    print(table(["figure", "measured", "target", ""], rows))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
