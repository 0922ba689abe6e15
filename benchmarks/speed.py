"""Speed of ``propscan analyze`` over the PTC dev articles, and peak memory.

    python benchmarks/speed.py [--model DIR] [--beside NAME ...] [--threads 2]
                               [--bert-base-articles 15] [--rounds 5]

Measures, in one run and on the same articles: the shipped ONNX model (int8 where
quantised) through the public ``analyze_many``; the same architecture in torch fp32
(trained weights from ``--torch-checkpoint`` when given, else the pretrained encoder
with fresh heads: the arithmetic is identical, so the timing is too); and a
bert-base-sized encoder (Prta's model size, randomly initialised from its config) in
torch fp32. The shipped model is timed twice on the same loaded sessions: as shipped
(a batch's many encoder calls side by side, one single-threaded call per core, while
finished articles are decoded) and with every call one at a time on all threads (the
way the torch engines run). For each engine: encoder tokens/s (tokens over the wall
time in which an encoder call ran) and the share of wall time in which no encoder call
ran (the encoder functions are wrapped with timers inside ``analyze_many``). The
engines are timed in turn for ``--rounds`` rounds and each keeps its fastest round (a
shared host slows single runs by up to a fifth; every round is kept in the JSON).
Also model load time, the peak memory of ``propscan analyze`` on the longest dev
article, and a length-scaling table (one dev-length article, 10x, 100x and a 2 MB text
made by concatenating dev articles; each size analysed in a fresh process, with its
seconds per 100k characters and peak memory). Each ``--beside`` model (a name or a
directory, e.g. the larger model) is timed as one more engine in the same rounds, with its
size, load time and peak memory on the longest dev article, so that its speed is read as
a ratio to the shipped model's measured in the same run. Writes
``benchmarks/results/speed.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


class TimedEncoder:
    """Wraps an encoder function to record when each call ran and the tokens it saw (calls
    may run side by side, each on a worker thread)."""

    def __init__(self, encoder):
        self.encoder = encoder
        self.intervals: list[tuple[float, float]] = []
        self.tokens = 0

    def __call__(self, ids, mask):
        started = time.perf_counter()
        outputs = self.encoder(ids, mask)
        self.intervals.append((started, time.perf_counter()))  # list.append is atomic
        self.tokens += int(mask.sum())
        return outputs


def busy_seconds(intervals: list[tuple[float, float]]) -> float:
    """Wall time during which at least one encoder call ran (the union of the intervals)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        total += max(stop - max(start, end), 0.0)
        end = max(end, stop)
    return total


def _timed(encoder) -> TimedEncoder:
    return TimedEncoder(encoder.encoder if isinstance(encoder, TimedEncoder) else encoder)


def timed_analyze(texts: list[str], detector) -> dict:
    """``analyze_many`` over ``texts``, with the share of the wall time in which no encoder
    call ran (whether calls run one at a time or side by side)."""
    from propscan.pipeline import analyze_many

    windowed = detector.windowed
    timers = [_timed(windowed.encoder)]
    windowed.encoder = timers[0]
    side_by_side = windowed.side_by_side
    if side_by_side is not None:
        side_by_side.encoder = _timed(side_by_side.encoder)
        timers.append(side_by_side.encoder)
    main_thread = time.thread_time()
    _, seconds = timed(analyze_many, texts, detector)
    main_thread = time.thread_time() - main_thread
    calls = [interval for timer in timers for interval in timer.intervals]
    busy = busy_seconds(calls)
    return {
        **rate(texts, seconds),
        "encoder_tokens_per_second": round(sum(timer.tokens for timer in timers) / busy),
        "share_outside_encoder": round(1.0 - busy / seconds, 3),
        "encoder_calls": len(calls),
        "encoder_calls_side_by_side": len(timers[1].intervals) if len(timers) > 1 else 0,
        # CPU time of the calling thread: with calls side by side, propscan's own work only
        "main_thread_cpu_seconds": round(main_thread, 3),
    }


