#!/usr/bin/env python3
# run-tests: duration=5
"""daemon_metrics - MetricsFile= end to end: `once` against the real
emulator writes a Prometheus text file, read back by a strict parser of the
text exposition format 0.0.4 (every line a HELP, a TYPE or a sample; HELP
and TYPE once per family, before its samples; metric and label names per
the data model; label values quoted and escaped; values floats; no sample
twice; counters end in _total; a family's samples contiguous) and checked
as an operator would: the last run's outcome, its start/end timestamps,
stage durations, training hours, API calls by operation, the current stage
idle. A gated run shows outcome "gated". No temporary file is left behind.
"""
import math
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

NDCG = "normalized_discounted_cumulative_gain_at_10"
P = "personalize_retrain_"
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*$")

def parse_labels(s, where):
    labels, i = {}, 0
    while i < len(s):
        m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', s[i:])
        if not m:
            raise ValueError("%s: bad label at %r" % (where, s[i:]))
        name = m.group(1)
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                raise ValueError("%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                n = s[i + 1:i + 2]
                if n not in ("\\", '"', "n"):
                    raise ValueError("%s: bad escape \\%s" % (where, n))
                val.append("\n" if n == "n" else n)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("%s: newline in label value" % where)
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ValueError("%s: label %s twice" % (where, name))
        labels[name] = "".join(val)
        if i < len(s):
            if s[i] != ",":
                raise ValueError("%s: expected , at %r" % (where, s[i:]))
            i += 1
    return labels


def parse(text):
    """Strict: returns {family: {"type", "help", "samples": {labels: value}}}."""
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    fams, order, current, seen = {}, [], None, set()
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % n
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not NAME.match(parts[2]):
                raise ValueError("%s: malformed %s" % (where, line))
            f = fams.setdefault(parts[2], {"samples": {}})
            key = "help" if parts[1] == "HELP" else "type"
            if key in f:
                raise ValueError("%s: second %s for %s" % (where, parts[1], parts[2]))
            if f["samples"]:
                raise ValueError("%s: %s after samples of %s" % (where, parts[1], parts[2]))
            if key == "type" and parts[3] not in ("counter", "gauge", "untyped", "summary", "histogram"):
                raise ValueError("%s: type %s" % (where, parts[3]))
            f[key] = parts[3]
            if parts[2] != current:
                if parts[2] in order:
                    raise ValueError("%s: family %s not contiguous" % (where, parts[2]))
                order.append(parts[2])
                current = parts[2]
            continue
        if line.startswith("#") or not line.strip():
            raise ValueError("%s: stray line %r" % (where, line))
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m:
            raise ValueError("%s: not a sample: %r" % (where, line))
        name, labels = m.group(1), parse_labels(m.group(3) or "", where)
        if name != current or name not in fams or "type" not in fams[name]:
            raise ValueError("%s: sample %s outside its family's block" % (where, name))
        v = m.group(4)
        if v not in ("+Inf", "-Inf", "NaN"):
            float(v)  # raises on garbage
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ValueError("%s: duplicate sample %s" % (where, key))
        seen.add(key)
        fams[name]["samples"][tuple(sorted(labels.items()))] = float(v)
    for name, f in fams.items():
        if "type" not in f or "help" not in f:
            raise ValueError("%s lacks HELP or TYPE" % name)
        if f["type"] == "counter" and not name.endswith("_total"):
            raise ValueError("counter %s does not end in _total" % name)
        if not name.startswith(P):
            raise ValueError("%s lacks the prefix %s" % (name, P))
    return fams


def get(fams, name, **labels):
    f = fams.get(P + name)
    if not f:
        return None
    return f["samples"].get(tuple(sorted(labels.items())))


def case(ctx, label, metrics, extra, want_rc, want_outcome):
    prtest.require_binaries()
    emu = ctx.emulator(overrides=prtest.new_version_metrics(metrics))
    state = ctx.state_dir()
    prom_dir = ctx.path("textfile")
    os.mkdir(prom_dir)
    prom = os.path.join(prom_dir, "personalize-retrain.prom")
    pipe = "m" + label
    cfg = ctx.config(emu, datasets=2, campaign=True,
                     extra=dict({"PipelineName": pipe, "MetricsFile": prom}, **extra))
    r = ctx.cli(cfg, state, "once", log_level=None)
    check(r.rc == want_rc, "%s: once exit %d, want %d: %r" % (label, r.rc, want_rc, r))
    check(os.listdir(prom_dir) == ["personalize-retrain.prom"],
          "%s: files in the textfile directory: %s" % (label, os.listdir(prom_dir)))
    try:
        with open(prom) as f:
            text = f.read()
        fams = parse(text)
    except (OSError, ValueError) as e:
        raise prtest.Fail("%s: the metrics file does not parse: %s" % (label, e))
    check(get(fams, "last_run_outcome", pipeline=pipe, outcome=want_outcome) == 1,
          "%s: last_run_outcome{%s} is not 1:\n%s" % (label, want_outcome, text))
    check(get(fams, "runs_total", pipeline=pipe, outcome=want_outcome) == 1,
          "%s: runs_total{%s} is not 1" % (label, want_outcome))
    start = get(fams, "last_run_start_timestamp_seconds", pipeline=pipe)
    end = get(fams, "last_run_end_timestamp_seconds", pipeline=pipe)
    check(start and end and end >= start and abs(end - time.time()) <= 300,
          "%s: start %s end %s" % (label, start, end))
    check(get(fams, "stage", pipeline=pipe, stage="idle") == 1,
          "%s: current stage is not idle" % label)
    for st in ("importing", "training"):
        v = get(fams, "last_run_stage_duration_seconds", pipeline=pipe, stage=st)
        check(v is not None and v >= 0, "%s: no stage duration for %s" % (label, st))
    calls = fams.get(P + "api_calls_total", {}).get("samples", {})
    ops = {dict(k).get("operation"): v for k, v in calls.items()}
    check(ops.get("CreateDatasetImportJob") == 2 and ops.get("CreateSolutionVersion") == 1,
          "%s: api_calls_total %s" % (label, ops))
    if want_outcome == "gated":
        check(ops.get("GetSolutionMetrics"), "%s: no GetSolutionMetrics counted" % label)
    th = get(fams, "last_version_training_hours", pipeline=pipe)
    check(th is not None and math.isfinite(th) and th >= 0,
          "%s: last_version_training_hours %s" % (label, th))


def strict_parser(ctx):
    bad = "# HELP personalize_retrain_x x\n# TYPE personalize_retrain_x counter\npersonalize_retrain_x 1\n"
    try:
        parse(bad)
    except ValueError:
        return
    raise prtest.Fail("the strict parser accepted a counter without _total")


if __name__ == "__main__":
    prtest.main([
        ("the strict parser refuses a counter without _total", strict_parser),
        ("metrics after a succeeded run",
         lambda ctx: case(ctx, "ok", {NDCG: 0.25}, {}, 0, "succeeded")),
        ("metrics after a gated run",
         lambda ctx: case(ctx, "gated", {NDCG: 0.1}, {"QualityMetric": NDCG}, 1, "gated")),
    ])
