#!/usr/bin/env python3
# run-tests: duration=6
"""daemon_hook - OnRunEnd / OnRunEndTimeout end to end: `once` against the
real emulator with a hook that writes its environment to a file (read as
an operator would), for a run that succeeded and one the quality gate
rejected; a hook that hangs is killed after OnRunEndTimeout and logged;
a failing hook's exit status and stderr are logged; `once` waits for its
hooks before it exits.
"""
import json
import os
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_harness import REPO, SECRET, Emulator, install_signal_cleanup  # noqa: E402
from daemon_once import binary, cli, write_config  # noqa: E402

WORLD = "tests/emulator/worlds/test.json"
ACCOUNT = "arn:aws:personalize:us-east-1:123456789012"
NDCG = "normalized_discounted_cumulative_gain_at_10"

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f.read().split("\0"):
            if "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def env_case(label, metrics, extra, want):
    with open(os.path.join(REPO, WORLD)) as f:
        sols = json.load(f)["solutions"]
    sols[0]["newVersionMetrics"] = [metrics]
    with Emulator(world=WORLD, overrides={"solutions": sols}) as emu, \
            tempfile.TemporaryDirectory(prefix="pr-hook-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        out_file = os.path.join(tmp, "hook.env")
        write_config(cfg, emu.url, 1, True, "hook" + label,
                     extra=["OnRunEnd=/bin/sh -c 'env -0 > \"$0\"' " + out_file] + extra)
        rc, out, err = cli(cfg, state, "once")
        if rc != want["rc"]:
            fail("%s: once exit %d, want %d\n%s" % (label, rc, want["rc"], err))
            return
        if not os.path.exists(out_file):
            fail("%s: the hook did not run (or once did not wait for it)\n%s" % (label, err))
            return
        env = read_env(out_file)
        for k, v in want["env"].items():
            if callable(v):
                if not v(env.get(k)):
                    fail("%s: hook env %s=%r" % (label, k, env.get(k)))
            elif env.get(k) != v:
                fail("%s: hook env %s=%r, want %r" % (label, k, env.get(k), v))
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "NOTIFY_SOCKET"):
            if k in env:
                fail("%s: %s reached the hook" % (label, k))
        if any(SECRET in v for v in env.values()):
            fail("%s: the secret key reached the hook" % label)
        if "OnRunEnd /bin/sh (pipeline hook%s)" % label not in err:
            fail("%s: the hook's end is not logged:\n%s" % (label, err))


def timeout_and_failure():
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-hook2-") as tmp:
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        cfg = os.path.join(tmp, "hang.cfg")
        write_config(cfg, emu.url, 1, False, "hang",
                     extra=["OnRunEnd=/bin/sh -c 'echo going to sleep >&2; exec sleep 30'",
                            "OnRunEndTimeout=1"])
        rc, out, err = cli(cfg, state, "once", timeout=40)
        if rc != 0:
            fail("hanging hook: once exit %d\n%s" % (rc, err))
        if "did not finish within 1 s" not in err or "going to sleep" not in err:
            fail("hanging hook: the kill is not logged:\n%s" % err)
        cfg = os.path.join(tmp, "bad.cfg")
        write_config(cfg, emu.url, 1, False, "badhook",
                     extra=["OnRunEnd=/bin/sh -c 'echo something broke >&2; exit 3'"])
        rc, out, err = cli(cfg, state, "once")
        if rc != 0:
            fail("failing hook: once exit %d (a hook never changes it)\n%s" % (rc, err))
        if "exit status 3" not in err or "something broke" not in err:
            fail("failing hook: exit status or stderr not logged:\n%s" % err)


def main():
    install_signal_cleanup()
    if not os.path.exists(binary()):
        print("no %s: build first" % binary())
        return 1
    is_arn = lambda v: bool(v) and v.startswith(ACCOUNT + ":solution/my-solution/")  # noqa: E731
    cases = [
        ("ok", {NDCG: 0.25}, [], {"rc": 0, "env": {
            "PIPELINE": "hookok", "OUTCOME": "succeeded", "STAGE": "deploying",
            "SOLUTION_VERSION_ARN": is_arn,
            "CAMPAIGN_ARN": ACCOUNT + ":campaign/my-campaign",
            "DURATION_S": lambda v: v is not None and v.isdigit(),
            "REASON": ""}}),
        ("gated", {NDCG: 0.10}, ["QualityMetric=" + NDCG], {"rc": 1, "env": {
            "PIPELINE": "hookgated", "OUTCOME": "gated", "STAGE": "gating",
            "SOLUTION_VERSION_ARN": is_arn,
            "REASON": lambda v: bool(v) and v.startswith("rejected by quality gate: ndcg@10 0.1000 < 0.2205")}}),
    ]
    threads = [threading.Thread(target=env_case, args=c) for c in cases]
    threads.append(threading.Thread(target=timeout_and_failure))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("daemon OnRunEnd hooks: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
