#!/usr/bin/env python3
# run-tests: duration=8
"""daemon_precheck_stale - the describe before UpdateCampaign, when the
update's turn comes late.

Before each deploy the run describes the campaign (to learn what it serves
and to follow an update already in flight). An UpdateCampaign sent in
answer to that describe keeps its reply as the late-host pre-check
(src/runner.c), but only when the rate limit grants the update within a
minute of the reply; an older reply could miss an update another host made
meanwhile, so the campaign is described again.

The minute is shortened to 200 ms with the test hook
PERSONALIZE_RETRAIN_TEST_PRECHECK_REUSE_MS, and MaxApiCallsPerSecond=1
holds the update back for about a second after the describe took the
bucket's only token: the kept reply is always too old. One `once`
(3 datasets, a campaign). Asserted: exit 0; the warning that the hook is
in effect; the log says the campaign is described again; between training
and UpdateCampaign the ledger holds exactly two DescribeCampaign (without
the hook it holds one: daemon_once.py); one run's worth of jobs (one
import per dataset, one version, one update)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

DATASETS = 3
HOOK = "PERSONALIZE_RETRAIN_TEST_PRECHECK_REUSE_MS"
AGAIN_LINE = "before UpdateCampaign's turn; describing it again"


def between_training_and_update(emu):
    """The operations between the last DescribeSolutionVersion before
    UpdateCampaign and UpdateCampaign, from the ledger."""
    ops = [e["operation"] for e in emu.ledger_lines() if e.get("operation")]
    i = ops.index("UpdateCampaign")
    j = max(k for k in range(i) if ops[k] == "DescribeSolutionVersion")
    return ops[j + 1:i]


def case_stale(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, datasets=DATASETS, campaign=True,
                     extra={"MaxApiCallsPerSecond": "1"})
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once", env=ctx.env(extra={HOOK: "200"}))
    check(r.rc == 0, "once: exit %s, want 0:\n%r" % (r.rc, r))
    check("test hook in effect" in r.err and HOOK in r.err,
          "no warning that %s is in effect:\n%s" % (HOOK, prtest.tail(r.err)))
    check(AGAIN_LINE in r.err, "the log does not say the campaign is described again:\n%s"
          % prtest.tail(r.err))
    seen = between_training_and_update(emu)
    check(seen == ["DescribeCampaign"] * 2,
          "between training and UpdateCampaign: %s, want two DescribeCampaign" % seen)
    prtest.Ledger(emu).assert_one_run(datasets=DATASETS, campaign=True)


def case_bad_hook(ctx):
    """A malformed value is ignored, with a warning: the minute stays."""
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, datasets=1, campaign=True, extra={"MaxApiCallsPerSecond": "1"})
    r = ctx.cli(cfg, ctx.state_dir(), "once", env=ctx.env(extra={HOOK: "200ms"}))
    check(r.rc == 0, "once: exit %s, want 0:\n%r" % (r.rc, r))
    check("ignored" in r.err and AGAIN_LINE not in r.err,
          "a malformed hook was not ignored:\n%s" % prtest.tail(r.err))
    seen = between_training_and_update(emu)
    check(seen == ["DescribeCampaign"],
          "between training and UpdateCampaign: %s, want one DescribeCampaign" % seen)


if __name__ == "__main__":
    prtest.main([("a kept describe older than the window: described again", case_stale),
                 ("a malformed hook: ignored, one describe", case_bad_hook)])
