#!/usr/bin/env python3
# run-tests: duration=5
"""daemon_gate - the quality gate (QualityMetric, MaxRegression, MinQuality)
end to end: `once` against the real emulator, whose world gives the new
solution version the metrics of each case (newVersionMetrics) while the
campaign serves version 0a1b2c3d (ndcg@10 0.2205).

- pass: the new version's ndcg@10 0.2300 >= 0.2205 - 2%: exit 0, both
  versions' GetSolutionMetrics in the ledger, UpdateCampaign to the new one.
- regress: 0.2000 < 0.2205 - 2%: exit 1, the gate's line ("rejected by
  quality gate: ndcg@10 0.2000 < 0.2205 - 2%") on stderr, no UpdateCampaign,
  `status` and `status --json` show the run as gated with that reason; the
  journal entry carries MESSAGE_ID=MSGID_QUALITY_GATE_REJECTED (checked
  with a private journald in a mount namespace; skipped with a note when
  that cannot be set up).
- MinQuality: a version above the current one but below the floor: gated.
- missing metric: QualityMetric=hit_at_7 (absent): exit 1, a clear error
  naming the metric, no UpdateCampaign.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_harness import REPO, Emulator, install_signal_cleanup  # noqa: E402
from daemon_once import binary, cli, count, env, write_config  # noqa: E402

WORLD = "tests/emulator/worlds/test.json"
NDCG = "normalized_discounted_cumulative_gain_at_10"
MSGID_REJECTED = "0055b3f3303546d2840d13b063de0f06"  # include/msgid.h
JOURNALD = "/lib/systemd/systemd-journald"

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def world_with(new_metrics):
    with open(os.path.join(REPO, WORLD)) as f:
        w = json.load(f)
    sols = w["solutions"]
    sols[0]["newVersionMetrics"] = [new_metrics]
    return {"solutions": sols}


def ok(led, op):
    return [x for x in led if x["operation"] == op and x["status"] == 200]


def run_case(label, new_metrics, gate_keys, want_rc, want_updates, want_text,
             want_outcome, journal=False):
    with Emulator(world=WORLD, overrides=world_with(new_metrics)) as emu, \
            tempfile.TemporaryDirectory(prefix="pr-gate-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        name = re.sub(r"[^a-z0-9]", "", label)
        write_config(cfg, emu.url, 1, True, name, extra=gate_keys)
        if journal:
            rc, out, err, jentries = once_in_journal(cfg, state)
        else:
            rc, out, err = cli(cfg, state, "once")
            jentries = None
        if rc != want_rc:
            fail("%s: exit %d, want %d\n%s" % (label, rc, want_rc, err))
            return
        if want_text and want_text not in err + out:
            fail("%s: %r not in the output:\n%s%s" % (label, want_text, out, err))
        led = emu.ledger()
        versions = ok(led, "CreateSolutionVersion")
        if len(versions) != 1:
            fail("%s: %d CreateSolutionVersion, want 1" % (label, len(versions)))
            return
        new_arn = versions[0].get("resultArn")
        metrics = count(led, "GetSolutionMetrics")
        asked = sorted(x["params"].get("solutionVersionArn") for x in metrics)
        if new_arn not in asked:
            fail("%s: no GetSolutionMetrics for the new version (%s)" % (label, asked))
        updates = ok(led, "UpdateCampaign")
        if len(updates) != want_updates:
            fail("%s: %d UpdateCampaign, want %d" % (label, len(updates), want_updates))
        elif updates and updates[0]["params"].get("solutionVersionArn") != new_arn:
            fail("%s: deployed %s, not %s" % (label, updates[0]["params"], new_arn))
        rc, out, err = cli(cfg, state, "status", "--json", timeout=10)
        try:
            h = json.loads(out)["pipelines"][0]["history"][0]
            if h["outcome"] != want_outcome:
                fail("%s: status outcome %s, want %s" % (label, h["outcome"], want_outcome))
            if want_outcome != "succeeded" and want_text and want_text not in h.get("reason", ""):
                fail("%s: status reason %r lacks %r" % (label, h.get("reason"), want_text))
        except (ValueError, KeyError, IndexError) as e:
            fail("%s: status --json unusable (%s): %s %s" % (label, e, out[:300], err))
        if want_outcome == "gated":
            rc, out, err = cli(cfg, state, "status", timeout=10)
            if "gated" not in out or want_text not in out:
                fail("%s: status does not show the gated run:\n%s" % (label, out))
        if journal and jentries is not None:
            hits = [j for j in jentries if j.get("MESSAGE_ID") == MSGID_REJECTED]
            if not hits:
                fail("%s: no journal entry with MESSAGE_ID=%s (%d entries)"
                     % (label, MSGID_REJECTED, len(jentries)))
            elif want_text not in hits[0].get("MESSAGE", "") or \
                    hits[0].get("PIPELINE") != name:
                fail("%s: journal entry %s" % (label, hits[0]))


def once_in_journal(cfg, state):
    """`once` with stderr on a private journald's stream (unshare); returns
    (rc, out, err, entries) with entries None when it cannot be set up."""
    if os.geteuid() != 0 or not os.path.exists(JOURNALD) or \
            not shutil.which("unshare") or not shutil.which("journalctl"):
        print("note: no root/journald/unshare: MESSAGE_ID not checked", flush=True)
        rc, out, err = cli(cfg, state, "once")
        return rc, out, err, None
    e = env()
    p = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        sys.executable, os.path.abspath(__file__), "--in-journal",
                        binary(), cfg, state],
                       capture_output=True, text=True, timeout=120, env=e, cwd=REPO)
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print("note: private journald failed (%s): MESSAGE_ID not checked"
              % (p.stderr.strip()[-300:]), flush=True)
        rc, out, err = cli(cfg, state, "once")
        return rc, out, err, None
    if res.get("skip"):
        print("note: %s: MESSAGE_ID not checked" % res["skip"], flush=True)
        rc, out, err = cli(cfg, state, "once")
        return rc, out, err, None
    # the messages went to the journal: their text stands in for stderr
    text = "\n".join(j.get("MESSAGE", "") for j in res["entries"])
    return res["rc"], res["out"], text, res["entries"]


def in_journal(argv):
    """Runs inside `unshare --mount`: private tmpfs for journald, the daemon
    with stderr on a journal stream (JOURNAL_STREAM set), the entries out."""
    bin_, cfg, state = argv
    jd = None
    try:
        for d in ("/run/systemd", "/run/log", "/var/log/journal"):
            os.makedirs(d, exist_ok=True)
            r = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(json.dumps({"skip": "mount tmpfs on %s: %s" % (d, r.stderr.strip())}))
                return 0
        jd = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        sock_path = "/run/systemd/journal/stdout"
        for _ in range(200):
            if os.path.exists(sock_path):
                break
            time.sleep(0.02)
        else:
            print(json.dumps({"skip": "journald did not come up"}))
            return 0
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        # the stream protocol's header: identifier, unit, priority,
        # level prefix, forward to syslog, kmsg, console
        s.sendall(b"personalize-retrain\n\n6\n1\n0\n0\n0\n")
        st = os.fstat(s.fileno())
        e = dict(os.environ)
        e["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        p = subprocess.run([bin_, "-c", cfg, "--state-dir", state, "once"],
                           stdout=subprocess.PIPE, stderr=s.fileno(), text=True,
                           timeout=60, env=e, cwd=REPO)
        s.close()
        entries = []
        for _ in range(100):  # journald writes asynchronously
            j = subprocess.run(["journalctl", "-D", "/run/log/journal", "--no-pager",
                                "-o", "json", "SYSLOG_IDENTIFIER=personalize-retrain"],
                               capture_output=True, text=True)
            entries = [json.loads(line) for line in j.stdout.splitlines() if line.strip()]
            if any(x.get("MESSAGE_ID") for x in entries):
                break
            time.sleep(0.05)
        print(json.dumps({"rc": p.returncode, "out": p.stdout, "entries": entries}))
        return 0
    finally:
        if jd:
            jd.terminate()
            jd.wait()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--in-journal":
        return in_journal(sys.argv[2:])
    install_signal_cleanup()
    if not os.path.exists(binary()):
        print("no %s: build first" % binary())
        return 1
    gate = ["QualityMetric=" + NDCG, "MaxRegression=2%"]
    cases = [
        ("pass", {NDCG: 0.2300, "coverage": 0.3}, gate, 0, 1,
         "quality gate passed: ndcg@10 0.2300 >= 0.2205 - 2%", "succeeded", False),
        ("regress", {NDCG: 0.2000, "coverage": 0.3}, gate, 1, 0,
         "rejected by quality gate: ndcg@10 0.2000 < 0.2205 - 2%", "gated", True),
        ("floor", {NDCG: 0.2300}, gate + ["MinQuality=0.25"], 1, 0,
         "rejected by quality gate: ndcg@10 0.2300 < MinQuality 0.2500", "gated", False),
        ("missing", {"coverage": 0.3}, ["QualityMetric=hit_at_7"], 1, 0,
         "metric hit_at_7 not in GetSolutionMetrics", "failed", False),
    ]
    threads = [threading.Thread(target=run_case, args=c) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("daemon quality gate: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
