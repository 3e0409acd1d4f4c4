#!/usr/bin/env python3
# run-tests: duration=6
"""daemon_hook - OnRunEnd / OnRunEndTimeout end to end: `once` against the
real emulator with a hook that writes its environment to a file (read as
an operator would), for a run that succeeded and one the quality gate
rejected; a hook that hangs is killed after OnRunEndTimeout and logged;
a failing hook's exit status and stderr are logged; `once` waits for its
hooks before it exits.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import ARN, SECRET, check  # noqa: E402

NDCG = "normalized_discounted_cumulative_gain_at_10"


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f.read().split("\0"):
            if "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def env_case(ctx, label, metrics, extra, want):
    prtest.require_binaries()
    emu = ctx.emulator(overrides=prtest.new_version_metrics(metrics))
    state = ctx.state_dir()
    out_file = ctx.path("hook.env")
    cfg = ctx.config(emu, datasets=1, campaign=True, extra=dict(
        {"PipelineName": "hook" + label,
         "OnRunEnd": "/bin/sh -c 'env -0 > \"$0\"' " + out_file}, **extra))
    r = ctx.cli(cfg, state, "once", log_level=None)
    check(r.rc == want["rc"], "%s: once exit %d, want %d: %r" % (label, r.rc, want["rc"], r))
    check(os.path.exists(out_file),
          "%s: the hook did not run (or once did not wait for it): %r" % (label, r))
    env = read_env(out_file)
    for k, v in want["env"].items():
        if callable(v):
            check(v(env.get(k)), "%s: hook env %s=%r" % (label, k, env.get(k)))
        else:
            check(env.get(k) == v, "%s: hook env %s=%r, want %r" % (label, k, env.get(k), v))
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "NOTIFY_SOCKET"):
        check(k not in env, "%s: %s reached the hook" % (label, k))
    check(not any(SECRET in v for v in env.values()),
          "%s: the secret key reached the hook" % label)
    check("OnRunEnd /bin/sh (pipeline hook%s)" % label in r.err,
          "%s: the hook's end is not logged:\n%s" % (label, r.err))


def is_arn(v):
    return bool(v) and v.startswith(ARN + "solution/my-solution/")


def hook_ok(ctx):
    env_case(ctx, "ok", {NDCG: 0.25}, {}, {"rc": 0, "env": {
        "PIPELINE": "hookok", "OUTCOME": "succeeded", "STAGE": "deploying",
        "SOLUTION_VERSION_ARN": is_arn,
        "CAMPAIGN_ARN": ARN + "campaign/my-campaign",
        "DURATION_S": lambda v: v is not None and v.isdigit(),
        "REASON": ""}})


def hook_gated(ctx):
    env_case(ctx, "gated", {NDCG: 0.10}, {"QualityMetric": NDCG}, {"rc": 1, "env": {
        "PIPELINE": "hookgated", "OUTCOME": "gated", "STAGE": "gating",
        "SOLUTION_VERSION_ARN": is_arn,
        "REASON": lambda v: bool(v) and v.startswith(
            "rejected by quality gate: ndcg@10 0.1000 < 0.2205")}})


def timeout_and_failure(ctx):
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, campaign=False, extra={
        "PipelineName": "hang",
        "OnRunEnd": "/bin/sh -c 'echo going to sleep >&2; exec sleep 30'",
        "OnRunEndTimeout": "1"})
    r = ctx.cli(cfg, state, "once", log_level=None, timeout=40)
    check(r.rc == 0, "hanging hook: %r" % r)
    check("did not finish within 1 s" in r.err and "going to sleep" in r.err,
          "hanging hook: the kill is not logged:\n%s" % r.err)
    cfg = ctx.config(emu, datasets=1, campaign=False, extra={
        "PipelineName": "badhook",
        "OnRunEnd": "/bin/sh -c 'echo something broke >&2; exit 3'"})
    r = ctx.cli(cfg, state, "once", log_level=None)
    check(r.rc == 0, "failing hook: once exit %d (a hook never changes it): %r" % (r.rc, r))
    check("exit status 3" in r.err and "something broke" in r.err,
          "failing hook: exit status or stderr not logged:\n%s" % r.err)


if __name__ == "__main__":
    prtest.main([
        ("hook env after a succeeded run", hook_ok),
        ("hook env after a gated run", hook_gated),
        ("a hanging hook is killed, a failing one logged", timeout_and_failure),
    ])
