"""Render results: markdown tables, the targets, PNG plots (matplotlib optional)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Row = dict[str, Any]
X = "\u00d7"  # multiplication sign
NONE = "\u2013"  # en dash: no value

VIEWS: tuple[tuple[str, str], ...] = (
    ("v2.1", "ims"),
    ("v2.0", "ims"),
    ("v2.1", "glance"),
    ("v2.0", "glance"),
)


class Results:
    """Look-ups over the timing rows of one run."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.rows: list[Row] = data["timings"]
        self.per_rules = set(data["per_rules"])
        self.labels: dict[str, str] = data["labels"]
        self.engines: list[str] = [e for e in data["engine_order"] if e in self.labels]
        self._index = {
            (r["engine"], r["workload"], r["extras"], r["dialect"], r["rules"]): r
            for r in self.rows
        }

    def row(self, engine: str, workload: str, extras: int, dialect: str, rules: str) -> Row | None:
        """The row an engine contributes to the (dialect, rules) view."""
        # peers read the equivalent v2.1 body
        d = dialect if engine in ("floor", "imspatch") else "v2.1"
        r = rules if engine in self.per_rules else "-"
        return self._index.get((engine, workload, extras, d, r))

    def us(self, engine: str, workload: str, extras: int, dialect: str, rules: str) -> float | None:
        row = self.row(engine, workload, extras, dialect, rules)
        return None if row is None else row["median_us"]

    @property
    def peers(self) -> list[str]:
        return [e for e in self.engines if e not in ("floor", "imspatch")]


def _fmt_us(value: float | None) -> str:
    if value is None:
        return NONE
    if value >= 100_000:
        return f"{value / 1000:,.0f} ms"
    if value >= 10_000:
        return f"{value / 1000:,.1f} ms"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k"
    return f"{value:.0f}"


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def headline(res: Results, workload: str, dialect: str, rules: str) -> list[str]:
    """The README table: one workload on the sample image, one row per engine."""
    n_ops = res.data["workloads"][workload]
    floor = res.us("floor", workload, 0, dialect, rules)
    ims = res.us("imspatch", workload, 0, dialect, rules)
    rows = []
    for engine in res.engines:
        value = res.us(engine, workload, 0, dialect, rules)
        if value is None:
            continue
        vs_floor = f"{value / floor:.2f}{X}" if floor else NONE
        if engine == "imspatch":
            vs_ims = NONE
        else:
            vs_ims = (
                f"{value / ims:.1f}{X} slower"
                if ims and value > ims
                else (f"{ims / value:.2f}{X} faster" if ims else NONE)
            )
            if engine == "floor":
                vs_ims = f"{ims / value:.2f}{X} faster (no checks)" if ims else NONE
        rows.append(
            [
                res.labels[engine],
                _fmt_us(value),
                _fmt_rate(1e6 / value),
                _fmt_rate(n_ops * 1e6 / value),
                vs_floor,
                vs_ims,
            ]
        )
    return _table(
        ["engine", "µs / patch", "patches / s", "operations / s", f"{X} floor", "vs imspatch"],
        rows,
    )


def grid(res: Results, dialect: str, rules: str) -> list[str]:
    header = ["workload", "extra props", "floor µs", "imspatch µs", f"{X} floor", "imspatch ops/s"]
    header += [f"{res.labels[p]} µs ({X} imspatch)" for p in res.peers]
    rows = []
    for workload, n_ops in res.data["workloads"].items():
        for extras in res.data["extras"]:
            floor = res.us("floor", workload, extras, dialect, rules)
            ims = res.us("imspatch", workload, extras, dialect, rules)
            row = [
                f"{workload} ({n_ops:,} ops)",
                f"{extras:,}",
                _fmt_us(floor),
                _fmt_us(ims),
                f"{ims / floor:.2f}" if ims and floor else NONE,
                _fmt_rate(n_ops * 1e6 / ims) if ims else NONE,
            ]
            for peer in res.peers:
                value = res.us(peer, workload, extras, dialect, rules)
                if value is None:
                    row.append(NONE)
                else:
                    row.append(
                        f"{_fmt_us(value)} ({value / ims:.1f}{X})" if ims else _fmt_us(value)
                    )
            rows.append(row)
    return _table(header, rows)


def targets_table(targets: list[dict[str, Any]]) -> list[str]:
    rows = [
        [t["name"], t["measured_text"], t["threshold_text"], "PASS" if t["passed"] else "**MISS**"]
        for t in targets
    ]
    return _table(["target", "measured", "threshold", "result"], rows)


