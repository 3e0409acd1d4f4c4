#!/usr/bin/env python3
# run-tests: duration=20
"""daemon_batch - a batch job after training, end to end: `once` against
the emulator, every case under the IAM policy `personalize-retrain policy`
prints for its config (a denial fails the case).

- campaign + batch inference: the run deploys, then creates one batch
  inference job of the new version (after the executed UpdateCampaign),
  named <pipeline>-<stamp>-batch, with the configured input, output, role,
  numResults and filterArn, waits until it is ACTIVE and succeeds; the
  emulator wrote its output object; `status` (text and JSON), the
  MetricsFile, OnRunEnd's BATCH_OUTPUT and the end event's batchOutput
  name the output location; the events went started, importing, training,
  deploying, batch, succeeded.
- batch only (no CampaignArn): trained, then the batch job; no
  UpdateCampaign.
- batch segment (a solution of aws-item-affinity): CreateBatchSegmentJob,
  no CreateBatchInferenceJob; check --online says the recipe takes batch
  segment jobs and finds the input object.
- gated (QualityMetric with a MinQuality the new version misses): exit 1,
  outcome gated, no batch job created.
- failed batch job (the emulator's script fails it): exit 1, the run
  fails with the service's failureReason in the reason, the state's
  history and the log; OnRunEnd gets BATCH_OUTPUT empty.
- segment keys with a recipe that cannot segment: check --online fails
  (exit 78) naming the recipe; `once` fails with Personalize's refusal of
  CreateBatchSegmentJob in the reason.
- check (offline): the config's batch errors come with file:line.
- faults on the batch calls (a throttled and a 503 create, a create that
  ran but whose reply was a 500 or a reset, throttled and reset describes
  and lists): the run succeeds with one batch job, none rejected as a
  duplicate.
- kill -9 while the batch job runs (after its create was executed): the
  restarted `once` adopts it by name (ListBatchInferenceJobs), one job in
  the emulator, no create rejected as a duplicate.
"""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PRTEST_POLICY", "1")
import prtest  # noqa: E402
from prtest import BATCH_INPUT, BATCH_OUTPUT, check  # noqa: E402

NAME_RE = re.compile(r"^prtest-\d{8}T\d{4}-batch$")
FILTER = prtest.ARN + "filter/not-bought"
NDCG = "normalized_discounted_cumulative_gain_at_10"


def once(ctx, extra=None, campaign=True, overrides=None, script=None, datasets=1):
    emu = ctx.emulator(overrides=prtest.batch_overrides(overrides=overrides),
                       script=script)
    sd = ctx.state_dir()
    cfg = ctx.config(emu, datasets=datasets, campaign=campaign, extra=extra)
    r = ctx.cli(cfg, sd, "once")
    return emu, cfg, sd, r


def ops(emu):
    return [e["operation"] for e in sorted(emu.ledger_lines(), key=lambda x: x["seq"])
            if e.get("status") == 200]


def the_batch_job(led, kind="batchInferenceJobs"):
    jobs = led.world.get(kind, [])
    check(len(jobs) == 1, "%s: want one job, got %s" % (kind, jobs))
    return jobs[0]


def read_env(path):
    with open(path, "rb") as f:
        items = f.read().split(b"\0")
    return dict(i.decode().split("=", 1) for i in items if b"=" in i)


def events_of(emu):
    out = []
    for e in sorted(emu.ledger_lines(), key=lambda x: x["seq"]):
        if e["operation"] == "PutEvents":
            out.append(json.loads(e["params"]["Entries"][0]["Detail"]))
    return out


