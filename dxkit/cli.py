"""The ``dxkit`` command. Thin: parse, call the library, print, map errors to exit codes.

Exit codes: 0 ok, 1 a check failed, 2 bad usage or unusable input/output, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

MEASURE_ROWS = [
    ("integrated_lufs", "Integrated loudness", "LUFS"),
    ("lra_lu", "Loudness range", "LU"),
    ("true_peak_dbtp", "True peak", "dBTP"),
    ("sample_peak_dbfs", "Sample peak", "dBFS"),
    ("max_momentary_lufs", "Max momentary", "LUFS"),
    ("max_short_term_lufs", "Max short-term", "LUFS"),
    ("rms_db", "RMS (unweighted)", "dB"),
    ("noise_floor_db", "Noise floor (quietest 500 ms)", "dB"),
    ("duration_s", "Duration", "s"),
    ("sample_rate", "Sample rate", "Hz"),
    ("channels", "Channels", ""),
    ("clipped_samples", "Samples at full scale", ""),
    ("dialogue_lufs", "Dialogue-gated loudness", "LUFS"),
    ("dialogue_fraction", "Share of dialogue", ""),
]


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if math.isfinite(value) else "-inf"
    return str(value)


KEEP_ENDS_HELP = ("where the spec judges room tone (acx), leave the file's ends as they are (default: cut or "
                  "lengthen a head or tail out of range with the file's own room tone)")


def _print_edits(result) -> None:
    """What delivery did to the file's ends (room tone), a line each."""
    for edit in result.edits:
        print(f"  edit  {edit}")


def _print_requirements(reqs, verdict_of) -> None:
    width = max(len(r.name) for r in reqs)
    for r in reqs:
        why = f"  ({r.reason})" if r.reason else ""
        print(f"  {'PASS' if r.passed else 'FAIL'}  {r.name:<{width}}  {_fmt(r.measured):>9}   "
              f"limit {r.limit}{why}")
    print(verdict_of)


