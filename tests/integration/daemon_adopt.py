#!/usr/bin/env python3
# run-tests: duration=15
"""daemon_adopt - `once` after a lost state adopts this pipeline's work in
flight (include/adopt.h) instead of starting another run for "now".

On the test time scale of include/wallclock.h (a minute in 60/SCALE real
seconds; the emulator runs on the same scale so that its creation times
agree with the fire times), with jobs that stay in progress until the
test moves the emulator's job clock (POST /_emulator/advance):

- corrupt state, imports in flight: `once` A is SIGKILLed once it has
  created its imports (executed in the ledger, the intent on disk); its
  state file is overwritten with garbage; `once` B, started in a later
  minute, moves the file aside, logs that it adopts A's import and keeps
  A's fire time; the imports then finish and B completes the run: exit 0,
  exactly one CreateDatasetImportJob executed per dataset, one solution
  version and one UpdateCampaign, all named for A's fire time;
- corrupt state, training in flight: A is killed once its
  CreateSolutionVersion ran; the state file is emptied (truncated to
  nothing); B adopts the version (one import per dataset, one version,
  deployed);
- corrupt state, batch inference job in flight: A is killed once its
  CreateBatchInferenceJob ran; B finds the job by its name among the
  account's batch jobs, keeps A's fire time, adopts the imports, the
  version and the deploy done by name, and waits for that job: one of
  each, one batch job;
- then a finished earlier run must not stop `once` from a full cycle now:
  with the state corrupt again, C in a later minute finds nothing in
  progress and runs a fresh cycle (a second import per dataset and a
  second version, named for C's own minute);
- a deleted state file is a first run: D does not look (no List call
  before its creates) and runs a cycle for its own minute.
- the look gives up (every ListSolutionVersions of it malformed, the
  budget spent): a warning, then the run for now; it succeeds;
- `once --dry-run` with no state file does not print the look; with an
  unusable one it prints it (ListSolutionVersions, ListDatasetImportJobs);
  it makes no call."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Every case runs under the IAM policy `personalize-retrain policy` prints
# for its config, and fails on any denial (prtest.main).
os.environ.setdefault("PRTEST_POLICY", "1")
import prtest  # noqa: E402
from prtest import check, Fail, pick_anchor  # noqa: E402

SCALE_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_SCALE"
ANCHOR_ENV = "PERSONALIZE_RETRAIN_TEST_CLOCK_ANCHOR"
SCALE = 20                      # a minute in 3 real seconds
# jobs of this kind stay in progress until advance() (an hour, real ms)
HELD_MS = 3600 * 1000
WAIT_S = 20
DATASETS = 2
ADOPT_LINE = "adopting in-flight"


def setup(ctx, hold, batch=False):
    """An emulator holding jobs of kind hold ("importMs" / "trainingMs" /
    "batchInferenceMs") in progress, on the time scale; the config (with a
    batch inference job after the deploy when batch) and env for the
    daemon."""
    anchor = pick_anchor(time.time(), SCALE, 1.0)
    scaled = {SCALE_ENV: str(SCALE), ANCHOR_ENV: str(anchor)}
    emu = ctx.emulator(durations={hold: HELD_MS}, env_extra=scaled,
                       overrides=prtest.batch_overrides() if batch else None)
    # MaxRunDuration is schedule time (scaled): an hour is 3 real minutes
    extra = {"MaxRunDuration": "3600"}
    if batch:
        extra.update(prtest.batch_keys())
    cfg = ctx.config(emu, datasets=DATASETS, campaign=True, extra=extra)
    return emu, cfg, ctx.env(extra=scaled), anchor


def scaled_minute(anchor):
    return int((anchor + (time.time() - anchor) * SCALE) // 60)


def wait_next_minute(anchor, m):
    prtest.wait_until(lambda: scaled_minute(anchor) > m or None,
                      2 * 60.0 / SCALE + 2, "the next minute on the test clock")


def executed_ops(emu, op):
    return [e for e in emu.ledger_lines() if e["operation"] == op and prtest.executed(e)]


def kill_after(ctx, p, emu, op, n, sd):
    """Wait until op was executed n times and the state file records as many
    ARNs of that kind (the run is past that transition), then SIGKILL p."""
    def ready():
        if not p.alive():
            raise Fail("%s exited early:\n%r" % (p.name, p.result()))
        if len(executed_ops(emu, op)) < n:
            return None
        st = prtest.read_state(sd) or {}
        run = st.get("run") or {}
        if op == "CreateDatasetImportJob":
            slots = run.get("imports") or []
        elif op == "CreateBatchInferenceJob":
            slots = [(run.get("batch") or {}).get("job") or {}]
        else:
            slots = [run.get("version") or {}]
        return sum(1 for s in slots if s.get("arn")) >= n or None
    prtest.wait_until(ready, WAIT_S, "%d %s executed and saved" % (n, op))
    p.kill9()


def finish_with_advance(emu, p, timeout=WAIT_S):
    """Keep moving the emulator's job clock until p exits (bounded)."""
    deadline = time.monotonic() + timeout
    while p.alive() and time.monotonic() < deadline:
        emu.admin("POST", "advance", {"ms": HELD_MS})
        time.sleep(0.2)
    return p.wait(STOP_WAIT_S)


