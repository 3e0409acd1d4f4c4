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
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import BIN, REPO, answered, check  # noqa: E402

NDCG = "normalized_discounted_cumulative_gain_at_10"
MSGID_REJECTED = "0055b3f3303546d2840d13b063de0f06"  # include/msgid.h
JOURNALD = "/lib/systemd/systemd-journald"


def run_case(ctx, label, new_metrics, gate_keys, want_rc, want_updates, want_text,
             want_outcome, journal=False):
    prtest.require_binaries()
    emu = ctx.emulator(overrides=prtest.new_version_metrics(new_metrics))
    state = ctx.state_dir()
    name = re.sub(r"[^a-z0-9]", "", label)
    cfg = ctx.config(emu, datasets=1, campaign=True,
                     extra=dict({"PipelineName": name}, **gate_keys))
    if journal:
        r, jentries = once_in_journal(ctx, cfg, state)
    else:
        r = ctx.cli(cfg, state, "once", log_level=None)
        jentries = None
    check(r.rc == want_rc, "%s: exit %d, want %d: %r" % (label, r.rc, want_rc, r))
    check(not want_text or want_text in r.err + r.out,
          "%s: %r not in the output: %r" % (label, want_text, r))
    led = emu.ledger_lines()
    versions = answered(led, "CreateSolutionVersion")
    check(len(versions) == 1, "%s: %d CreateSolutionVersion, want 1" % (label, len(versions)))
    new_arn = versions[0].get("resultArn")
    metrics = [x for x in led if x["operation"] == "GetSolutionMetrics"]
    asked = sorted(x["params"].get("solutionVersionArn") for x in metrics)
    check(new_arn in asked, "%s: no GetSolutionMetrics for the new version (%s)" % (label, asked))
    updates = answered(led, "UpdateCampaign")
    check(len(updates) == want_updates,
          "%s: %d UpdateCampaign, want %d" % (label, len(updates), want_updates))
    check(not updates or updates[0]["params"].get("solutionVersionArn") == new_arn,
          "%s: deployed %s, not %s" % (label, updates and updates[0]["params"], new_arn))
    r = ctx.cli(cfg, state, "status", "--json", timeout=10, log_level=None)
    try:
        h = json.loads(r.out)["pipelines"][0]["history"][0]
    except (ValueError, KeyError, IndexError) as e:
        raise prtest.Fail("%s: status --json unusable (%s): %r" % (label, e, r))
    check(h.get("outcome") == want_outcome,
          "%s: status outcome %s, want %s" % (label, h.get("outcome"), want_outcome))
    check(want_outcome == "succeeded" or not want_text or want_text in h.get("reason", ""),
          "%s: status reason %r lacks %r" % (label, h.get("reason"), want_text))
    if want_outcome == "gated":
        r = ctx.cli(cfg, state, "status", timeout=10, log_level=None)
        check("gated" in r.out and want_text in r.out,
              "%s: status does not show the gated run:\n%s" % (label, r.out))
    if journal and jentries is not None:
        hits = [j for j in jentries if j.get("MESSAGE_ID") == MSGID_REJECTED]
        check(hits, "%s: no journal entry with MESSAGE_ID=%s (%d entries)"
              % (label, MSGID_REJECTED, len(jentries)))
        check(want_text in hits[0].get("MESSAGE", "") and hits[0].get("PIPELINE") == name,
              "%s: journal entry %s" % (label, hits[0]))


def once_in_journal(ctx, cfg, state):
    """`once` with stderr on a private journald's stream (unshare); returns
    (Result, entries) with entries None when it cannot be set up (noted)."""
    if os.geteuid() != 0 or not os.path.exists(JOURNALD) or \
            not shutil.which("unshare") or not shutil.which("journalctl"):
        ctx.log("note: no root/journald/unshare: MESSAGE_ID not checked")
        return ctx.cli(cfg, state, "once", log_level=None), None
    t0 = time.monotonic()
    p = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        sys.executable, os.path.abspath(__file__), "--in-journal",
                        BIN, cfg, state],
                       capture_output=True, text=True, timeout=120, env=ctx.env(), cwd=REPO)
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        ctx.log("note: private journald failed (%s): MESSAGE_ID not checked",
                p.stderr.strip()[-300:])
        return ctx.cli(cfg, state, "once", log_level=None), None
    if res.get("skip"):
        ctx.log("note: %s: MESSAGE_ID not checked", res["skip"])
        return ctx.cli(cfg, state, "once", log_level=None), None
    # the messages went to the journal: their text stands in for stderr
    text = "\n".join(j.get("MESSAGE", "") for j in res["entries"])
    return prtest.Result(res["rc"], res["out"], text, time.monotonic() - t0), res["entries"]


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


def case(*args):
    return lambda ctx: run_case(ctx, *args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--in-journal":
        sys.exit(in_journal(sys.argv[2:]))
    gate = {"QualityMetric": NDCG, "MaxRegression": "2%"}
    prtest.main([
        ("pass", case("pass", {NDCG: 0.2300, "coverage": 0.3}, gate, 0, 1,
                      "quality gate passed: ndcg@10 0.2300 >= 0.2205 - 2%", "succeeded", False)),
        ("regress", case("regress", {NDCG: 0.2000, "coverage": 0.3}, gate, 1, 0,
                         "rejected by quality gate: ndcg@10 0.2000 < 0.2205 - 2%", "gated",
                         True)),
        ("floor", case("floor", {NDCG: 0.2300}, dict(gate, MinQuality="0.25"), 1, 0,
                       "rejected by quality gate: ndcg@10 0.2300 < MinQuality 0.2500", "gated",
                       False)),
        ("missing", case("missing", {"coverage": 0.3}, {"QualityMetric": "hit_at_7"}, 1, 0,
                         "metric hit_at_7 not in GetSolutionMetrics", "failed", False)),
    ], parallel=4)