def one_article_per_call(texts: list[str], detector) -> dict:
    """``analyze_many`` called once per article, as ``analyze`` and the service run it:
    with numpy's pools at one thread during analysis (as shipped), and at their own size
    (that lever switched off)."""
    import contextlib

    from propscan.models.transformer import detector as transformer
    from propscan.pipeline import analyze_many

    def each() -> None:
        for text in texts:
            analyze_many([text], detector)

    shipped = transformer.one_thread_per_pool
    rows = {"one-thread numpy pools (shipped)": rate(texts, timed(each)[1])}
    transformer.one_thread_per_pool = contextlib.nullcontext
    try:
        rows["numpy pools at their own size"] = rate(texts, timed(each)[1])
    finally:
        transformer.one_thread_per_pool = shipped
    return rows


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def rate(texts: list[str], seconds: float) -> dict[str, float]:
    return {
        "articles": len(texts),
        "seconds": round(seconds, 3),
        "articles_per_second": round(len(texts) / seconds, 2),
        "characters_per_second": round(sum(map(len, texts)) / seconds),
    }


def peak_memory_of_analyze(model: str | None, path: Path) -> float:
    """Peak RSS (MB) of a fresh ``propscan analyze`` process on one article."""
    code = (
        "import resource, sys\n"
        "from propscan.cli import app\n"
        "args = ['analyze', sys.argv[1], '--format', 'json', '--out', sys.argv[2]]\n"
        "args += ['--model', sys.argv[3]] if len(sys.argv) > 3 else []\n"
        "try:\n    app(args)\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-c", code, str(path), str(Path(scratch) / "out.json")]
        if model:
            command.append(model)
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return round(float(output.strip().splitlines()[-1]), 1)


SCALING_CODE = """
import json, resource, sys, time
from pathlib import Path
from propscan.models.registry import load_detector, model_directory
from propscan.pipeline import analyze_many
detector = load_detector(model_directory(sys.argv[2] if len(sys.argv) > 2 else None))
analyze_many(["A short warm-up text, so that the first call is not timed."], detector)
text = Path(sys.argv[1]).read_text(encoding="utf-8")
started = time.perf_counter()
(analysis,) = analyze_many([text], detector)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_memory_mb": peak, "spans": len(analysis.spans)}))
"""