STOP_WAIT_S = 5


def wait_adopted(p):
    def seen():
        if ADOPT_LINE in p.err():
            return True
        if not p.alive():
            raise Fail("%s exited before adopting:\n%r" % (p.name, p.result()))
        return None
    prtest.wait_until(seen, WAIT_S, "the adoption log line")


def fire_tag(emu):
    tags = prtest.Ledger(emu).fire_tags()
    check(len(tags) == 1, "jobs of several fire times: %s" % tags)
    return next(iter(tags))


def case_corrupt_imports(ctx):
    prtest.require_commands("once")
    emu, cfg, env, anchor = setup(ctx, "importMs")
    sd = ctx.state_dir()
    a = ctx.spawn(cfg, sd, "once", env=env, name="once-a")
    m = scaled_minute(anchor)
    kill_after(ctx, a, emu, "CreateDatasetImportJob", DATASETS, sd)
    tag_a = fire_tag(emu)
    path = os.path.join(sd, prtest.PIPELINE + ".json")
    with open(path, "w") as f:
        f.write('{"version": 1, "pipeline": "prt')   # truncated
    wait_next_minute(anchor, max(m, scaled_minute(anchor)))
    b = ctx.spawn(cfg, sd, "once", env=env, name="once-b")
    wait_adopted(b)
    r = finish_with_advance(emu, b)
    check(r.rc == 0, "once B: exit %s, want 0:\n%r" % (r.rc, r))
    check("adopting in-flight import" in r.err, "no adoption of an import logged:\n%r" % r)
    check("fire time %s-%s-%sT%s:%s" % (tag_a[0:4], tag_a[4:6], tag_a[6:8], tag_a[9:11],
                                         tag_a[11:13]) in r.err,
          "the log does not say B keeps A's fire time %s:\n%r" % (tag_a, r))
    check(any(f.startswith(prtest.PIPELINE + ".json.corrupt-") for f in os.listdir(sd)),
          "the corrupt state file was not moved aside: %s" % os.listdir(sd))
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=DATASETS, campaign=True)
    check(len(executed_ops(emu, "CreateDatasetImportJob")) == DATASETS,
          "CreateDatasetImportJob executed %d times, want %d: %s"
          % (len(executed_ops(emu, "CreateDatasetImportJob")), DATASETS, led.summary()))
    check(len(executed_ops(emu, "CreateSolutionVersion")) == 1,
          "CreateSolutionVersion executed %d times: %s"
          % (len(executed_ops(emu, "CreateSolutionVersion")), led.summary()))
    check(fire_tag(emu) == tag_a, "B's jobs are not named for A's fire time %s" % tag_a)
    check(prtest.last_outcome(sd) == "succeeded", "state: last outcome %s" % prtest.last_outcome(sd))