def case_campaign_and_batch(ctx):
    prom = ctx.path("metrics.prom")
    hook_env = ctx.path("hook.env")
    extra = dict(prtest.batch_keys(), NumResults="40", FilterArn=FILTER,
                 MetricsFile=prom, EventBusName="default",
                 OnRunEnd="/bin/sh -c 'env -0 > \"$0\"' " + hook_env)
    emu, cfg, sd, r = once(ctx, extra)
    check(r.rc == 0, "once: %r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=1)
    job = the_batch_job(led)
    check(NAME_RE.match(job["jobName"]) and job["status"] == "ACTIVE",
          "batch job %s %s" % (job.get("jobName"), job.get("status")))
    version = led.versions[0]["solutionVersionArn"]
    check(job["solutionVersionArn"] == version, "batch job of %s, want %s"
          % (job["solutionVersionArn"], version))
    check(job["jobInput"]["s3DataSource"]["path"] == BATCH_INPUT and
          job["jobOutput"]["s3DataDestination"]["path"] == BATCH_OUTPUT and
          job["roleArn"] == prtest.ROLE_ARN and job.get("numResults") == 40 and
          job.get("filterArn") == FILTER, "batch job %s" % job)
    check(job.get("outputsWritten") and any(
        o.get("uri", "").startswith(BATCH_OUTPUT) for o in job.get("outputs") or []),
        "no output object: %s" % job.get("outputs"))
    seq = ops(emu)
    check(seq.index("UpdateCampaign") < seq.index("CreateBatchInferenceJob"),
          "the batch job came before the deploy: %s" % seq)
    check(seq.count("CreateBatchInferenceJob") == 1, "creates: %s" % seq)
    # status, text and JSON
    s = ctx.cli(cfg, sd, "status", timeout=10, log_level=None)
    check(s.rc == 0 and "batch output in " + BATCH_OUTPUT in s.out, "status: %r" % s)
    s = ctx.cli(cfg, sd, "status", "--json", timeout=10, log_level=None)
    hist = json.loads(s.out)["pipelines"][0]["history"][0]
    check(hist["batch_output"] == BATCH_OUTPUT and hist["outcome"] == "succeeded",
          "status --json: %s" % hist)
    # the metrics file
    with open(prom) as f:
        text = f.read()
    check(re.search(r'^personalize_retrain_last_batch_output_info\{pipeline="prtest",'
                    r'output="%s"\} 1$' % re.escape(BATCH_OUTPUT), text, re.M) and
          re.search(r'^personalize_retrain_last_batch_output_timestamp_seconds\{pipeline="prtest"\} \d+$',
                    text, re.M), "metrics:\n%s" % text)
    # OnRunEnd
    env = read_env(hook_env)
    check(env.get("BATCH_OUTPUT") == BATCH_OUTPUT and env.get("OUTCOME") == "succeeded" and
          env.get("STAGE") == "batch", "hook env %s" % env)
    # the events
    evs = events_of(emu)
    check([d["outcome"] or d["stage"] for d in evs] ==
          ["started", "importing", "training", "deploying", "batch", "succeeded"],
          "events %s" % [(d["stage"], d["outcome"]) for d in evs])
    check(evs[-1]["batchOutput"] == BATCH_OUTPUT and all(d["batchOutput"] is None for d in evs[:-1]),
          "batchOutput %s" % [d["batchOutput"] for d in evs])
    check("wrote " + BATCH_OUTPUT in r.err, "the log does not name the output:\n%s"
          % prtest.tail(r.err))


def case_batch_only(ctx):
    emu, cfg, sd, r = once(ctx, prtest.batch_keys(), campaign=False)
    check(r.rc == 0, "once: %r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=1, campaign=False)
    check(the_batch_job(led)["status"] == "ACTIVE", "batch job not ACTIVE")
    check("UpdateCampaign" not in ops(emu), "deployed without a campaign")
    st = prtest.read_state(sd)
    check(st["history"][0].get("batch_output") == BATCH_OUTPUT, "state: %s" % st["history"][0])


def case_segment(ctx):
    over = prtest.batch_overrides(recipe=prtest.SEGMENT_RECIPE)
    emu = ctx.emulator(overrides=over)
    sd = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, campaign=False,
                     extra=dict(prtest.batch_keys(segment=True), S3EndpointUrl=emu.url))
    c = ctx.cli(cfg, sd, "check", "--online", timeout=20, log_level=None)
    check(c.rc == 0 and "takes batch segment jobs" in c.out and
          "ok   batch input " + BATCH_INPUT in c.out, "check --online: %r" % c)
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once: %r" % r)
    led = prtest.Ledger(emu)
    job = the_batch_job(led, "batchSegmentJobs")
    check(job["status"] == "ACTIVE" and NAME_RE.match(job["jobName"]), "job %s" % job)
    check("CreateBatchInferenceJob" not in ops(emu), "a batch inference job too")


def case_gated(ctx):
    over = prtest.new_version_metrics({NDCG: 0.2})
    emu, cfg, sd, r = once(ctx, dict(prtest.batch_keys(), QualityMetric=NDCG,
                                     MinQuality="0.5"), overrides=over)
    check(r.rc == 1, "once: want exit 1, %r" % r)
    check(prtest.last_outcome(sd) == "gated", "outcome %s" % prtest.last_outcome(sd))
    led = prtest.Ledger(emu)
    check(not led.batch_jobs and "CreateBatchInferenceJob" not in
          [e["operation"] for e in led.lines], "a gated version got a batch job")


def case_failed(ctx):
    hook_env = ctx.path("hook.env")
    reason = "Input file contains no valid records"
    emu, cfg, sd, r = once(ctx, dict(prtest.batch_keys(), OnRunEnd="/bin/sh -c 'env -0 > \"$0\"' "
                                     + hook_env),
                           script={"batchInferenceFails": True, "failureReason": reason})
    check(r.rc == 1, "once: want exit 1, %r" % r)
    st = prtest.read_state(sd)
    h = st["history"][0]
    check(h["outcome"] == "failed" and reason in h["reason"] and "batch" in h["reason"] and
          not h.get("batch_output"), "history %s" % h)
    check(reason in r.err, "the log does not name the reason:\n%s" % prtest.tail(r.err))
    env = read_env(hook_env)
    check(env.get("BATCH_OUTPUT") == "" and env.get("OUTCOME") == "failed" and
          reason in env.get("REASON", ""), "hook env %s" % env)
    led = prtest.Ledger(emu)
    check(len(led.batch_jobs) == 1 and led.batch_jobs[0]["status"] == "CREATE FAILED",
          "jobs %s" % led.batch_jobs)
    # the deploy went live before the batch job failed: the state says so
    # (status, rollback's previous version), as after a success
    new = [v["solutionVersionArn"] for v in led.versions]
    camp = st["campaign"]
    check(len(new) == 1 and camp["current_version"] == new[0] and
          camp["previous_version"] == prtest.INITIAL_VERSION,
          "state campaign %s after a deploy and a failed batch job (new %s)" % (camp, new))


def case_failed_no_reimport(ctx):
    """A failed batch job after training: the data it trained on is
    recorded, so SkipUnchangedData does not import it again (INCREMENTAL
    would append it twice)."""
    emu = ctx.emulator(overrides=prtest.batch_overrides(),
                       script={"batchInferenceFails": True, "failureReason": "boom"})
    sd = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, extra=dict(prtest.batch_keys(), SkipUnchangedData="yes",
                                                 S3EndpointUrl=emu.url,
                                                 ImportMode="INCREMENTAL",
                                                 S3UserInteractionDatasourcePath=(
                                                     "s3://bucket/interactions.csv")))
    ctx.start_at_second(1)
    r1 = ctx.cli(cfg, sd, "once", name="once-1",
                 env=ctx.env(extra={"PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS": "-61000"}))
    check(r1.rc == 1, "first once: want exit 1 (batch failed): %r" % r1)
    r2 = ctx.cli(cfg, sd, "once", name="once-2")
    led = prtest.Ledger(emu)
    imports = [e for e in led.lines if e["operation"] == "CreateDatasetImportJob"
               and prtest.executed(e)]
    check(len(imports) == 1, "imports executed: %d, want 1 (the data was trained)"
          % len(imports))
    check(r2.rc == 0 and prtest.read_state(sd)["history"][0]["outcome"] == "skipped",
          "second once: %r / %s" % (r2, prtest.read_state(sd)["history"][0]))