def scaling_texts(texts: list[str], sizes: list[str]) -> dict[str, str]:
    """A median-length dev article, and dev articles concatenated to multiples of it or to MB."""
    base = sorted(texts, key=len)[len(texts) // 2]
    made = {}
    for size in sizes:
        target = (
            int(float(size[:-2]) * 1_000_000)
            if size.endswith("MB")
            else int(float(size.rstrip("x")) * len(base))
        )
        if target <= len(base):
            made[size] = base
            continue
        parts, length, i = [], 0, 0
        while length < target:
            parts.append(texts[i % len(texts)])
            length += len(parts[-1]) + 2
            i += 1
        made[size] = "\n\n".join(parts)
    return made


def length_scaling(model: str | None, texts: list[str], sizes: list[str], timeout: float) -> list:
    """Seconds per 100k characters and peak memory of each size, each in a fresh process."""
    rows = []
    for size, text in scaling_texts(texts, sizes).items():
        row: dict = {"size": size, "characters": len(text)}
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "text.txt"
            path.write_text(text, encoding="utf-8")
            command = [sys.executable, "-c", SCALING_CODE, str(path), *([model] if model else [])]
            try:
                done = subprocess.run(
                    command, check=True, capture_output=True, text=True, timeout=timeout
                )
            except subprocess.TimeoutExpired:
                row["timed_out_after_seconds"] = timeout
                rows.append(row)
                print(row, flush=True)
                continue
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        row["seconds"] = round(measured["seconds"], 2)
        row["seconds_per_100k_characters"] = round(measured["seconds"] / len(text) * 1e5, 2)
        row["peak_memory_mb"] = round(measured["peak_memory_mb"], 1)
        rows.append(row)
        print(row, flush=True)
    first = rows[0].get("seconds_per_100k_characters")
    for row in rows:
        if first and "seconds_per_100k_characters" in row:
            row["relative_to_first"] = round(row["seconds_per_100k_characters"] / first, 2)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default=None, help="model name or directory (default: the shipped model)"
    )
    parser.add_argument(
        "--data",
        default=None,
        help="PTC directory (default: $PROPSCAN_DATA or ../shared/data/ptc-v2)",
    )
    parser.add_argument(
        "--beside",
        action="append",
        default=[],
        help="another model timed in the same rounds (repeatable; a name or a directory)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--torch-checkpoint", default=None, help="training checkpoint (last.pt) for the fp32 row"
    )
    parser.add_argument(
        "--bert-base-articles", type=int, default=15, help="dev articles timed with bert-base"
    )
    parser.add_argument(
        "--sizes",
        default="1x,10x,100x,2MB",
        help="length-scaling sizes: multiples of a median dev article, or MB ('' skips)",
    )
    parser.add_argument(
        "--size-timeout", type=float, default=900, help="seconds allowed per scaling size"
    )
    parser.add_argument(
        "--articles", type=int, default=None, help="time only the first N dev articles"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="engines timed in turn; each keeps its fastest"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ["PROPSCAN_THREADS"] = str(args.threads)

    from propscan.ptc.splits import load_split, resolve_data_dir

    dev = load_split(args.data, "dev")
    longest = max(dev.articles, key=lambda article: len(article.text))
    longest_path = resolve_data_dir(args.data) / "dev-articles" / f"article{longest.id}.txt"
    # First, while this process is small: Linux keeps the peak RSS across exec, so a child
    # started after torch is loaded would report this process's peak, not its own.
    peak_memory = peak_memory_of_analyze(args.model, longest_path)
    beside_peaks = {name: peak_memory_of_analyze(name, longest_path) for name in args.beside}
    sizes = [size for size in args.sizes.split(",") if size]
    texts = [article.text for article in dev.articles]
    scaling = length_scaling(args.model, texts, sizes, args.size_timeout) if sizes else []

    import numpy as np
    import torch

    from propscan.evaluation.model_card import machine_description, model_size_bytes
    from propscan.models.registry import load_detector, model_directory
    from propscan.models.transformer.detector import TransformerDetector
    from propscan.models.transformer.encoding import load_tokenizer
    from propscan.models.transformer.network import TorchEncoder, TransformerNetwork, build_network
    from propscan.models.transformer.recipe import default_encoder_dir
    from propscan.pipeline import analyze_many

    torch.set_num_threads(args.threads)
    texts = texts[: args.articles] if args.articles else texts

    detector, load_seconds = timed(load_detector, model_directory(args.model))
    analyze_many(texts[:2], detector)  # warm-up
    quantization = "dynamic" if detector.config.get("quantized") else None
    results: dict = {
        "onnx": {
            "quantized": detector.config.get("quantized"),
            "quantization": quantization,
            "windows_per_call": detector.windowed.windows_per_call,
        }
    }
    results["model_load_seconds"] = round(load_seconds, 3)

    torch_model = build_network(default_encoder_dir(), len(detector.techniques)).eval()
    weights = "pretrained encoder + untrained heads (same arithmetic as the trained model)"
    if args.torch_checkpoint:
        state = torch.load(args.torch_checkpoint, weights_only=False)["model"]
        torch_model.load_state_dict(state)
        weights = f"trained weights from {args.torch_checkpoint}"
    torch_detector = TransformerDetector(
        detector.windowed.tokenizer,
        TorchEncoder(torch_model),
        torch_model.span_head_numpy(),
        detector.config,
    )
    analyze_many(texts[:2], torch_detector)
    results["torch_fp32"] = {"weights": weights}

    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    bert_base = BertModel(BertConfig())  # 12 layers, 768 hidden: bert-base-uncased's shape
    big = TransformerNetwork(bert_base, 768, len(detector.techniques)).eval()
    big_detector = TransformerDetector(
        load_tokenizer(default_encoder_dir()),
        TorchEncoder(big),
        big.span_head_numpy(),
        detector.config,
    )
    subset = texts[: args.bert_base_articles]
    analyze_many(subset[:1], big_detector)

    # the same loaded sessions with every encoder call run one at a time on all threads
    one_at_a_time = TransformerDetector(
        detector.windowed.tokenizer,
        detector.windowed.encoder,
        detector.decoder.span_head,
        detector.config,
        detector.directory,
        detector.companion,
    )
    engines = {
        "onnx": (texts, detector),
        "onnx_one_call_at_a_time": (texts, one_at_a_time),
        "torch_fp32": (texts, torch_detector),
        "bert_base_torch_fp32": (subset, big_detector),
    }
    beside = {}
    for name in args.beside:
        other, seconds = timed(load_detector, model_directory(name))
        analyze_many(texts[:2], other)
        engines[f"beside:{name}"] = (texts, other)
        beside[name] = {
            "model": f"{other.name} {other.version}",
            "model_size_mb": round(model_size_bytes(other.directory) / 1e6, 1),
            "model_load_seconds": round(seconds, 3),
            "peak_memory_mb_longest_dev_article": beside_peaks[name],
        }
    rounds: dict[str, list[dict]] = {name: [] for name in engines}
    for _ in range(max(args.rounds, 1)):
        for name, (timed_texts, engine) in engines.items():
            rounds[name].append(timed_analyze(timed_texts, engine))
            print(name, rounds[name][-1], flush=True)
    for name, measured in rounds.items():
        fastest = min(measured, key=lambda row: row["seconds"])
        results.setdefault(name, {}).update(fastest, rounds=[row["seconds"] for row in measured])
    for name in args.beside:
        beside[name].update(results.pop(f"beside:{name}"))
        beside[name]["relative_to_shipped"] = round(
            beside[name]["characters_per_second"] / results["onnx"]["characters_per_second"], 3
        )
    results["beside"] = beside
    if isinstance(detector, TransformerDetector):
        results["one_article_per_call"] = one_article_per_call(texts, detector)

    onnx_rate = results["onnx"]["characters_per_second"]
    results["speedup_vs_torch_fp32"] = round(
        onnx_rate / results["torch_fp32"]["characters_per_second"], 2
    )
    results["speedup_vs_bert_base_torch_fp32"] = round(
        onnx_rate / results["bert_base_torch_fp32"]["characters_per_second"], 2
    )
    results["peak_memory_mb_longest_dev_article"] = peak_memory
    results["longest_dev_article_characters"] = len(longest.text)
    results["length_scaling"] = scaling
    results["model_size_mb"] = round(model_size_bytes(detector.directory) / 1e6, 1)
    results["setup"] = {
        "threads": args.threads,
        "machine": machine_description(),
        "python": platform.python_version(),
        "model": detector.name + " " + detector.version,
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Speed of `analyze` on {len(texts)} PTC dev articles",
        "",
        f"One process, {args.threads} threads, model already loaded; "
        f"`{shlex.join(['python', 'benchmarks/speed.py', *sys.argv[1:]])}`. "
        f"The engines are timed in turn, {max(args.rounds, 1)} rounds; each row is that "
        "engine's fastest round (every round's seconds are in `speed.json`). Time outside "
        "the encoder is the wall time in which no encoder call ran; encoder tokens/s counts "
        "tokens over the wall time in which one did. The torch engines run one call at a "
        "time on both threads.",
        "",
        "| engine | articles/s | characters/s | encoder tokens/s | time outside the encoder "
        "| articles timed |",
        "|---|---|---|---|---|---|",
    ]
    onnx_label = "propscan, onnxruntime " + (
        f"int8 ({quantization}, {detector.windowed.windows_per_call} windows per call)"
        if results["onnx"]["quantized"]
        else "fp32"
    )
    for key, label in (
        ("onnx", onnx_label),
        ("onnx_one_call_at_a_time", "same, every encoder call one at a time on all threads"),
        ("torch_fp32", "same model, torch fp32"),
        ("bert_base_torch_fp32", "bert-base-sized encoder, torch fp32"),
    ):
        row = results[key]
        lines.append(
            f"| {label} | {row['articles_per_second']} "
            f"| {row['characters_per_second']:,} | {row['encoder_tokens_per_second']:,} "
            f"| {row['share_outside_encoder']:.1%} | {row['articles']} |"
        )
    shipped = results["onnx"]
    lines += [
        "",
        f"- speed-up over the same model in torch fp32: **{results['speedup_vs_torch_fp32']}x**",
        "- speed-up over a bert-base-sized encoder in torch fp32: "
        f"**{results['speedup_vs_bert_base_torch_fp32']}x**",
        f"- encoder calls side by side: {shipped['encoder_calls_side_by_side']} of "
        f"{shipped['encoder_calls']}; propscan's own work (tokenising, companion, decoding) "
        f"took {shipped['main_thread_cpu_seconds']} CPU seconds of the calling thread, "
        f"overlapping the calls",
        f"- model load time: {results['model_load_seconds']} s; "
        f"model size: {results['model_size_mb']} MB",
        f"- peak memory of `propscan analyze` on the longest dev article "
        f"({results['longest_dev_article_characters']:,} characters): "
        f"{results['peak_memory_mb_longest_dev_article']} MB",
        f"- torch fp32 weights: {weights}",
        f"- machine: {results['setup']['machine']}",
    ]
    if beside:
        lines += [
            "",
            f"## Other models, timed in the same rounds as {results['setup']['model']}",
            "",
            "| model | size MB | load s | articles/s | characters/s | speed relative to the "
            "shipped model | peak memory MB (longest dev article) |",
            "|---|---|---|---|---|---|---|",
            *(
                f"| {row['model']} (`{name}`) | {row['model_size_mb']} "
                f"| {row['model_load_seconds']} | {row['articles_per_second']} "
                f"| {row['characters_per_second']:,} | {row['relative_to_shipped']}x "
                f"| {row['peak_memory_mb_longest_dev_article']} |"
                for name, row in beside.items()
            ),
        ]
    if "one_article_per_call" in results:
        lines += [
            "",
            "## One article per call (as `analyze` and the service run)",
            "",
            "| numpy's BLAS and OpenMP pools during analysis | articles/s | characters/s |",
            "|---|---|---|",
            *(
                f"| {label} | {row['articles_per_second']} | {row['characters_per_second']:,} |"
                for label, row in results["one_article_per_call"].items()
            ),
        ]
    if scaling:
        lines += [
            "",
            "## Length scaling (one article per size, fresh process each, model loaded first)",
            "",
            "| size | characters | seconds | seconds per 100k characters | relative to 1x "
            "| peak memory MB |",
            "|---|---|---|---|---|---|",
        ]
        for row in scaling:
            if "timed_out_after_seconds" in row:
                lines.append(
                    f"| {row['size']} | {row['characters']:,} "
                    f"| > {row['timed_out_after_seconds']:.0f} (stopped) | | | |"
                )
                continue
            lines.append(
                f"| {row['size']} | {row['characters']:,} | {row['seconds']} "
                f"| {row['seconds_per_100k_characters']} | {row.get('relative_to_first', '')} "
                f"| {row['peak_memory_mb']} |"
            )
    (args.out / "speed.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