def _usage_error(message: str) -> int:
    print(f"dxkit: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_measure(args) -> int:
    from dxkit import measure

    from dxkit.models import WeightsError

    tracks = _tracks(args)
    try:
        measured = [(name, measure(args.file, dialogue=args.dialogue, layout=args.layout, track=track))
                    for name, track in tracks]
    except WeightsError as exc:  # --dialogue without the detector's weights
        return _usage_error(f"--dialogue needs the dialogue detector: {exc}")
    if args.json:
        data = measured[0][1].to_json() if tracks[0][1] is None else \
            {"tracks": [{"track": name, **m.to_json()} for name, m in measured]}
        print(json.dumps(data))
        return EXIT_OK
    for name, m in measured:
        if name is not None:
            print(f"track {name}:")
        data = m.to_json()
        for key, label, unit in MEASURE_ROWS:
            value = data[key]
            if key.startswith("dialogue") and not args.dialogue:
                continue
            note = " (none: under 400 ms, or silent)" if value is None and key == "integrated_lufs" else ""
            print(f"{label:<32} {_fmt(value):>9} {unit}{note}")
    return EXIT_OK


def _tracks(args) -> list[tuple[str | None, str | None]]:
    """What ``measure`` reads: (name, --track value) of each of a recorder's tracks when the file
    is tracks and no --track is given, else the one selection (None, args.track)."""
    from dxkit.deliver.audio import probe
    from dxkit.deliver.layout import of_file

    if args.track is not None:
        return [(None, args.track)]
    layout = of_file(probe(args.file), args.layout)
    if not layout.tracks:
        return [(None, None)]
    return [(name, str(i + 1)) for i, name in enumerate(layout.roles)]


def cmd_detect(args) -> int:
    from dxkit import models
    from dxkit.infer.detect import detect

    try:  # the shipped detector is two networks (infer/detect.py); --network runs one alone
        net = models.load(args.network) if args.network else None
        if net is not None and getattr(net, "family", "") not in models.DETECTORS:
            return _usage_error(f"{args.network} is not a dialogue detector")
        activity = detect(args.file, net, layout=args.layout, track=args.track)
    except models.WeightsError as exc:  # missing, unknown or unreadable weights
        return _usage_error(str(exc))
    stretches = activity.segments()
    if args.json:
        print(json.dumps({"file": args.file, "network": args.network or "+".join(models.DETECTORS), "frame_s": 0.01,
                          "dialogue_fraction": round(activity.fraction, 4),
                          "segments": [{"start_s": a, "end_s": b} for a, b in stretches]}))
        return EXIT_OK
    for a, b in stretches:
        print(f"{a:10.2f} {b:10.2f}  ({b - a:.2f} s)")
    print(f"{len(stretches)} stretch(es) of dialogue, {100 * activity.fraction:.1f} % of the file")
    return EXIT_OK


def cmd_specs(args) -> int:
    from dxkit import specs

    rows = []
    for name in specs.builtin_names():
        s = specs.load(name, allow_unavailable=True)
        out = s.output
        fmt = f"{out.container.upper()} {out.sample_rate / 1000:g} kHz " + (
            f"{out.bitrate_kbps} kbps CBR" if out.container == "mp3" else
            ("32-bit float" if out.bit_depth == 32 else f"{out.bit_depth}-bit") + (" BWF" if out.bwf else ""))
        extra = []
        if s.louder_true_peak_max_dbtp is not None:
            extra.append(f"{s.louder_true_peak_max_dbtp:g} dBTP if louder than {s.louder_above_lufs:g}")
        for label, value, unit in (("sample peak", s.sample_peak_max_dbfs, "dBFS"),
                                   ("max short-term", s.max_short_term_lufs, "LUFS"),
                                   ("LRA", s.lra_max_lu, "LU"), ("noise floor", s.noise_floor_max_db, "dB"),
                                   ("duration", s.duration_max_s, "s")):
            if value is not None:
                extra.append(f"{label} <= {value:g} {unit}")
        rows.append({"name": name, "title": s.title, "loudness": s.loudness_text(),
                     "true_peak_max_dbtp": s.true_peak_max_dbtp, "other": extra, "output": fmt,
                     "available": not s.unavailable, "unavailable": s.unavailable})
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for r in rows:
        print(f"{r['name']:<18} {r['title']}")
        print(f"{'':<18} loudness {r['loudness']}, true peak <= {r['true_peak_max_dbtp']:g} dBTP"
              + (f"; {'; '.join(r['other'])}" if r["other"] else ""))
        print(f"{'':<18} writes {r['output']}")
        if r["unavailable"]:
            print(f"{'':<18} NOT AVAILABLE YET: {r['unavailable']}")
    print("\nAny command that takes --spec also takes the path of your own YAML file; "
          f"copy a preset from {specs.preset_folder()} to start one.")
    return EXIT_OK


def cmd_check(args) -> int:
    from dxkit import check

    result = check(args.file, args.spec, layout=args.layout, track=args.track)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(f"{args.file} against {result.spec.name} ({result.spec.title}):")
        _print_requirements(result.requirements, "PASS" if result.passed else "FAIL")
    return EXIT_OK if result.passed else EXIT_FAILED


def cmd_deliver(args) -> int:
    from pathlib import Path

    from dxkit import deliver, specs
    from dxkit.deliver.report import write_report

    if args.report and not Path(args.report).is_dir():
        return _usage_error(f"report folder {args.report} does not exist")
    spec = specs.resolve(args.spec)
    dialogue = None
    if spec.needs_dialogue:  # dialogue-gated loudness, room tone: find the dialogue first
        from dxkit.deliver.delivery import check_paths
        from dxkit.infer.detect import detect

        check_paths(Path(args.input), Path(args.output), spec)  # before the long pass, not after

        from dxkit.models import WeightsError

        try:
            dialogue = detect(args.input, layout=args.layout, track=args.track).active
        except WeightsError as exc:  # the detector's weights are missing
            return _usage_error(f"spec {spec.name} needs the dialogue detector: {exc}")
    result = deliver(args.input, args.output, spec, highpass_hz=args.highpass, leveler=args.leveler,
                     layout=args.layout, track=args.track,
                     dialogue=dialogue, fit_ends=not args.keep_ends)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.report:
        json_path, html_path = write_report(result, args.report)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        p = result.plan
        print(f"{result.output}: {result.spec.name}, {result.renders} render(s)"
              + (f" after {result.trials} trial(s)" if result.trials else "") + f", gain {p.gain_db:+.2f} dB, "
              f"limiter up to {result.limiter_reduction_db:.1f} dB at {p.ceiling_dbtp:.2f} dBTP")
        _print_edits(result)
        _print_requirements(result.requirements, "PASS" if result.passed else "FAIL")
        if args.report:
            print(f"report: {html_path} and {json_path.name}")
    return EXIT_OK if result.passed else EXIT_FAILED


def _restore_settings(args):
    """The settings of restore and batch; loads no torch (``Settings.check_device`` does)."""
    from dxkit.infer import Settings, parse_chain, parse_strength, resolve_strength

    chain = parse_chain(args.chain)
    if args.spec == "none" and (args.track is not None or args.highpass is not None or args.keep_ends):
        raise ValueError("--track, --highpass and --keep-ends are for the delivery: give --spec, or leave them out")
    if args.spec != "none" and args.bit_depth != "same":
        raise ValueError(f"--bit-depth is for --spec none; spec {args.spec} sets the delivered file's format")
    return Settings(chain, resolve_strength(chain, parse_strength(args.strength, chain), args.spec), args.spec,
                    args.device, args.precision, layout=args.layout, channels=args.channels, track=args.track,
                    highpass_hz=args.highpass, bit_depth=args.bit_depth, fit_ends=not args.keep_ends)


def _restore_jobs(args, suffix: str):
    from pathlib import Path

    from dxkit.infer import Job

    out = Path(args.output)
    if len(args.input) == 1 and not out.is_dir():
        return [Job(Path(args.input[0]), out)]
    if not out.is_dir():
        raise ValueError(f"{out}: with several inputs, -o must be an existing folder")
    names = [Path(src).stem + suffix for src in args.input]
    if len(set(names)) != len(names):
        raise ValueError("two inputs have the same name; use dxkit batch to mirror a folder tree")
    return [Job(Path(src), out / name) for src, name in zip(args.input, names)]


def _duration_or_zero(path) -> float:
    from dxkit.deliver.audio import probe
    from dxkit.deliver.errors import AudioInputError

    try:
        return probe(path).duration_s
    except AudioInputError:
        return 0.0  # the restore reports what is wrong with it


def cmd_restore(args) -> int:
    from pathlib import Path

    from dxkit.deliver import specs

    if args.report and not Path(args.report).is_dir():
        return _usage_error(f"report folder {args.report} does not exist")
    try:
        settings = _restore_settings(args)
        settings.check_device()  # a device this machine lacks is a usage error, before any work
        settings.reports, settings.report_dir = bool(args.report), Path(args.report) if args.report else None
        suffix = ".wav" if args.spec == "none" else specs.resolve(args.spec).output.suffix
        jobs = _restore_jobs(args, suffix)
        if args.learn_noise:
            from dxkit.train.learn import parse_budget, the_denoiser

            budget, base = parse_budget(args.learn_budget, args.device), the_denoiser(settings.chain)
    except ValueError as exc:  # a bad chain, strength, device or weights file (models.WeightsError)
        return _usage_error(str(exc))
    if args.learn_noise:  # learn the scene from all the inputs; the network is kept beside the output
        from dxkit.train.learn import learn, scene_chain

        first = jobs[0].output
        weights = first.with_name(f"{first.stem}.scene.safetensors")
        from dxkit.train.scene_noise import NoiseError

        try:
            with _learn_progress(False) as progress:
                result = learn(args.input, weights, budget_s=budget, base=base, layout=args.layout,
                               device=args.device, progress=progress)
        except NoiseError as exc:  # its hint names dxkit learn's options
            return _usage_error(f"{exc} (with dxkit learn; then restore with --chain)")
        except ValueError as exc:
            return _usage_error(str(exc))
        for text in _learn_summary(result):
            print(text, file=sys.stderr)
        print(f"{weights}: the scene's denoiser, kept for --chain", file=sys.stderr)
        settings.chain, settings.strength = scene_chain(settings.chain, settings.strength, weights)
    return _restore_run(jobs, settings)


def _restore_run(jobs, settings) -> int:
    from pathlib import Path

    from dxkit.infer import restore_files
    from dxkit.infer.status import StatusLine

    started = time.perf_counter()
    line = StatusLine(sys.stderr)
    total = sum(_duration_or_zero(job.source) for job in jobs)

    def progress(seconds: float) -> None:  # on a terminal only: restore prints a line per file
        speed = seconds / max(time.perf_counter() - started, 1e-9)
        line.show(f"restoring: {seconds:.0f} of {total:.0f} s ({100 * seconds / max(total, 1e-9):.0f} %, "
                  f"{speed:.0f}x real time)")

    try:
        outcomes = restore_files(jobs, settings, on_progress=progress)
    except ValueError as exc:  # a weights file that does not load
        return _usage_error(str(exc))
    finally:
        line.close()
    taken = time.perf_counter() - started
    code = EXIT_OK
    for outcome in outcomes:
        if outcome.failure is not None:
            if len(jobs) == 1:
                raise outcome.failure  # one file: its error is the command's error
            print(f"dxkit: error: {outcome.error}", file=sys.stderr)
            code = max(code, EXIT_FAILED)
            continue
        timing = (f" in {taken:.1f} s, RTF {taken / max(outcome.seconds_audio, 1e-9):.3f}" if len(jobs) == 1
                  else "")
        print(f"{outcome.job.output}: restored with {' -> '.join(Path(n).name for n in settings.chain)} "
              f"({outcome.seconds_audio:.1f} s of audio{timing})")
        done = outcome.delivery
        if done is None:
            continue
        for w in done.warnings:
            print(f"warning: {w}", file=sys.stderr)
        _print_edits(done)
        _print_requirements(done.requirements, "PASS" if done.passed else "FAIL")
        if not done.passed:
            code = max(code, EXIT_FAILED)
    return code


def cmd_batch(args) -> int:
    from dxkit.infer.batch import Shard, run_batch
    from dxkit.infer.progress import Progress

    try:
        settings = _restore_settings(args)
        settings.lanes, settings.reports = args.lanes, args.reports
        shard = Shard.from_environment()
        per_folder = _scene_per_folder(args, settings, shard) if args.learn_noise else None
    except ValueError as exc:
        return _usage_error(str(exc))
    _raise_open_file_limit()
    bar = Progress(sys.stderr)
    try:
        summary = run_batch(args.input_dir, args.output_dir, settings, args.jobs, shard, bar.update, per_folder)
    except ValueError as exc:
        return _usage_error(str(exc))
    finally:
        bar.close()
    for line in bar.summary(summary, args.output_dir):
        print(line)
    return EXIT_FAILED if summary.failed or summary.not_passing else EXIT_OK


@contextlib.contextmanager
def _learn_progress(verbose: bool) -> Iterator[Callable[[str], None]]:
    """What learning is doing while the user waits: with ``-v`` every line; otherwise the latest,
    redrawn in place on a terminal (nothing in a log) and erased when learning ends, since the
    summary or the error that follows says it again."""
    from dxkit.infer.status import StatusLine

    if verbose:
        yield lambda line: print(f"  {line}", file=sys.stderr, flush=True)
        return
    status = StatusLine(sys.stderr)
    try:
        yield lambda line: status.show(f"learning: {line}")
    finally:
        status.erase()


def _learn_summary(result) -> list[str]:
    """What ``dxkit learn`` found and did, as lines for the terminal (warnings start with it)."""
    a, noise = result.adaptation, result.noise
    sources = sorted({s.source for s in noise.stretches})
    lines = [f"noise: {noise.seconds:.1f} s from {len(noise.stretches)} stretch(es) of {', '.join(sources)}",
             f"adapted the denoiser for {a.steps} steps ({a.train_seconds:.0f} s; {result.seconds:.0f} s in all)",
             f"check (SI-SDR on speech it never heard, over this noise at "
             f"{'/'.join(f'{s:g}' for s in a.base.by_snr)} dB SNR): base {a.base.mean:.2f} dB, "
             f"adapted {a.tuned.mean:.2f} dB; clean speech {a.base.clean:.2f} / {a.tuned.clean:.2f} dB"]
    lines += [f"warning: {w}" for w in result.warnings]
    if not a.adapted:
        lines.append(f"warning: kept the base network unchanged: {a.reason}")
    return lines


def cmd_learn(args) -> int:
    from pathlib import Path

    from dxkit.deliver.audio import check_output_path
    from dxkit.train.learn import learn, parse_budget
    from dxkit.train.scene_noise import parse_range

    try:
        budget = parse_budget(args.budget, args.device)
        ranges = [parse_range(r) for r in args.noise_range or []]
        if ranges and args.noise:
            raise ValueError("give --noise (room-tone files) or --noise-range (where the noise is in the takes), not both")
        output = Path(args.output)
        if output.suffix != ".safetensors":
            raise ValueError(f"{output}: the learned network is written as a .safetensors file")
        check_output_path(None, output)
    except ValueError as exc:
        return _usage_error(str(exc))
    _threads(args.threads)
    try:
        with _learn_progress(args.verbose) as progress:
            result = learn(args.takes, output, args.noise or [], ranges, budget, args.base, args.layout,
                           args.seed, device=args.device, progress=progress)
    except ValueError as exc:  # a device this machine lacks, a base that is not a weights file
        return _usage_error(str(exc))
    if args.json:
        print(json.dumps({"output": str(output), "adapted": result.adaptation.adapted,
                          "reason": result.adaptation.reason, "seconds": round(result.seconds, 1),
                          "warnings": result.warnings,
                          **_about(output)}))
        return EXIT_OK
    for line in _learn_summary(result):
        print(line, file=sys.stderr if line.startswith("warning") else sys.stdout)
    role = "the adapted denoiser" if result.adaptation.adapted else "the base denoiser, unchanged"
    print(f"{output}: {role}; use it with --chain deplosive,{output},dereverb")
    return EXIT_OK


def _about(path) -> dict:
    from dxkit.models import read_metadata

    return read_metadata(path)[2]


def _threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _scene_per_folder(args, settings, shard):
    """``run_batch``'s ``per_folder`` for ``--learn-noise per-folder``: the denoiser learned from
    each folder's takes, kept as ``.dxkit-scene.safetensors`` in its output folder so that a
    rerun reuses it (while the folder holds the same takes) instead of learning again."""
    from dataclasses import replace
    from pathlib import Path

    from dxkit.deliver.errors import DxkitError
    from dxkit.models import WeightsError, read_metadata
    from dxkit.train.learn import learn, learned_from, parse_budget, scene_chain, the_denoiser

    if shard.world > 1:
        raise ValueError("--learn-noise per-folder learns in one process: run dxkit learn per folder first, "
                         "then batch with --chain")
    budget, base = parse_budget(args.learn_budget, args.device), the_denoiser(settings.chain)

    def choose(out_folder: Path, jobs) -> object:
        weights = out_folder / ".dxkit-scene.safetensors"
        try:
            known = learned_from(read_metadata(weights)[2], [job.source for job in jobs])
        except WeightsError:
            known = False
        if not known:
            print(f"learning the noise of {jobs[0].source.parent} ({len(jobs)} take(s))", file=sys.stderr)
            try:
                out_folder.mkdir(parents=True, exist_ok=True)
                with _learn_progress(False) as progress:
                    result = learn([job.source for job in jobs], weights, budget_s=budget, base=base,
                                   layout=args.layout, device=args.device, progress=progress)
            except (DxkitError, ValueError, OSError) as exc:  # one folder never stops the batch
                print(f"warning: {jobs[0].source.parent}: not learned, restored with {base} as it is ({exc}; "
                      "dxkit learn takes --noise or --noise-range: learn the folder with it, then batch it "
                      "with --chain)", file=sys.stderr)
                return settings
            for text in _learn_summary(result):
                print(f"  {text}", file=sys.stderr)
        chain, strength = scene_chain(settings.chain, settings.strength, weights)
        return replace(settings, chain=chain, strength=strength)

    return choose


def cmd_train(args) -> int:
    import os

    # Hydra and Lightning's DDP launcher re-run the entry module; `python -m dxkit.train` is it.
    os.execv(sys.executable, [sys.executable, "-m", "dxkit.train", *args.overrides])
    return EXIT_OK  # not reached


def cmd_eval(args) -> int:
    from pathlib import Path

    from dxkit.train.evaluate import SOURCES, TASK_CHAIN, evaluate, markdown, write_report

    if not Path(args.evalset).is_dir():
        return _usage_error(f"test set folder {args.evalset} does not exist "
                            "(run from the repository root, or give --evalset)")
    sources = SOURCES if args.only is None else (args.only,)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASK_CHAIN and t != "dialogue"]
    if unknown or not tasks:
        return _usage_error(f"unknown task(s) {', '.join(unknown) or '(none)'}: use {', '.join(TASK_CHAIN)}, dialogue")
    baselines = [b.strip() for b in args.baselines.split(",")] if args.baselines else None
    pairs = [item.split("=", 1) for item in args.networks.split(",")] if args.networks else []
    if any(len(p) != 2 or p[0] not in ("denoise", "dereverb", "deplosive", "activity") for p in pairs):
        return _usage_error(f"--networks {args.networks!r}: give NAME=PATH, NAME one of denoise, dereverb, deplosive, "
                            "activity")
    networks = dict(pairs)
    progress = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else (lambda line: None)
    restoration = [t for t in tasks if t != "dialogue"]
    try:
        report = evaluate(args.evalset, restoration, baselines, networks, args.limit, progress, sources) \
            if restoration else {"conditions": [], "by_kind": {}}
    except FileNotFoundError as e:
        return _usage_error(str(e))
    text = markdown(report) if restoration else ""
    if "dialogue" in tasks:  # the detector: frame F1 and false alarms (train/dialogue_check.py)
        from dxkit.train.dialogue_check import eval_markdown, eval_report

        rows = eval_report(Path(args.evalset), networks.get("activity"), sources,
                           baselines=args.baselines is None or "silero-vad" in args.baselines)
        report["dialogue"] = rows
        text += eval_markdown(rows)
    if args.out:
        write_report(report, args.out)
    print(json.dumps(report) if args.json else text)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dxkit",
        description="Restore location dialogue and deliver it to a loudness spec, verified by measurement.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 bad usage or unusable input/output.")
    parser.add_argument("--version", action="version", version=f"dxkit {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("measure", help="measure loudness, true peak, LRA, RMS, noise floor",
                       description="Measure a file per ITU-R BS.1770-5 and EBU Tech 3341/3342: integrated, "
                                   "momentary and short-term maxima (10 ms hop), LRA, true peak (4x), "
                                   "sample peak, unweighted RMS and noise floor.")
    p.add_argument("file", help="audio file (WAV, FLAC, MP3, ...; 8-192 kHz; mono, stereo, 3.0, 5.x, 7.1, "
                                "or a recorder's tracks: each measured on its own)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object with stable keys (for tracks: {"tracks": [{"track", ...}]})')
    _channel_options(p)
    p.add_argument("--dialogue", action="store_true",
                   help="also find the dialogue (the detector) and measure its loudness: dialogue_lufs and "
                        "dialogue_fraction (null without this flag, or dialogue_lufs where there is no dialogue)")
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser("detect", help="find where dialogue is (stretches with start and end times)",
                       description="Run the dialogue detector over a file (10 ms frames; the centre "
                                   "channel of a 5.1 or 7.1 file) and print each stretch of dialogue.")
    p.add_argument("file", help="audio file (any rate; mono, stereo, 5.1, 7.1)")
    p.add_argument("--json", action="store_true",
                   help='print {"file", "network", "frame_s", "dialogue_fraction", "segments": [{"start_s", "end_s"}]}')
    p.add_argument("--network", help="one detector network alone (activity, silero_vad or a .safetensors file; "
                                     "default: the shipped detector, both)")
    _channel_options(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("specs", help="list the delivery specs and their limits",
                       description="List the built-in delivery specs with their limits and output format.")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=cmd_specs)

    p = sub.add_parser("check", help="verify a file against a spec (exit 1 if it fails)",
                       description="Measure a file and judge every requirement of a spec. "
                                   "Exit 0 when all pass, 1 when any fails.")
    p.add_argument("file", help="audio file to verify")
    p.add_argument("--spec", required=True, help="spec name (see `dxkit specs`) or path to a YAML file")
    p.add_argument("--json", action="store_true",
                   help='print {"spec", "passed", "requirements": [{"name", "measured", "limit", "passed"}]}')
    _channel_options(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("deliver", help="mix, normalise, limit and encode a file to a spec, then verify it",
                       description="High-pass, level, normalise and true-peak limit a file, encode it in "
                                   "the spec's format, then decode and measure what was written and correct "
                                   "until every requirement passes (or say which cannot). Exit 1 if any fails.")
    p.add_argument("input", help="audio file to deliver (never modified)")
    p.add_argument("-o", "--output", required=True, help="output file; its extension must match the spec")
    p.add_argument("--spec", required=True, help="spec name (see `dxkit specs`) or path to a YAML file")
    p.add_argument("--report", metavar="DIR", help="write <output>.qc.json and <output>.qc.html here")
    p.add_argument("--highpass", type=float, metavar="HZ",
                   help="dialogue high-pass in Hz, never on the LFE (default: none, unless a spec file asks)")
    _channel_options(p)
    lev = p.add_mutually_exclusive_group()
    lev.add_argument("--leveler", dest="leveler", action="store_true", default=None, help="ride level (default: spec's)")
    lev.add_argument("--no-leveler", dest="leveler", action="store_false", help="no leveler")
    p.add_argument("--keep-ends", action="store_true", help=KEEP_ENDS_HELP)
    p.add_argument("--json", action="store_true", help="print the QC report JSON")
    p.set_defaults(func=cmd_deliver)

    p = sub.add_parser("restore", help="take noise, reverb and plosive pops out of dialogue with the networks",
                       description="Run the restoration networks on files, in the order given, streamed in "
                                   "bounded memory (at 48 kHz inside), then write a WAV at the input's rate, bit depth, "
                                   "level and length with its bext and iXML metadata (--spec none), or deliver "
                                   "the restored audio to a spec. In a 3.0/5.x/7.1 mix only the dialogue channel "
                                   "is restored; the others, the LFE among them, pass through untouched.")
    p.add_argument("input", nargs="+", help="audio file(s) to restore (never modified)")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.wav with --spec none), or a folder (required with several inputs)")
    _restore_options(p)
    p.add_argument("--report", metavar="DIR", help="with a spec: write the QC report here")
    p.add_argument("--learn-noise", action="store_true",
                   help="first adapt the denoiser to the noise between the lines of the inputs (as dxkit learn; "
                        "all the inputs are one scene; kept as OUTPUT.scene.safetensors), then restore with it")
    p.add_argument("--learn-budget", default="auto", metavar="TIME",
                   help="with --learn-noise: its wall time, e.g. 120s (default: 120 s on the CPU, 30 s on a GPU)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("batch", help="restore (and deliver) every audio file under a folder, resumably",
                       description="Walk IN_DIR for audio files and restore each into the same relative path "
                                   "under OUT_DIR. A rerun skips files already done with the same input, "
                                   "settings and output (checked by SHA-256); a failing file is reported at the "
                                   "end and never stops the batch.")
    p.add_argument("input_dir", metavar="IN_DIR")
    p.add_argument("output_dir", metavar="OUT_DIR")
    _restore_options(p)
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes; with CUDA each takes its own GPU (default: 1)")
    p.add_argument("--reports", action="store_true",
                   help="with a spec: write each file's QC report (.qc.json, .qc.html) beside it")
    p.add_argument("--learn-noise", choices=["per-folder"],
                   help="adapt the denoiser to each folder's noise (its takes are one scene, as dxkit learn) "
                        "before restoring that folder; kept as .dxkit-scene.safetensors in its output folder")
    p.add_argument("--learn-budget", default="auto", metavar="TIME",
                   help="with --learn-noise: wall time per folder (default: 120 s on the CPU, 30 s on a GPU)")
    p.add_argument("--lanes", type=int, default=16,
                   help="channels computed side by side per device batch (default: 16; try 256+ on a GPU)")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("learn", help="adapt the denoiser to the noise of a scene, from its takes, in minutes",
                       description="Find the stretches of the takes where nobody speaks (the dialogue detector), "
                                   "or take the noise from --noise files or --noise-range, and fine-tune the "
                                   "shipped denoiser on that noise under clean speech shipped with dxkit, within "
                                   "a time budget. A check on speech and noise it never trained on keeps the "
                                   "adapted network only if it beats the base; otherwise the base is written "
                                   "unchanged, with a warning. The file works with --chain like any network.")
    p.add_argument("takes", nargs="+", metavar="TAKE", help="the scene's takes (never modified)")
    p.add_argument("-o", "--output", required=True, help="the learned network, a .safetensors file")
    p.add_argument("--noise", action="append", metavar="FILE",
                   help="a room-tone recording of the scene, used whole (repeatable)")
    p.add_argument("--noise-range", action="append", metavar="START-END",
                   help="where the noise is in every take, in seconds or [H:]M:S, e.g. 12.5-20 (repeatable)")
    p.add_argument("--budget", default="auto",
                   help="wall time for all of it, e.g. 120s or 2m (default: 120 s on the CPU, 30 s on a GPU)")
    p.add_argument("--base", default="denoise", help="the network to adapt (default: the shipped denoiser)")
    p.add_argument("--layout", metavar="LAYOUT", help="what the takes' channels are, where the file does not say")
    p.add_argument("--device", default="auto", help="auto (default: a GPU if there is one), cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--seed", type=int, default=0, help="for the examples it makes (default: 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object: the output and what it records")
    p.add_argument("-v", "--verbose", action="store_true", help="print the adaptation's progress")
    p.set_defaults(func=cmd_learn)

    p = sub.add_parser("train", help="train or fine-tune a network (Hydra overrides: key=value ...)",
                       description="Train a network with Lightning; the configuration is Hydra's "
                                   "(configs/train.yaml in the package). Example: dxkit train "
                                   "experiment=custom_noise data.speech_dirs=[/speech] "
                                   "data.noise_dirs=[/my/noise] init_from=denoise")
    p.add_argument("overrides", nargs=argparse.REMAINDER, help="Hydra overrides, e.g. trainer=gpu data.batch_size=32")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="score the networks against open baselines on the held-out test set",
                       description="Build the fixed, seeded test set from held-out speech and compare dxkit's "
                                   "networks with passthrough, noisereduce, ffmpeg afftdn, RNNoise, "
                                   "DeepFilterNet3, WPE and a DSP de-plosive: SI-SDR, PESQ-WB, STOI, DNSMOS, "
                                   "pop energy. Prints a markdown table.")
    p.add_argument("--evalset", default="data/evalset",
                   help="the held-out test material: speech/, wideband/, noise/, rooms/ (default: %(default)s)")
    p.add_argument("--only", choices=["real", "synthetic"],
                   help="only the conditions with real noise and measured rooms, or only the synthetic ones")
    p.add_argument("--tasks", default="denoise,dereverb,deplosive,chain",
                   help="default: %(default)s; dialogue scores the dialogue detector against silero-vad")
    p.add_argument("--baselines", help="comma-separated subset of baselines (default: all that fit each task)")
    p.add_argument("--networks", metavar="NAME=PATH,...", help="evaluate other weights, e.g. denoise=my.safetensors")
    p.add_argument("--limit", type=int, help="use only the first N clips")
    p.add_argument("--out", metavar="DIR", help="also write eval.json and eval.md here")
    p.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    p.add_argument("-v", "--verbose", action="store_true", help="print each score as it comes")
    p.set_defaults(func=cmd_eval)
    return parser