def case_rollback_refused_in_batch(ctx):
    """rollback while the run is in its batch stage: refused (the batch job
    would write the recommendations of the version rolled back)."""
    emu = ctx.emulator(overrides=prtest.batch_overrides(),
                       durations={"batchInferenceMs": 8000})
    sd = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, extra=prtest.batch_keys())
    p = ctx.spawn(cfg, sd, "once", name="once-killed")
    prtest.wait_until(lambda: any(e["operation"] == "CreateBatchInferenceJob" and
                                  prtest.executed(e) for e in emu.ledger_lines()),
                      prtest.RUN_TIMEOUT_S, "CreateBatchInferenceJob", 0.005)
    p.kill9()
    check(prtest.read_state(sd)["run"]["stage"] == "batch", "not killed in stage batch")
    rb = ctx.cli(cfg, sd, "rollback", "--to", prtest.INITIAL_VERSION, name="rollback")
    check(rb.rc == 1 and "batch" in rb.err, "rollback in the batch stage: %r" % rb)
    check(not [e for e in emu.ledger_lines() if e["operation"] == "UpdateCampaign"
               and e["params"].get("solutionVersionArn") == prtest.INITIAL_VERSION],
          "the rollback's UpdateCampaign was sent")


def case_taken_name(ctx):
    """The batch job's name is taken by a job of another version: the run
    looks for its own a few times, then fails naming the clash; it never
    repeats the create in a loop."""
    emu = ctx.emulator(overrides=prtest.batch_overrides())
    sd = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, extra=dict(prtest.batch_keys(), MaxRunDuration="60"))
    now = ctx.start_at_second(5)
    stamp = time.strftime("%Y%m%dT%H%M", time.gmtime(now))
    st, _, body = prtest.raw_call(emu, "CreateBatchInferenceJob", {
        "jobName": "prtest-%s-batch" % stamp, "solutionVersionArn": prtest.INITIAL_VERSION,
        "jobInput": {"s3DataSource": {"path": BATCH_INPUT}},
        "jobOutput": {"s3DataDestination": {"path": BATCH_OUTPUT}},
        "roleArn": prtest.ROLE_ARN})
    check(st == 200, "pre-create: %s %s" % (st, body))
    t0 = time.monotonic()
    r = ctx.cli(cfg, sd, "once", timeout=90)
    took = time.monotonic() - t0
    names = [e["operation"] for e in emu.ledger_lines()]
    check(r.rc == 1 and "a job of that name exists" in r.err,
          "once: want exit 1 naming the clash: %r" % r)
    check(names.count("CreateBatchInferenceJob") == 2 and
          names.count("ListBatchInferenceJobs") <= 6,
          "creates %d, lists %d: want the one create, a few looks"
          % (names.count("CreateBatchInferenceJob"), names.count("ListBatchInferenceJobs")))
    check(took < 45, "once took %.0f s" % took)


