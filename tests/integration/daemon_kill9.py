#!/usr/bin/env python3
# run-tests: duration=25
"""daemon_kill9 - SIGKILL at every transition of a run, then restart: the run
completes and the emulator holds exactly one import job per dataset, one
solution version and one executed UpdateCampaign for that fire time, and no
create was rejected as a duplicate (ResourceAlreadyExists/ResourceInUse:
a restarted process must find its job by name, not create it again).

Kill points:
  - chain (`once`, and `run`; also with a batch inference job after the
    deploy, which must exist exactly once too): every process is SIGKILLed right after its
    first transition - an executed create in the ledger, or a state save
    that changes the run (stage, a slot's phase/ARN/status) - and
    restarted, until the run has gone through every transition;
  - reply lost: the Nth create (3 imports, the version, the campaign
    update, the batch inference job) is executed by the emulator but its reply held back, and the
    process is killed before it arrives (outcome unknown to the client);
  - Nth save: `once` is killed right after its Nth state save, for every N
    up to the number of saves of a clean run.
What is counted: see prtest.Ledger."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Every case runs under the IAM policy `personalize-retrain policy` prints
# for its config, and fails on any denial (prtest.main).
os.environ.setdefault("PRTEST_POLICY", "1")
import prtest  # noqa: E402
from prtest import check, Fail  # noqa: E402

# cron(0 0 1 1 ? *): latest fire 1 January 00:00 UTC, the next a year away.
YEARLY = "cron(0 0 1 1 ? *)"
MAX_RESTARTS = 60
TRANSITION_TIMEOUT_S = 30


def executed_creates(emu):
    return sum(1 for e in emu.ledger_lines()
               if e["operation"] in prtest.CREATE_OPS and prtest.executed(e))


finished = prtest.run_finished


def wait_transition(emu, p, sd, watch, prog0, creates0, stop_when_finished):
    """Wait until p makes a transition (progress: see prtest.state_progress);
    returns a description, or None when p exited (or, for `once`, the run
    finished)."""
    deadline = time.monotonic() + TRANSITION_TIMEOUT_S
    while time.monotonic() < deadline:
        if watch.poll(0.002):
            st = prtest.read_state(sd)
            sig = prtest.state_progress(st)
            if sig > prog0:
                if stop_when_finished and finished(st):
                    return None
                return "save %s" % (sig,)
        if executed_creates(emu) > creates0:
            return "create #%d executed" % (creates0 + 1)
        if p.poll() is not None:
            return None
    raise Fail("no transition and no exit within %ds:\n%s" % (TRANSITION_TIMEOUT_S, p.result()))


FAIL_SCRIPTS = {
    None: None,
    "import": {"importFails": ["USERS"]},
    "training": {"trainingFails": True},
    "update": {"campaignUpdateFails": True},
}


def check_one_batch(led):
    """Exactly one batch inference job, ACTIVE, and its create never
    rejected as a duplicate."""
    check(len(led.batch_jobs) == 1 and led.batch_jobs[0].get("status") == "ACTIVE",
          "want one ACTIVE batch job: %s" % [(j.get("jobName"), j.get("status"))
                                             for j in led.batch_jobs])
    check(not led.rejected(), "rejected creates: %s" % led.summary())


def chain(command, fails=None, campaign=True, datasets=3, batch=False):
    """fails: None (the run succeeds) or which scripted failure ends it;
    every restart must come to the same outcome without a second job.
    batch: a batch inference job after the deploy."""
    def case(ctx):
        prtest.require_commands(command)
        emu = ctx.emulator(script=FAIL_SCRIPTS[fails],
                           overrides=prtest.batch_overrides() if batch else None)
        extra = {"CatchUp": "yes"}
        if batch:
            extra.update(prtest.batch_keys())
        cfg = ctx.config(emu, schedule=YEARLY, extra=extra,
                         campaign=campaign, datasets=datasets)
        sd = ctx.state_dir()
        if command == "run":
            prtest.seed_catchup_state(sd)
        watch = prtest.DirWatch(sd)
        kills = []
        last = None
        for i in range(MAX_RESTARTS):
            st = prtest.read_state(sd)
            prog0, creates0 = prtest.state_progress(st), executed_creates(emu)
            if command == "run":
                p = ctx.daemon(cfg, sd, name="run-%d" % i)
            else:
                p = ctx.spawn(cfg, sd, "once", name="once-%d" % i)
            what = wait_transition(emu, p, sd, watch, prog0, creates0,
                                   stop_when_finished=(command == "once"))
            if what is None:
                last = p
                break
            p.kill9()
            kills.append(what)
            if command == "run" and finished(prtest.read_state(sd)):
                # killed right after the finishing save: a last start must
                # stay idle (nothing left to adopt, no new run)
                n0 = len(emu.ledger_lines())
                last = ctx.daemon(cfg, sd, name="run-last")
                time.sleep(1.5)
                creates = [e for e in emu.ledger_lines()[n0:]
                           if e["operation"] in prtest.CREATE_OPS]
                check(not creates, "a restarted idle daemon made creates: %s" % creates)
                break
        else:
            raise Fail("the run did not finish within %d restarts: %s" % (MAX_RESTARTS, kills))
        want_rc, want_outcome = (0, "succeeded") if fails is None else (1, "failed")
        if command == "once":
            r = last.wait(prtest.RUN_TIMEOUT_S)
            check(r.rc == want_rc, "the last once: want exit %d\n%r" % (want_rc, r))
        else:
            wait_finished(sd, last)
            last.signal(signal.SIGTERM)
            r = last.wait(prtest.STOP_TIMEOUT_S)
            check(r.rc == 0, "run after SIGTERM: want exit 0\n%r" % r)
        ctx.log("%d kills: %s", len(kills), "; ".join(kills))
        # at least one kill per job of the run (each create or its ARN save)
        least = 2 if fails == "import" else datasets + 1 + (1 if campaign and fails != "training" else 0)
        if batch and fails is None:
            least += 1
        check(len(kills) >= least,
              "only %d transitions seen (%s): the kill points were not reached"
              % (len(kills), kills))
        check(prtest.last_outcome(sd) == want_outcome,
              "state does not record %s: %s" % (want_outcome, prtest.read_state(sd)))
        led = prtest.Ledger(emu)
        if fails is None:
            led.assert_one_run(campaign=campaign, datasets=datasets)
            if batch:
                check_one_batch(led)
        elif fails == "import":
            # the run ends at the failure: imports not created by then never are
            by_type = led.imports_by_type()
            check(all(len(v) <= 1 for v in by_type.values()) and len(by_type.get("USERS", [])) == 1,
                  "want at most one import per dataset (one on USERS): %s" % led.summary())
            check(not led.ops("CreateSolutionVersion") and not led.ops("UpdateCampaign"),
                  "trained or deployed after a failed import: %s" % led.summary())
            check(not led.rejected(), "rejected creates: %s" % led.summary())
        elif fails == "training":
            led.assert_one_run(version_status="CREATE FAILED", datasets=datasets,
                               campaign=campaign)
            check(not led.ops("UpdateCampaign"), "deployed a failed version")
        else:
            led.assert_one_run(deployed=False, datasets=datasets)
            check(len(led.ops("UpdateCampaign")) == 1,
                  "the failed campaign update was tried again: %s" % led.summary())
            check(led.campaign["solutionVersionArn"] == prtest.INITIAL_VERSION,
                  "the campaign does not serve the old version")
    return case


def wait_finished(sd, p):
    def done():
        if not p.alive():
            raise Fail("the daemon exited:\n%r" % p.result())
        return finished(prtest.read_state(sd))
    prtest.wait_until(done, prtest.RUN_TIMEOUT_S, "the run to finish in the state file", 0.05)


CREATES = [("CreateDatasetImportJob", 0), ("CreateDatasetImportJob", 1),
           ("CreateDatasetImportJob", 2), ("CreateSolutionVersion", 0),
           ("UpdateCampaign", 0), ("CreateBatchInferenceJob", 0)]


def reply_lost(n):
    op, after = CREATES[n - 1]
    batch = op == "CreateBatchInferenceJob"

    def case(ctx):
        prtest.require_commands("once")
        emu = ctx.emulator(faults=[{"operation": op, "kind": "slow", "after": after,
                                    "count": 1, "delayMs": 4000}],
                           overrides=prtest.batch_overrides() if batch else None)
        cfg = ctx.config(emu, extra=prtest.batch_keys() if batch else None)
        sd = ctx.state_dir()
        p = ctx.spawn(cfg, sd, "once", name="once-killed")

        def held():
            if p.poll() is not None:
                raise Fail("once ended before the held reply:\n%r" % p.result())
            return any(e["operation"] == op and e.get("fault") == "slow" and prtest.executed(e)
                       for e in emu.ledger_lines())
        prtest.wait_until(held, TRANSITION_TIMEOUT_S, "%s #%d executed" % (op, after + 1), 0.005)
        p.kill9()
        r = ctx.cli(cfg, sd, "once", name="once-restarted")
        check(r.rc == 0, "restarted once: want exit 0\n%r" % r)
        check(prtest.last_outcome(sd) == "succeeded", "state does not record a success")
        led = prtest.Ledger(emu)
        led.assert_one_run()
        if batch:
            check_one_batch(led)
    return case


def clean_saves():
    """Number of state saves in a clean `once` run (None if unavailable)."""
    ctx = prtest.Ctx("reference")
    try:
        prtest.require_commands("once")
        emu = ctx.emulator()
        cfg = ctx.config(emu)
        sd = ctx.state_dir()
        watch = prtest.DirWatch(sd)
        p = ctx.spawn(cfg, sd, "once")
        deadline = time.monotonic() + prtest.RUN_TIMEOUT_S
        while p.poll() is None and time.monotonic() < deadline:
            watch.poll(0.01)
        watch.poll(0.05)
        r = p.wait(1)
        return watch.saves if r.rc == 0 else None
    except (prtest.Skip, Fail):
        return None
    finally:
        ctx.close()


def kill_at_save(n):
    def case(ctx):
        prtest.require_commands("once")
        emu = ctx.emulator()
        cfg = ctx.config(emu)
        sd = ctx.state_dir()
        watch = prtest.DirWatch(sd)
        p = ctx.spawn(cfg, sd, "once", name="once-killed")
        deadline = time.monotonic() + TRANSITION_TIMEOUT_S
        while watch.saves < n and p.poll() is None and time.monotonic() < deadline:
            watch.poll(0.01)
        if p.poll() is None:
            check(watch.saves >= n, "no save #%d within %ds" % (n, TRANSITION_TIMEOUT_S))
            p.kill9()
        else:
            ctx.log("once ended after %d saves, before save #%d" % (watch.saves, n))
        if finished(prtest.read_state(sd)):
            # killed after the run was recorded as finished: nothing to
            # finish; another `once` would be a new cycle
            ctx.log("killed after the run was recorded finished: no restart")
        else:
            r = ctx.cli(cfg, sd, "once", name="once-restarted")
            check(r.rc == 0, "restarted once: want exit 0\n%r" % r)
        check(prtest.last_outcome(sd) == "succeeded", "state does not record a success")
        prtest.Ledger(emu).assert_one_run()
    return case


def deploy_restart_after_earlier_update(ctx):
    """A campaign already updated once (an earlier `once`); a `run` killed
    at the deploy stage and restarted: before UpdateCampaign it looks the
    campaign up and, not knowing when its own version was created (it did
    not see the training), describes its version first (the late-host
    check of the run, src/retrain.c); that version is newer
    than the earlier update, so it deploys: one update for it, succeeded."""
    prtest.require_commands("once", "run")
    emu = ctx.emulator(durations={"trainingMs": 300, "campaignUpdateMs": 1500})
    cfg = ctx.config(emu, schedule=YEARLY, extra={"CatchUp": "yes"})
    r = ctx.cli(cfg, ctx.state_dir("earlier"), "once", timeout=60)
    check(r.rc == 0, "the earlier once: want exit 0\n%r" % r)
    sd = ctx.state_dir()
    prtest.seed_catchup_state(sd)
    p = ctx.daemon(cfg, sd, name="run-0")

    def deploying():
        run = (prtest.read_state(sd) or {}).get("run") or {}
        return run.get("stage") == "deploying" and \
            (run.get("campaign") or {}).get("phase") == "creating"
    prtest.wait_until(deploying, prtest.RUN_TIMEOUT_S, "the UpdateCampaign intent", 0.005)
    p.kill9()
    n0 = len(emu.ledger_lines())
    p = ctx.daemon(cfg, sd, name="run-1")
    wait_finished(sd, p)
    h = prtest.read_state(sd)["history"][0]
    check(h["outcome"] == "succeeded", "after the restart: %s" % h)
    ops = [e["operation"] for e in emu.ledger_lines()[n0:] if e.get("operation")]
    ups = [e for e in emu.ledger_lines() if e.get("operation") == "UpdateCampaign"
           and e.get("status") == 200]
    check(len(ups) == 2, "UpdateCampaign: %d executed, want the earlier one and ours" % len(ups))
    if "UpdateCampaign" in ops:
        i = ops.index("UpdateCampaign")
        check(ops[i - 1] == "DescribeSolutionVersion" and ops[i - 2] == "DescribeCampaign",
              "after the restart, before UpdateCampaign: %s, want DescribeCampaign, "
              "DescribeSolutionVersion" % ops[:i + 1])


def cases():
    out = [("chain of kills, once", chain("once")),
           ("chain of kills, run", chain("run")),
           ("chain of kills, once, 1 dataset, no campaign", chain("once", campaign=False,
                                                                  datasets=1)),
           ("chain of kills, once, failed import", chain("once", "import")),
           ("chain of kills, once, failed training", chain("once", "training")),
           ("chain of kills, once, failed campaign update", chain("once", "update")),
           ("chain of kills, run, failed campaign update", chain("run", "update")),
           ("chain of kills, once, batch inference job", chain("once", batch=True)),
           ("chain of kills, run, batch inference job", chain("run", batch=True)),
           ("restart at the deploy stage after an earlier update",
            deploy_restart_after_earlier_update)]
    out += [("reply lost: %s #%d" % (op, after + 1), reply_lost(i + 1))
            for i, (op, after) in enumerate(CREATES)]
    s = clean_saves()
    if s:
        out += [("kill after save %d of %d" % (n, s), kill_at_save(n)) for n in range(1, s + 1)]
    else:
        def unavailable(ctx):
            prtest.require_commands("once")
            raise Fail("the reference `once` run (counting state saves) failed")
        out.append(("kill after each save", unavailable))
    return out


if __name__ == "__main__":
    prtest.main(cases(), parallel=6)
