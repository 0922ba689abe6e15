"""A batch soak: many short records, some hostile, a run killed with SIGKILL and resumed.

Writes a JSONL corpus of ``records`` short articles with a share of hostile records
(JSON nested 100,000 deep, bytes that are not UTF-8, lone surrogates, invisible text,
non-objects, broken JSON, repeated ids and fields, no id, a text over the limit). Runs
``propscan batch`` over it once uninterrupted, then again killed with SIGKILL ``kills``
times (at even shares of the chunks committed) and resumed with ``--resume`` until it
finishes, and compares the two results folders. Used by ``benchmarks/reliability.py``.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from propscan.batch.results import read_results
from propscan.core.checks import DEFAULT_MAX_CHARS

SENTENCES = [
    "The corrupt elites in Washington want to destroy everything our fathers built.",
    "Experts agree: the treacherous media lies to you every single day, again and again.",
    "The council met on Tuesday and approved the budget for the new library.",
    "Only a fool would believe the lies of these traitors.",
    "Rainfall this spring was close to the long-term average, the agency said.",
]
CHUNK_SIZE = 16


def _hostile_lines(number: int, earlier_id: str) -> list[bytes]:
    """One hostile record of each kind, for record ``number``."""
    record_id = f"h{number:05d}"
    return [
        b"[" * 100_000 + b"]" * 100_000,
        f'{{"id": "{record_id}", "text": "caf'.encode() + b'\xe9 au lait"}',
        json.dumps({"id": record_id, "text": "lone \ud800 surrogate"}).encode(),
        json.dumps({"id": record_id, "text": " \u200b\u200b \n"}).encode(),
        b"[1, 2]",
        f'{{"id": "{record_id}", "text": '.encode(),
        json.dumps({"id": earlier_id, "text": "An id used before."}).encode(),
        json.dumps({"text": "A record without an id."}).encode(),
        f'{{"id": "{record_id}", "text": "one", "text": "two"}}'.encode(),
        json.dumps({"id": record_id, "text": "x" * (DEFAULT_MAX_CHARS + 1)}).encode(),
        json.dumps({"id": True, "text": "An id that is not a string."}).encode(),
    ]


def write_corpus(path: Path, records: int, hostile_share: float, seed: int = 7) -> int:
    """Write the soak corpus; returns how many of its records are hostile."""
    chooser = random.Random(seed)
    hostile = set(chooser.sample(range(1, records), round(records * hostile_share)))
    with path.open("wb") as corpus:
        for number in range(records):
            if number in hostile:
                kinds = _hostile_lines(number, earlier_id="r00000")  # record 0 is never hostile
                corpus.write(kinds[number % len(kinds)] + b"\n")
                continue
            text = f"Article {number}. " + " ".join(chooser.sample(SENTENCES, 2))
            record = {"id": f"r{number:05d}", "text": text, "outlet": f"outlet-{number % 7}"}
            corpus.write(json.dumps(record).encode() + b"\n")
    return len(hostile)


def _batch(corpus: Path, out: Path, model: str | None, resume: bool) -> subprocess.Popen:
    command = [sys.executable, "-c", "from propscan.cli import main; main()", "batch"]
    command += [str(corpus), "--out", str(out), "--chunk-size", str(CHUNK_SIZE), "--no-progress"]
    command += ["--resume"] * resume + (["--model", model] if model else [])
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finish(process: subprocess.Popen) -> str:
    output = process.communicate()[0].decode("utf-8", "replace")
    if process.returncode != 0:
        raise RuntimeError(f"propscan batch exited {process.returncode}: {output[-2000:]}")
    return output.strip().splitlines()[-1].split("; reasons in ")[0]  # no scratch paths


def _committed(out: Path) -> int:
    folder = out / "articles.parquet"
    return sum(1 for p in folder.glob("part-*.parquet")) if folder.is_dir() else 0


def _kill_at(process: subprocess.Popen, out: Path, parts: int, limit: float) -> int | None:
    """SIGKILL ``process`` once ``parts`` articles parts are committed; the count then."""
    deadline = time.monotonic() + limit
    while process.poll() is None and time.monotonic() < deadline:
        if _committed(out) >= parts:
            process.kill()
            process.wait()
            return _committed(out)
        time.sleep(0.05)
    _finish(process)
    return None


def _rows(tables: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: getattr(tables, name).to_pylist() for name in ("spans", "articles", "errors")}


def batch_soak(
    scratch: Path, *, model: str | None, records: int, hostile_share: float, kills: int
) -> dict[str, Any]:
    """The soak's figures: both runs, the kills, and whether their tables are identical."""
    corpus = scratch / "soak.jsonl"
    hostile = write_corpus(corpus, records, hostile_share)
    started = time.perf_counter()
    whole = scratch / "uninterrupted"
    summary = _finish(_batch(corpus, whole, model, resume=False))
    uninterrupted_s = time.perf_counter() - started

    killed = scratch / "killed"
    chunks = math.ceil(records / CHUNK_SIZE)
    kill_points = [chunks * (n + 1) // (kills + 1) for n in range(kills)]
    killed_at: list[int | None] = []
    started = time.perf_counter()
    for number, parts in enumerate(kill_points):
        process = _batch(corpus, killed, model, resume=number > 0)
        killed_at.append(_kill_at(process, killed, parts, limit=30 * 60))
    final_summary = _finish(_batch(corpus, killed, model, resume=True))
    killed_s = time.perf_counter() - started

    expected, resumed = read_results(whole), read_results(killed)
    same = {name: rows == _rows(resumed)[name] for name, rows in _rows(expected).items()}
    articles, errors = resumed.articles.num_rows, resumed.errors.num_rows
    return {
        "records": records,
        "hostile": hostile,
        "chunk_size": CHUNK_SIZE,
        "uninterrupted": {"seconds": round(uninterrupted_s, 1), "summary": summary},
        "killed_and_resumed": {
            "kills": kills,
            "parts_committed_at_each_kill": killed_at,
            "chunks": chunks,
            "seconds": round(killed_s, 1),
            "last_summary": final_summary,
        },
        "analysed": articles,
        "failed": errors,
        "records_out": articles + errors,
        "unique_ids": len(set(resumed.articles.column("id").to_pylist())) == articles,
        "identical_tables": same,
    }


def batch_soak_problems(result: dict[str, Any]) -> list[str]:
    """What went wrong, in words: a table differs, a record lost or doubled, a kill missed."""
    problems = [
        f"the {name} table differs from the uninterrupted run's"
        for name, same in result["identical_tables"].items()
        if not same
    ]
    if result["records_out"] != result["records"] or not result["unique_ids"]:
        problems.append(f"{result['records']} records in, {result['records_out']} out")
    if result["failed"] != result["hostile"]:
        problems.append(f"{result['failed']} records failed, {result['hostile']} were hostile")
    if None in result["killed_and_resumed"]["parts_committed_at_each_kill"]:
        problems.append("a run finished before it could be killed")
    return problems


def batch_soak_lines(result: dict[str, Any]) -> list[str]:
    killed = result["killed_and_resumed"]
    same = "yes" if all(result["identical_tables"].values()) else "no"
    return [
        f"## Batch soak: {result['records']:,} records, {result['hostile']} hostile, "
        f"killed {killed['kills']} times",
        "",
        "`propscan batch` over short records (chunks of "
        f"{result['chunk_size']}), once uninterrupted and once killed with SIGKILL after "
        f"{', '.join(map(str, killed['parts_committed_at_each_kill']))} of "
        f"{killed['chunks']} chunks and resumed with `--resume`. Hostile records: JSON nested "
        "100,000 deep, bytes that are not UTF-8, lone surrogates, invisible text, non-objects, "
        "broken JSON, repeated ids and fields, no id, a text over the limit.",
        "",
        "| run | seconds | last summary |",
        "|---|---:|---|",
        f"| uninterrupted | {result['uninterrupted']['seconds']} | "
        f"{result['uninterrupted']['summary']} |",
        f"| killed {killed['kills']}× and resumed | {killed['seconds']} | "
        f"{killed['last_summary']} |",
        "",
        "| records in | analysed | failed | records out | hostile | tables identical |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {result['records']} | {result['analysed']} | {result['failed']} | "
        f"{result['records_out']} | {result['hostile']} | {same} |",
        "",
    ]