def case_segment_wrong_recipe(ctx):
    emu = ctx.emulator(overrides=prtest.batch_overrides())
    sd = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, campaign=False,
                     extra=dict(prtest.batch_keys(segment=True), S3EndpointUrl=emu.url))
    c = ctx.cli(cfg, sd, "check", "--online", timeout=20, log_level=None)
    check(c.rc == 78 and "not a segmentation recipe" in c.out, "check --online: %r" % c)
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 1, "once: want exit 1, %r" % r)
    h = prtest.read_state(sd)["history"][0]
    check(h["outcome"] == "failed" and "CreateBatchSegmentJob" in h["reason"] and
          "InvalidInput" in h["reason"], "history %s" % h)
    check(not prtest.Ledger(emu).batch_jobs, "a job was created")


def case_check_offline(ctx):
    cfg = ctx.config(None, datasets=1, extra={
        "EndpointUrl": "http://127.0.0.1:9",
        "BatchInferenceInput": "s3://prtest-bucket/batch/",
        "BatchInferenceOutput": "s3://prtest-bucket/out",
        "NumResults": "0", "FilterArn": prtest.ARN + "campaign/x"})
    r = ctx.cli(cfg, None, "check", timeout=10, log_level=None)
    check(r.rc == 78, "check: want exit 78, %r" % r)
    lines = {}
    with open(cfg) as f:
        for i, line in enumerate(f, 1):
            lines[line.split("=", 1)[0]] = i
    for key, what in (("BatchInferenceInput", "is a folder"),
                      ("BatchInferenceOutput", "must be a folder ending in /"),
                      ("NumResults", "out of range"), ("FilterArn", "not a filter")):
        want = "%s:%d: %s" % (cfg, lines[key], key)
        check(any(l.startswith(want) and what in l for l in r.err.splitlines()),
              "no %s... %s error:\n%s" % (want, what, r.err))


