"""QC report of a delivery: JSON with every value, and one self-contained HTML page with plots.

Plots: short-term loudness over time against the target band (before and after), true-peak
overs above the spec's limit (before and after), and before/after spectrograms. After ``dxkit
restore``, "before" is the user's file as received and a "restored" column shows what the
networks gave delivery. Where delivery cut or lengthened the head's room tone, the "before"
loudness and overs are drawn on the delivered file's timeline (``on_delivered_timeline``).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .audio import write_text_atomic
from .delivery import restoration_text
from .dialogue import segments

if TYPE_CHECKING:
    from .delivery import DeliveryResult
    from .spectrum import Spectrogram

MAX_PLOT_POINTS = 4000


def write_report(result: "DeliveryResult", folder: str | Path) -> tuple[Path, Path]:
    """Write ``<output name>.qc.json`` and ``.qc.html`` into ``folder``; return their paths."""
    folder = Path(folder)
    stem = result.output.name
    json_path = folder / f"{stem}.qc.json"
    html_path = folder / f"{stem}.qc.html"
    write_text_atomic(json_path, json.dumps(result.to_json(), indent=2) + "\n")
    write_text_atomic(html_path, render_html(result))
    return json_path, html_path


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    step = max(1, x.size // MAX_PLOT_POINTS)
    return x[::step], y[::step]


def on_delivered_timeline(result: "DeliveryResult", times_s: np.ndarray) -> np.ndarray:
    """Times in the file as it came (``before``), moved onto the delivered file's timeline: by
    what delivery took off the head to fit its room tone (or added to it)."""
    return np.asarray(times_s) - result.head_cut_s


def _before(result: "DeliveryResult") -> str:
    """The name of the "before" curves (see ``on_delivered_timeline``)."""
    if not result.head_cut_s:
        return "before"
    return f"before (moved {-result.head_cut_s:+.2f} s with the head's room tone)"


def _timeline_note(result: "DeliveryResult") -> str:
    """Says, under the plots, why the "before" curves are moved (``_before``)."""
    if not result.head_cut_s:
        return ""
    done = "took" if result.head_cut_s > 0 else "added"
    return (f"<p>The \"before\" curves are moved by {-result.head_cut_s:+.2f} s: delivery {done} "
            f"{abs(result.head_cut_s):.2f} s of room tone at the head, and both are drawn on the "
            "delivered file's timeline. The spectrogram's \"before\" is on the file's own.</p>")


def _loudness_plot(plt, result: "DeliveryResult") -> str:
    spec = result.spec
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for m, label, colour, moved in ((result.before, _before(result), "#999999", True),
                                    (result.after, "after", "#1f77b4", False)):
        if m.short_term_lufs.size:
            times = on_delivered_timeline(result, m.short_term_times_s) if moved else m.short_term_times_s
            t, s = _thin(times, np.maximum(m.short_term_lufs, -80))
            ax.plot(t, s, color=colour, lw=1, label=f"short-term {label}")
    if result.dialogue is not None:
        for n, (start, end) in enumerate(segments(result.dialogue)):
            ax.axvspan(start, end, color="#ff7f0e", alpha=0.12, lw=0, label="dialogue" if n == 0 else None)
    fraction = result.after.dialogue_fraction
    if spec.measure == "dialogue" and spec.fallback_below_fraction is not None and fraction is not None \
            and fraction < spec.fallback_below_fraction:  # judged on the full programme instead
        ax.axhspan(spec.fallback_low, spec.fallback_high, color="#2ca02c", alpha=0.18,
                   label="target band (full programme: too little dialogue)")
    elif spec.measure in ("integrated", "dialogue"):
        ax.axhspan(spec.low, spec.high, color="#2ca02c", alpha=0.18, label=f"target band ({spec.measure})")
        ax.axhline(spec.target, color="#2ca02c", lw=1)
    if result.after.dialogue_lufs is not None:
        ax.axhline(result.after.dialogue_lufs, color="#ff7f0e", ls="--", lw=1, label="dialogue-gated after")
    if result.after.integrated_lufs is not None:
        ax.axhline(result.after.integrated_lufs, color="#1f77b4", ls="--", lw=1, label="integrated after")
    if spec.max_short_term_lufs is not None:
        ax.axhline(spec.max_short_term_lufs, color="#d62728", lw=1, label="short-term limit")
    ax.set_xlim(0, result.after.duration_s)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("LUFS")
    ax.set_ylim(bottom=max(-70, ax.get_ylim()[0]))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def _overs_plot(plt, result: "DeliveryResult") -> str:
    limit = result.spec.true_peak_max_dbtp
    fig, ax = plt.subplots(figsize=(10, 2.2))
    for m, label, colour, moved in ((result.before, _before(result), "#999999", True),
                                    (result.after, "after", "#d62728", False)):
        if m.overs:
            t, v = np.array(m.overs).T
            ax.scatter(on_delivered_timeline(result, t) if moved else t, v, s=8, color=colour,
                       label=f"{label}: {m.over_count} chunks over")
        else:
            ax.scatter([], [], color=colour, label=f"{label}: no overs")
    ax.axhline(limit, color="black", lw=1, label=f"limit {limit:g} dBTP")
    ax.set_xlim(0, result.after.duration_s)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("dBTP")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def _spectrogram_plot(plt, before: "Spectrogram", after: "Spectrogram") -> str:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    top = max(before.power_db.max(), after.power_db.max())
    for ax, sg, title in ((axes[0], before, "before"), (axes[1], after, "after")):
        keep = sg.freqs_hz >= 20
        mesh = ax.pcolormesh(sg.times_s, sg.freqs_hz[keep], sg.power_db[keep], shading="nearest",
                             vmin=top - 100, vmax=top, cmap="magma")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("Hz")
    fig.colorbar(mesh, ax=axes, label="dB")
    return _png(fig)


def _table(rows: list[list[str]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _source_note(result: "DeliveryResult") -> str:
    if result.restored is None:
        return ""
    return (" (before: the file as received, at 48 kHz; restored: after "
            f"{html.escape(restoration_text(result.restoration))}, before delivery)")


def render_html(result: "DeliveryResult") -> str:
    """The report page as one HTML string with its images inlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = result.to_json()
    verdict = "PASS" if result.passed else "FAIL"
    reqs = [[html.escape(r.name), html.escape(str(r.measured)), html.escape(r.limit),
             f"<b class={'ok' if r.passed else 'bad'}>{'pass' if r.passed else 'FAIL'}</b>",
             html.escape(r.reason)] for r in result.requirements]
    columns = ["before", "restored", "after"] if "restored" in data else ["before", "after"]
    meas = [[k, *(str(data[c][k]) for c in columns)] for k in data["before"]]
    proc = [[html.escape(k), html.escape(str(v))] for k, v in data["processing"].items()]
    images = [_loudness_plot(plt, result), _overs_plot(plt, result)]
    if result.spectrogram_before is not None and result.spectrogram_after is not None:
        images.append(_spectrogram_plot(plt, result.spectrogram_before, result.spectrogram_after))
    plt.close("all")
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in result.warnings)
    notes = html.escape(result.spec.notes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>dxkit QC: {html.escape(result.output.name)} ({verdict})</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 8px 0 16px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
.ok {{ color: #2a7a2a; }} .bad {{ color: #c0392b; }}
h1 span {{ padding: 2px 10px; border-radius: 4px; color: white;
          background: {'#2a7a2a' if result.passed else '#c0392b'}; }}
img {{ max-width: 100%; display: block; margin: 8px 0; }}
</style></head><body>
<h1>{html.escape(result.output.name)} <span>{verdict}</span></h1>
<p>Spec <b>{html.escape(result.spec.name)}</b> ({html.escape(result.spec.title)}):
loudness {html.escape(result.spec.loudness_text())}, true peak &le; {result.spec.true_peak_max_dbtp:g} dBTP.
Measured on the decoded delivered file. Source: {html.escape(str(result.source))}{_source_note(result)}.</p>
<p><i>{notes}</i></p>
{'<ul class=bad>' + warnings + '</ul>' if warnings else ''}
<h2>Requirements</h2>
{_table(reqs, ["requirement", "measured", "limit", "verdict", "why"])}
<h2>Loudness over time</h2><img alt="short-term loudness" src="{images[0]}">
{_timeline_note(result)}
<h2>True-peak overs</h2><img alt="true-peak overs" src="{images[1]}">
{f'<h2>Spectrogram</h2><img alt="spectrogram" src="{images[2]}">' if len(images) > 2 else ''}
<h2>Measurements</h2>
{_table(meas, ["value", *columns])}
<h2>Processing</h2>
{_table(proc, ["step", "value"])}
<p>dxkit {html.escape(data['dxkit_version'])}</p>
</body></html>
"""
