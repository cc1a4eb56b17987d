#!/usr/bin/env python3
"""Plot ns/call per variant from criterion's estimates, as a hand-written SVG (no matplotlib).

Reads <target>/criterion/{per_call,unsampled,nothing_recorded}/*/new/estimates.json (median), writes
benches/per_call.svg and prints a Markdown table with the ratios the issue's targets use.

    python3 benches/scripts/plot.py [TARGET_DIR] [OUT_SVG]

TARGET_DIR defaults to $CARGO_TARGET_DIR, then ./target.
"""

import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
OUT = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "benches" / "per_call.svg"

# Display order: bare first, then what runs with nothing installed, then the enabled variants.
ORDER = [
    ("per_call", "bare"),
    ("per_call", "tracing_instrument_no_subscriber"),
    ("per_call", "ours_disabled_no_init"),
    ("per_call", "ours_disabled_sdk_disabled"),
    ("nothing_recorded", "ours_nothing_recorded"),
    ("unsampled", "ours_unsampled"),
    ("per_call", "otel_counter_2_attrs"),
    ("per_call", "otel_histogram_2_attrs"),
    ("per_call", "fastrace_under_root"),
    ("per_call", "otel_in_span_2_attrs"),
    ("per_call", "tracing_otel_lean"),
    ("per_call", "tracing_otel_default"),
    ("per_call", "hand_written_equivalent"),
    ("per_call", "ours_enabled"),
    ("per_call", "ours_enabled_fields"),
    ("per_call", "hand_written_equivalent_async"),
    ("per_call", "ours_enabled_async"),
]


def estimate(group, name):
    path = TARGET / "criterion" / group / name / "new" / "estimates.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data["median"]["point_estimate"], data["median_abs_dev"]["point_estimate"]


def svg(rows):
    width, bar_h, gap, left, right, top = 900, 22, 8, 300, 120, 50
    height = top + len(rows) * (bar_h + gap) + 50
    plot_w = width - left - right
    top_value = max(v + m for _, v, m in rows) * 1.05
    lo = 0.5
    exponent = math.floor(math.log10(top_value))
    hi = next(m * 10**exponent for m in (1, 2, 5, 10) if m * 10**exponent >= top_value)

    def x(value):
        return left + plot_w * (math.log10(max(value, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="16">'
        "ns per call of a trivial function (criterion median, log scale)</text>",
    ]
    decade = 10 ** math.floor(math.log10(lo))
    while decade <= hi:
        for mult in (1, 2, 5):
            tick = decade * mult
            if lo <= tick <= hi:
                tx = x(tick)
                out.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{height - 40}" stroke="#ddd"/>')
                label = f"{tick:g}"
                out.append(f'<text x="{tx:.1f}" y="{height - 24}" text-anchor="middle" fill="#555">{label}</text>')
        decade *= 10
    for i, (name, value, mad) in enumerate(rows):
        y = top + i * (bar_h + gap)
        color = "#d9480f" if name.startswith("ours") else "#1c7ed6"
        out.append(f'<text x="{left - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{name}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{x(value) - left:.1f}" height="{bar_h}" fill="{color}"/>')
        if mad:
            lo_x, hi_x = x(max(value - mad, lo)), x(value + mad)
            out.append(f'<line x1="{lo_x:.1f}" y1="{y + bar_h / 2}" x2="{hi_x:.1f}" y2="{y + bar_h / 2}" stroke="black"/>')
        out.append(f'<text x="{x(value + mad) + 6:.1f}" y="{y + bar_h * 0.7:.1f}">{value:.1f} ns</text>')
    out.append(
        f'<text x="{left}" y="{height - 6}" fill="#555">orange: this project; blue: alternatives; '
        "whisker: median absolute deviation</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    rows = []
    medians = {}
    for group, name in ORDER:
        found = estimate(group, name)
        if found is None:
            print(f"missing: {group}/{name}", file=sys.stderr)
            continue
        medians[name] = found[0]
        rows.append((name, found[0], found[1]))
    if not rows:
        sys.exit(f"no criterion estimates under {TARGET}/criterion: run cargo bench first")
    OUT.write_text(svg(rows))
    print(f"wrote {OUT}")
    print("| variant | median ns/call | MAD ns |")
    print("|---|---:|---:|")
    for name, value, mad in rows:
        print(f"| {name} | {value:.1f} | {mad:.1f} |")
    bare = medians.get("bare")
    if bare is not None:
        for name in (
            "ours_disabled_no_init",
            "ours_disabled_sdk_disabled",
            "ours_nothing_recorded",
            "ours_unsampled",
        ):
            if name in medians:
                print(f"{name} - bare = {medians[name] - bare:+.2f} ns (target <= 1 ns)")
    if "ours_enabled" in medians and "hand_written_equivalent" in medians:
        ratio = medians["ours_enabled"] / medians["hand_written_equivalent"]
        print(f"ours_enabled / hand_written_equivalent = {ratio:.2f} (target <= 0.35)")
    if "ours_enabled_async" in medians and "hand_written_equivalent_async" in medians:
        ratio = medians["ours_enabled_async"] / medians["hand_written_equivalent_async"]
        print(f"ours_enabled_async / hand_written_equivalent_async = {ratio:.2f}")


if __name__ == "__main__":
    main()