def case_faults(ctx):
    faults = [
        {"operation": "CreateBatchInferenceJob", "kind": "throttle", "count": 1},
        {"operation": "CreateBatchInferenceJob", "kind": "503", "count": 1},
        {"operation": "CreateBatchInferenceJob", "kind": "500", "phase": "after", "count": 1},
        {"operation": "DescribeBatchInferenceJob", "kind": "throttle", "count": 2},
        {"operation": "DescribeBatchInferenceJob", "kind": "reset", "count": 1},
        {"operation": "ListBatchInferenceJobs", "kind": "503", "count": 1},
    ]
    emu = ctx.emulator(overrides=prtest.batch_overrides(), faults=faults)
    sd = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, extra=prtest.batch_keys())
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once: %r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=1)
    check(len(led.batch_jobs) == 1 and led.batch_jobs[0]["status"] == "ACTIVE",
          "jobs %s" % led.batch_jobs)
    creates = [e for e in led.lines if e["operation"] == "CreateBatchInferenceJob"]
    check(sum(1 for e in creates if prtest.executed(e)) == 1 and
          not any(e.get("error") in prtest.REJECTED_DUP for e in creates),
          "creates %s" % [(e.get("status"), e.get("error"), e.get("fault")) for e in creates])
    check(any(e.get("fault") for e in led.lines if "Batch" in e["operation"]),
          "no fault was injected on the batch calls")


def case_kill9(ctx):
    emu = ctx.emulator(overrides=prtest.batch_overrides())
    sd = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, extra=prtest.batch_keys())
    p = ctx.spawn(cfg, sd, "once", name="once-killed")

    def created():
        if p.poll() is not None:
            raise prtest.Fail("once ended before the batch job:\n%r" % p.result())
        return any(e["operation"] == "CreateBatchInferenceJob" and prtest.executed(e)
                   for e in emu.ledger_lines())
    prtest.wait_until(created, prtest.RUN_TIMEOUT_S, "CreateBatchInferenceJob", 0.005)
    p.kill9()
    st = prtest.read_state(sd)
    check(st["run"]["stage"] == "batch", "killed in stage %s" % st["run"]["stage"])
    r = ctx.cli(cfg, sd, "once", name="once-restarted")
    check(r.rc == 0, "restarted once: %r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run(datasets=1)
    check(len(led.batch_jobs) == 1 and led.batch_jobs[0]["status"] == "ACTIVE",
          "jobs %s" % led.batch_jobs)
    names = [e["operation"] for e in led.lines]
    check(names.count("CreateBatchInferenceJob") == 1 and
          ("ListBatchInferenceJobs" in names or "DescribeBatchInferenceJob" in names),
          "not adopted: %s" % led.count_ops())
    check(not led.rejected(), "rejected: %s" % led.summary())
    h = prtest.read_state(sd)["history"][0]
    check(h["outcome"] == "succeeded" and h.get("batch_output") == BATCH_OUTPUT,
          "history %s" % h)


CASES = [
    ("campaign and batch inference: status, metrics, hook, events", case_campaign_and_batch),
    ("batch only, no campaign", case_batch_only),
    ("batch segment job with check --online", case_segment),
    ("gated: no batch job", case_gated),
    ("failed batch job fails the run", case_failed),
    ("segment keys, recipe that cannot segment", case_segment_wrong_recipe),
    ("check: batch errors with file:line", case_check_offline),
    ("faults on the batch calls: one job", case_faults),
    ("kill -9 during the batch job: adopted", case_kill9),
    ("failed batch job: the trained data is not imported again", case_failed_no_reimport),
    ("rollback refused in the batch stage", case_rollback_refused_in_batch),
    ("a batch job name taken by another version's job", case_taken_name),
]

if __name__ == "__main__":
    prtest.main(CASES, parallel=4)
