#!/usr/bin/env python3
# run-tests: duration=75
"""daemon_precheck_stale - the describe before UpdateCampaign, when the
update's turn comes late.

Before each deploy the run describes the campaign (to learn what it serves
and to follow an update already in flight). An UpdateCampaign sent in
answer to that describe keeps its reply as the late-host pre-check
(src/runner.c), but only when the rate limit grants the update within a
minute of the reply (PRECHECK_REUSE_USEC); an older reply could miss an
update another host made meanwhile, so the campaign is described again.

One `once` (3 datasets, a campaign; MaxApiCallsPerSecond=1, so the update
waits about a second for its turn after the describe) is stopped with
SIGSTOP as soon as it logs the describe's reply and continued 61 s later
(CLOCK_MONOTONIC, which the age is measured on, runs on while a process is
stopped). Asserted: exit 0; the log says the campaign is described again;
between training and UpdateCampaign the ledger holds exactly two
DescribeCampaign (without the pause it holds one: daemon_once.py); one
run's worth of jobs (one import per dataset, one version, one update).
When the update went out before the stop landed (the machine stalled for
the whole second), the case fails with that reason rather than passing
without having tested the fallback."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

DATASETS = 3
PAUSE_S = 61        # over the reuse window (60 s)
REPLY_LINE = "DescribeCampaign attempt 1: HTTP 200"
AGAIN_LINE = "before UpdateCampaign's turn; describing it again"


def case_stale(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, datasets=DATASETS, campaign=True,
                     extra={"MaxApiCallsPerSecond": "1"})
    sd = ctx.state_dir()
    p = ctx.spawn(cfg, sd, "once")
    prtest.wait_until(lambda: REPLY_LINE in p.err() or not p.alive(), 60,
                      "the describe before the deploy")
    check(p.alive(), "once ended before it described the campaign:\n%r" % p.result())
    p.signal(signal.SIGSTOP)
    try:
        ops = [e["operation"] for e in emu.ledger_lines() if e.get("operation")]
        check("UpdateCampaign" not in ops,
              "UpdateCampaign went out before the stop landed (the machine stalled "
              "for over a second): the fallback was not exercised")
        time.sleep(PAUSE_S)
    finally:
        p.signal(signal.SIGCONT)
    r = p.wait(prtest.RUN_TIMEOUT_S)
    check(r.rc == 0, "once: exit %s, want 0:\n%r" % (r.rc, r))
    check(AGAIN_LINE in r.err, "the log does not say the campaign is described again:\n%s"
          % prtest.tail(r.err))
    ops = [e["operation"] for e in emu.ledger_lines() if e.get("operation")]
    i = ops.index("UpdateCampaign")
    j = max(k for k in range(i) if ops[k] == "DescribeSolutionVersion")
    check(ops[j + 1:i] == ["DescribeCampaign"] * 2,
          "between training and UpdateCampaign: %s, want two DescribeCampaign" % ops[j + 1:i])
    prtest.Ledger(emu).assert_one_run(datasets=DATASETS, campaign=True)


if __name__ == "__main__":
    prtest.main([("a kept describe over a minute old: described again", case_stale)])