def markdown(data: dict[str, Any]) -> str:
    res = Results(data)
    m = data["machine"]
    lines = [
        "# imspatch benchmark results",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['platform']}",
        f"- Python {m['python']} ({m['implementation']}); {data['date']}; clock: "
        + ("process CPU time" if data.get("clock", "cpu") == "cpu" else "wall time"),
        f"- imspatch {data.get('imspatch', {}).get('version', '?')} at commit "
        f"{data.get('imspatch', {}).get('commit', '?')}",
        f"- command: `{data['command']}`"
        + (" (**quick mode: not meaningful**)" if data["quick"] else ""),
        "- engines: "
        + "; ".join(f"{res.labels[e]}: {data['versions'][e] or 'stdlib'}" for e in res.engines),
    ]
    if data["skipped"]:
        lines.append(
            "- skipped: " + "; ".join(f"{k}: {v}" for k, v in sorted(data["skipped"].items()))
        )
    lines.append(
        "- jsonschema's schema: " + "; ".join(f"{k}: `{v}`" for k, v in data["schemas"].items())
    )
    lines += [
        "",
        "Times are medians of interleaved samples, end to end: body bytes in, validated new image"
        " out, input image untouched. Peers speak RFC 6902 only and run on the equivalent v2.1"
        " body in every view. The floor is `json.loads` + `dict(image)` + direct assignments,"
        " no checks at all. Workloads: a = `replace /name`; b = 10 mixed operations on `name`,"
        " `__description` and custom properties; c = 1,000 and d = 100,000 operations (b's"
        " cycle repeated); on the IMS documentation's sample image plus 0 to 10,000 extra custom"
        " properties.",
        "",
    ]
    if "b" in data["workloads"]:
        lines += [
            "## Headline: workload b (10 operations), sample image, IMS rules, v2.1",
            "",
            *headline(res, "b", "v2.1", "ims"),
            "",
        ]
    lines += [
        "## Targets",
        "",
        *targets_table(data["targets"]),
        "",
    ]
    for dialect, rules in VIEWS:
        lines += [
            f"## All timings: {dialect} body, {rules} rules",
            "",
            *grid(res, dialect, rules),
            "",
        ]
    if data.get("memory"):
        lines += ["## Peak memory (tracemalloc), workload d", ""]
        rows = []
        for r in data["memory"]:
            rows.append(
                [
                    res.labels[r["engine"]],
                    r["dialect"],
                    r["rules"],
                    f"{r['extras']:,}",
                    f"{r['peak_bytes'] / 2**20:.1f} MiB",
                    f"{r['vs_floor']:.2f}{X}",
                ]
            )
        lines += [
            *_table(["engine", "body", "rules", "extra props", "peak", f"{X} floor"], rows),
            "",
        ]
    imp = data.get("import")
    if imp:
        lines += [
            "## Import time",
            "",
            f"`python -c 'import imspatch'` vs `python -c 'import json'`, {imp['runs']} interleaved"
            f" runs each ({imp.get('clock', 'wall')}):",
            "",
            *_table(
                ["", "min ms", "median ms"],
                [
                    [
                        "import json",
                        f"{imp['json']['min_ms']:.1f}",
                        f"{imp['json']['median_ms']:.1f}",
                    ],
                    [
                        "import imspatch",
                        f"{imp['imspatch']['min_ms']:.1f}",
                        f"{imp['imspatch']['median_ms']:.1f}",
                    ],
                    ["extra", f"{imp['extra_min_ms']:+.1f}", f"{imp['extra_median_ms']:+.1f}"],
                ],
            ),
            "",
        ]
    if data.get("plots"):
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in data["plots"]] + [""]
    return "\n".join(lines)


def plots(data: dict[str, Any], out: Path) -> list[str]:
    """Draw the PNGs; return their file names ([] without matplotlib)."""
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return []
    res = Results(data)
    styles: dict[str, dict[str, Any]] = {
        "floor": {"color": "black", "linestyle": "--"},
        "imspatch": {"color": "tab:red", "linewidth": 2.5},
        "jsonpatch_copy": {"color": "tab:blue"},
        "jsonpatch_inplace": {"color": "tab:orange"},
        "jsonpatch_jsonschema": {"color": "tab:green"},
        "pyjsonpatch_inplace": {"color": "tab:purple"},
        "fastjsonpatch_copy": {"color": "tab:brown"},
        "fastjsonpatch_inplace": {"color": "tab:pink"},
    }
    names: list[str] = []

    def panel(ax: Any, lines: dict[str, list[tuple[float, float]]], title: str) -> None:
        for engine, points in lines.items():
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=res.labels[engine], **styles.get(engine, {}))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)

    def save(fig: Any, axes: Any, xlabel: str, title: str, name: str) -> None:
        for ax in axes[1]:
            ax.set_xlabel(xlabel)
        for ax in axes[:, 0]:
            ax.set_ylabel("µs per patch (median)")
        axes[0, 0].legend(fontsize=8)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        names.append(name)

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), sharex=True, sharey=True)
    for ax, (dialect, rules) in zip(axes.flat, VIEWS, strict=True):
        lines = {
            engine: [
                (n_ops, value)
                for workload, n_ops in data["workloads"].items()
                if (value := res.us(engine, workload, 0, dialect, rules)) is not None
            ]
            for engine in res.engines
        }
        panel(ax, lines, f"{dialect} body, {rules} rules, sample image")
    machine = data["machine"]
    save(
        fig,
        axes,
        "operations per patch",
        f"Cost against number of operations — {machine['cpu']}, Python {machine['python']}",
        "cost_vs_operations.png",
    )

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), sharex=True)
    for ax, (workload, n_ops) in zip(axes.flat, data["workloads"].items(), strict=False):
        lines = {
            engine: [
                (row["image_keys"], row["median_us"])
                for extras in data["extras"]
                if (row := res.row(engine, workload, extras, "v2.1", "ims")) is not None
            ]
            for engine in res.engines
        }
        panel(ax, lines, f"workload {workload} ({n_ops:,} ops), v2.1 body, ims rules")
    save(fig, axes, "properties in the image", "Cost against image size", "cost_vs_image_size.png")
    return names
