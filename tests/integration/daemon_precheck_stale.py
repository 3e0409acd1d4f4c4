#!/usr/bin/env python3
# run-tests: duration=17
"""daemon_precheck_stale - the look at the campaign before UpdateCampaign
(the deploy's pre-check, src/retrain.c: RT_PRECHECK_REUSE_S in
include/retrain.h).

The run decides whether to send UpdateCampaign on a DescribeCampaign reply
younger than a minute by its own clock: the describe every deploy starts
with, or a describe again when that reply has grown older.

- reused: MaxApiCallsPerSecond=1 holds every call back for about a second
  (the rate limit is the driver's, after the decision): `once` (3 datasets,
  a campaign) exits 0 and between training and UpdateCampaign the ledger
  holds exactly one DescribeCampaign; one run's worth of jobs.
- described again: the decision waits for a DescribeSolutionVersion of the
  run's own version (a `run` killed at the deploy stage and restarted does
  not know when its version was created, and the campaign was updated
  before, by an earlier `once`). On the test time scale
  (PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE=120) the second that
  MaxApiCallsPerSecond=1 holds that describe back is two minutes of the
  run's clock, so the campaign's reply is too old when it comes: after the
  restart the ledger holds DescribeCampaign, DescribeSolutionVersion,
  DescribeCampaign, UpdateCampaign; the log says the campaign is described
  again; the run succeeds with one update of its own.
A reply older than a minute on the unscaled clock would need a run held
back for a minute; the unit tests (test_precheck_reuse_window in
tests/unit/test_retrain.c) cover the window's edges."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check, pick_anchor  # noqa: E402

DATASETS = 3
AGAIN_LINE = "before UpdateCampaign's turn; describing it again"
SCALE_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE"
ANCHOR_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR"
SCALE = 120  # a real second is two minutes of the run's clock
YEARLY = "cron(0 0 1 1 ? *)"


def between_training_and_update(emu):
    """The operations between the last DescribeSolutionVersion before
    UpdateCampaign and UpdateCampaign, from the ledger."""
    ops = [e["operation"] for e in emu.ledger_lines() if e.get("operation")]
    i = ops.index("UpdateCampaign")
    j = max(k for k in range(i) if ops[k] == "DescribeSolutionVersion")
    return ops[j + 1:i]


def case_reused(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, datasets=DATASETS, campaign=True,
                     extra={"MaxApiCallsPerSecond": "1"})
    r = ctx.cli(cfg, ctx.state_dir(), "once")
    check(r.rc == 0, "once: exit %s, want 0:\n%r" % (r.rc, r))
    check(AGAIN_LINE not in r.err, "the campaign was described again:\n%s"
          % prtest.tail(r.err))
    seen = between_training_and_update(emu)
    check(seen == ["DescribeCampaign"],
          "between training and UpdateCampaign: %s, want one DescribeCampaign" % seen)
    prtest.Ledger(emu).assert_one_run(datasets=DATASETS, campaign=True)


def case_described_again(ctx):
    prtest.require_commands("once", "run")
    anchor = pick_anchor(time.time(), SCALE, 1.0)
    scaled = {SCALE_ENV: str(SCALE), ANCHOR_ENV: str(anchor)}
    emu = ctx.emulator(durations={"trainingMs": 300, "campaignUpdateMs": 1500},
                       env_extra=scaled)
    # MaxRunDuration is on the scaled clock: a day is 12 real minutes
    cfg = ctx.config(emu, datasets=1, schedule=YEARLY,
                     extra={"CatchUp": "yes", "MaxApiCallsPerSecond": "1",
                            "MaxRunDuration": "86400"})
    r = ctx.cli(cfg, ctx.state_dir("earlier"), "once", timeout=60,
                env=ctx.env(extra=scaled))
    check(r.rc == 0, "the earlier once: want exit 0\n%r" % r)
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    p = ctx.daemon(cfg, sd, name="run-0", env_extra=scaled)

    def deploying():
        run = (prtest.read_state(sd) or {}).get("run") or {}
        return run.get("stage") == "deploying" and \
            (run.get("campaign") or {}).get("phase") == "creating"
    prtest.wait_until(deploying, prtest.RUN_TIMEOUT_S, "the UpdateCampaign intent", 0.005)
    p.kill9()
    n0 = len(emu.ledger_lines())
    ups0 = [e for e in emu.ledger_lines() if e.get("operation") == "UpdateCampaign"]
    check(len(ups0) == 1, "killed after its UpdateCampaign went out (%d in the ledger): "
          "the rate limit should have held it back" % len(ups0))
    p = ctx.daemon(cfg, sd, name="run-1", env_extra=scaled)

    def done():
        check(p.alive(), "the daemon exited:\n%r" % p.result())
        return prtest.run_finished(prtest.read_state(sd))
    prtest.wait_until(done, prtest.RUN_TIMEOUT_S, "the run to finish in the state file", 0.05)
    h = prtest.read_state(sd)["history"][0]
    check(h["outcome"] == "succeeded", "after the restart: %s" % h)
    ops = [e["operation"] for e in emu.ledger_lines()[n0:] if e.get("operation")]
    check("UpdateCampaign" in ops, "no UpdateCampaign after the restart: %s" % ops)
    i = ops.index("UpdateCampaign")
    check(ops[:i] == ["DescribeCampaign", "DescribeSolutionVersion", "DescribeCampaign"],
          "after the restart, before UpdateCampaign: %s, want DescribeCampaign, "
          "DescribeSolutionVersion, DescribeCampaign" % ops[:i + 1])
    res = p.result()
    check(AGAIN_LINE in res.err, "the log does not say the campaign is described again:\n%s"
          % prtest.tail(res.err))
    ups = [e for e in emu.ledger_lines() if e.get("operation") == "UpdateCampaign"
           and prtest.executed(e)]
    check(len(ups) == 2, "UpdateCampaign: %d executed, want the earlier one and ours" % len(ups))


if __name__ == "__main__":
    prtest.main([("the deploy's describe reused behind the rate limit", case_reused),
                 ("a reply older than a minute (test time scale): described again",
                  case_described_again)])