def corrupt(sd):
    with open(os.path.join(sd, prtest.PIPELINE + ".json"), "w"):
        pass    # emptied: unusable, moved aside at the next load


def killed_then_adopted(ctx, hold, op, adopted, batch=False):
    """`once` A is killed once op ran, its state emptied; `once` B, in the
    next minute, adopts (the log names what) and finishes: exit 0.
    Returns (emu, cfg, env, anchor, state dir, A's fire tag)."""
    prtest.require_commands("once")
    emu, cfg, env, anchor = setup(ctx, hold, batch=batch)
    sd = ctx.state_dir()
    a = ctx.spawn(cfg, sd, "once", env=env, name="once-a")
    kill_after(ctx, a, emu, op, 1, sd)
    tag_a = fire_tag(emu)
    m = scaled_minute(anchor)
    corrupt(sd)
    wait_next_minute(anchor, m)
    b = ctx.spawn(cfg, sd, "once", env=env, name="once-b")
    wait_adopted(b)
    r = finish_with_advance(emu, b)
    check(r.rc == 0, "once B: exit %s, want 0:\n%r" % (r.rc, r))
    check("adopting in-flight " + adopted in r.err,
          "no adoption of the %s logged:\n%r" % (adopted, r))
    return emu, cfg, env, anchor, sd, tag_a


def case_corrupt_training(ctx):
    emu, cfg, env, anchor, sd, tag_a = killed_then_adopted(
        ctx, "trainingMs", "CreateSolutionVersion", "solution version")
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=DATASETS, campaign=True)
    check(len(executed_ops(emu, "CreateDatasetImportJob")) == DATASETS,
          "CreateDatasetImportJob executed %d times: %s"
          % (len(executed_ops(emu, "CreateDatasetImportJob")), led.summary()))
    check(len(executed_ops(emu, "CreateSolutionVersion")) == 1,
          "CreateSolutionVersion executed %d times: %s"
          % (len(executed_ops(emu, "CreateSolutionVersion")), led.summary()))
    check(fire_tag(emu) == tag_a, "B's jobs are not named for A's fire time %s" % tag_a)

    # all finished now: an unusable state must not stop a full cycle now
    m = scaled_minute(anchor)
    corrupt(sd)
    wait_next_minute(anchor, m)
    c = ctx.spawn(cfg, sd, "once", env=env, name="once-c")
    r = finish_with_advance(emu, c)
    check(r.rc == 0, "once C: exit %s, want 0:\n%r" % (r.rc, r))
    check(ADOPT_LINE not in r.err, "C adopted finished work:\n%r" % r)
    check("no job of this pipeline in flight" in r.err, "C did not say it found nothing:\n%r" % r)
    per = prtest.Ledger(emu).per_fire()
    check(len(per) == 2 and tag_a in per, "want two fire times (A's %s and C's): %s" % (tag_a, per))
    for tag, s in per.items():
        check(s["versions"] == 1 and all(n == 1 for n in s["imports"].values())
              and len(s["imports"]) == DATASETS,
              "fire time %s: %s, want one import per dataset and one version" % (tag, s))


def case_corrupt_batch(ctx):
    emu, cfg, env, anchor, sd, tag_a = killed_then_adopted(
        ctx, "batchInferenceMs", "CreateBatchInferenceJob", "batch job", batch=True)
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=DATASETS, campaign=True)
    for op in ("CreateSolutionVersion", "UpdateCampaign", "CreateBatchInferenceJob"):
        check(len(executed_ops(emu, op)) == 1, "%s executed %d times: %s"
              % (op, len(executed_ops(emu, op)), led.summary()))
    check(len(led.batch_jobs) == 1 and led.batch_jobs[0]["status"] == "ACTIVE",
          "batch jobs %s" % [(j["jobName"], j["status"]) for j in led.batch_jobs])
    check(fire_tag(emu) == tag_a, "B's jobs are not named for A's fire time %s" % tag_a)
    check(prtest.last_outcome(sd) == "succeeded", "state: last outcome %s" % prtest.last_outcome(sd))