def _raise_open_file_limit() -> None:
    """Let a batch keep many files open (one per lane): the soft limit up to the hard one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _channel_options(p, restore: bool = False) -> None:
    p.add_argument("--layout", metavar="LAYOUT",
                   help="what the channels are, where the file's channel mask or count does not say (a lying "
                        "mask, film order, a recorder's tracks): mono, stereo, 3.0, 5.0, 5.1, 7.1, 5.1-film, "
                        "7.1-film or tracks")
    p.add_argument("--track", metavar="NAME|N[,..]",
                   help="of a recorder's tracks, the one (or stereo pair) to " +
                        ("deliver with --spec" if restore else "use") + " (default: its mix track)")


def _restore_options(p) -> None:
    p.add_argument("--spec", default="none", help="delivery spec after restoring, or none (default)")
    _channel_options(p, restore=True)
    p.add_argument("--channels", metavar="C|N[,..]",
                   help="the channels to restore, by role (C, L, R, ...), track name or number (default: the "
                        "centre of a 3.0/5.x/7.1 mix, every channel otherwise); the others pass through untouched")
    p.add_argument("--bit-depth", choices=("same", "16", "24", "float"), default="same",
                   help="--spec none: the output's bit depth (default: the input's; the rate is always the input's)")
    p.add_argument("--keep-ends", action="store_true", help="with --spec: " + KEEP_ENDS_HELP)
    p.add_argument("--highpass", type=float, metavar="HZ",
                   help="with --spec: the dialogue high-pass before delivery, never on the LFE (default: 80; 0 = off)")
    p.add_argument("--chain", default="deplosive,denoise,dereverb",
                   help="networks to run, in order: names or .safetensors files (default: %(default)s)")
    p.add_argument("--strength", metavar="NAME=DB,...",
                   help="attenuation limit per network in dB, or full for none, e.g. denoise=18,dereverb=full "
                        "(default: denoise and dereverb at most 12 dB each, so room tone stays)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", choices=("fp32", "bf16", "fp16"),
                   help="network arithmetic on CUDA (default: bf16 where the GPU has it, else fp32)")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _version() -> str:
    from dxkit.deliver import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dxkit.deliver.errors import DxkitError

    # A killed job cleans up like Ctrl-C (signal handlers can only be set on the main thread).
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if on_main else None
    try:
        return args.func(args)
    except DxkitError as exc:
        print(f"dxkit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dxkit: interrupted; no partial files left", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `dxkit measure x.wav | head`: the reader left; say nothing more
        # Python's advice (library signal docs, "Note on SIGPIPE"): point stdout at devnull so
        # that the flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