def case_look_gives_up(ctx):
    """Every ListSolutionVersions of the look answered with garbage (the
    budget of `once` with two datasets: 4 + 2 failures in a row): a warning,
    then the run for now, looking each job up by name; it succeeds."""
    prtest.require_commands("once")
    budget = 4 + 2 * (DATASETS - 1)
    emu = ctx.emulator(faults=[{"operation": "ListSolutionVersions", "kind": "malformed",
                                "count": budget}])
    cfg = ctx.config(emu, datasets=DATASETS, campaign=True)
    sd = ctx.state_dir()
    corrupt(sd)
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once: exit %s, want 0:\n%r" % (r.rc, r))
    check("gave up" in r.err and "starting the run for now" in r.err,
          "no warning that the look gave up:\n%r" % r)
    check(ADOPT_LINE not in r.err, "adopted something:\n%r" % r)
    lsv = [e for e in emu.ledger_lines() if e["operation"] == "ListSolutionVersions"]
    check(len(lsv) > budget, "%d ListSolutionVersions, want the look's %d and the run's"
          % (len(lsv), budget))
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=DATASETS, campaign=True)
    # the look's calls came first, before any create
    ops = [e["operation"] for e in emu.ledger_lines()]
    check(ops[:budget] == ["ListSolutionVersions"] * budget,
          "the look did not come first: %s" % ops[:budget + 2])


def case_dry_run(ctx):
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, datasets=DATASETS, campaign=True)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once", "--dry-run")
    check(r.rc == 0, "once --dry-run: exit %s:\n%r" % (r.rc, r))
    check("ListSolutionVersions" not in r.out,
          "--dry-run with no state file (a first run) looks:\n%r" % r)
    corrupt(sd)
    r = ctx.cli(cfg, sd, "once", "--dry-run")
    check(r.rc == 0, "once --dry-run: exit %s:\n%r" % (r.rc, r))
    for want in ("ListSolutionVersions", "ListDatasetImportJobs", "work in flight"):
        check(want in r.out, "--dry-run does not mention %s:\n%r" % (want, r))
    check(r.out.index("ListSolutionVersions") < r.out.index("would start the run"),
          "the look is not printed before the run:\n%r" % r)
    check(not emu.ledger_lines(), "--dry-run made calls: %s" % emu.ledger_lines()[:3])


def case_first_run(ctx):
    """No state file: a first run, not a lost state; `once` does not look
    (its first calls are the creates) and runs a cycle for now."""
    prtest.require_commands("once")
    emu = ctx.emulator()
    cfg = ctx.config(emu, datasets=DATASETS, campaign=True)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once: exit %s, want 0:\n%r" % (r.rc, r))
    ops = [e["operation"] for e in emu.ledger_lines() if e.get("operation")]
    check(ops[:DATASETS] == ["CreateDatasetImportJob"] * DATASETS,
          "a first run looked before its creates: %s" % ops[:DATASETS + 2])
    prtest.Ledger(emu).assert_one_run(datasets=DATASETS, campaign=True)


if __name__ == "__main__":
    prtest.main([
        ("corrupt state, imports in flight: adopted", case_corrupt_imports),
        ("corrupt state, training in flight: adopted; then a fresh cycle", case_corrupt_training),
        ("corrupt state, batch job in flight: adopted", case_corrupt_batch),
        ("the look gives up: the run for now", case_look_gives_up),
        ("dry run shows the look", case_dry_run),
        ("no state file: a first run, no look", case_first_run),
    ])
