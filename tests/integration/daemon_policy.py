#!/usr/bin/env python3
# run-tests: duration=23
"""daemon_policy - the daemon under the IAM policy `personalize-retrain
policy` prints for its own config, enforced by the emulator (--policy's
admin twin, POST /_emulator/policy).

- printed policy, full config (campaign, QualityMetric, SkipUnchangedData,
  Tags):
  `check --online`, `once` (imports, HeadObject, training, gate, deploy),
  `rollback`, a gated run of a second pipeline (MinQuality out of reach), a
  `once` killed with SIGKILL after its creates and resumed, a `once` on an
  unusable state (the look for jobs in flight: the List calls), two `once`
  on one pipeline at once (two hosts): all as usual, zero denials in the
  ledger;
- minimality: for each action of the printed policy, the policy without it
  makes `check --online` or `once` fail, naming that action (s3:GetObject:
  `once` warns naming it and imports anyway, as for any HeadObject that
  fails: SkipUnchangedData only saves imports);
- widening is caught: the policy printed for another account's ARNs, or
  for another pipeline, does not let this pipeline run;
- a denial is final: no retry of the denied call, `once` fails at once,
  `status` names the action, the resource and `personalize-retrain policy`;
  a denied deploy pre-check (DescribeCampaign) sends no UpdateCampaign.

daemon_kill9.py (SIGKILL at every transition and the resume), daemon_adopt.py
(adoption after a lost state) and daemon_two_hosts.py always run under the
printed policy (PRTEST_POLICY=1, prtest.py); any other prtest-based test
does with PRTEST_POLICY=1 in its environment.
"""
import concurrent.futures
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import Ctx, check, Fail  # noqa: E402

DENIED = ("AccessDeniedException", "AccessDenied")
HINT = "personalize-retrain policy"


def full_config(ctx, emu, name=prtest.PIPELINE, extra=None, fname=None):
    """Every feature that widens the policy: campaign, gate, skip, events, tags."""
    x = {"PipelineName": name, "QualityMetric": "coverage", "SkipUnchangedData": "yes",
         "S3EndpointUrl": emu.url, "EventBusName": "default", "Tags": "team=recs,env=prod"}
    for t, _arn_key, s3_key in prtest.DATASETS:
        x[s3_key] = "s3://bucket/%s.csv" % t.lower()
    x.update(extra or {})
    return ctx.config(emu, extra=x, name=fname)


def denials(emu):
    return emu.denials()


def case_printed_policy(ctx):
    emu = ctx.emulator()
    cfg = full_config(ctx, emu)
    emu.enforce_config(cfg)
    sd = ctx.state_dir()
    r = ctx.cli(cfg, None, "check", "--online")
    check(r.rc == 0, "check --online under the printed policy: %r" % r)
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once under the printed policy: %r" % r)
    ops = prtest.Ledger(emu).count_ops()
    for op in ("S3:HeadObject", "GetSolutionMetrics", "UpdateCampaign", "CreateDatasetImportJob",
               "PutEvents"):
        check(ops.get(op), "once made no %s: %s" % (op, ops))
    r = ctx.cli(cfg, sd, "rollback")
    check(r.rc == 0, "rollback under the printed policy: %r" % r)
    # the gate rejecting: another pipeline (other job names, no minute to wait)
    gated = full_config(ctx, emu, name="prtest-gated", extra={"MinQuality": "0.99"})
    emu.enforce_config(gated)
    r = ctx.cli(gated, ctx.state_dir("gated"), "once")
    check(r.rc == 1 and "gate" in (r.err + r.out).lower(),
          "the gated run: exit %s, want 1 with the gate named: %r" % (r.rc, r))
    d = denials(emu)
    check(not d, "denied under the printed policy: %s" % d)


def wait_ops(emu, op, n, timeout=10):
    prtest.wait_until(lambda: len([e for e in emu.ledger_lines()
                                    if e["operation"] == op and e.get("resultArn")]) >= n,
                      timeout, "%d %s" % (n, op))


def case_crash_adopt_two_hosts(ctx):
    emu = ctx.emulator(durations={"importMs": 1500, "trainingMs": 1500})
    cfg = full_config(ctx, emu)
    emu.enforce_config(cfg)
    sd = ctx.state_dir()
    # killed while the imports run, resumed: the lookups by name
    a = ctx.spawn(cfg, sd, "once", name="once-killed")
    wait_ops(emu, "CreateDatasetImportJob", len(prtest.DATASETS))
    a.kill9()
    a.wait(5)
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once after SIGKILL: %r" % r)
    # an unusable state: the look for jobs in flight (both List calls)
    with open(os.path.join(sd, prtest.PIPELINE + ".json"), "w"):
        pass
    r = ctx.cli(cfg, sd, "once")
    check(r.rc == 0, "once on an unusable state: %r" % r)
    ops = prtest.Ledger(emu).count_ops()
    for op in ("ListDatasetImportJobs", "ListSolutionVersions"):
        check(ops.get(op), "no %s made: %s" % (op, ops))
    # two hosts, one pipeline, at once
    two = full_config(ctx, emu, name="prtest-two")
    emu.enforce_config(two)
    h1 = ctx.spawn(two, ctx.state_dir("h1"), "once", name="host-1")
    h2 = ctx.spawn(two, ctx.state_dir("h2"), "once", name="host-2")
    r1, r2 = h1.wait(prtest.RUN_TIMEOUT_S), h2.wait(prtest.RUN_TIMEOUT_S)
    check(r1.rc == 0 and r2.rc == 0, "two hosts: %r %r" % (r1, r2))
    d = denials(emu)
    check(not d, "denied under the printed policy: %s" % d)


def without(policy, action):
    st = []
    for s in policy["Statement"]:
        acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        acts = [a for a in acts if a != action]
        if acts:
            st.append(dict(s, Action=acts))
    return {"Version": policy["Version"], "Statement": st}


def actions_of(policy):
    out = []
    for s in policy["Statement"]:
        for a in s["Action"] if isinstance(s["Action"], list) else [s["Action"]]:
            if a not in out:
                out.append(a)
    return out


def one_removed(ctx, action):
    tag = action.replace(":", "-")
    emu = ctx.emulator()
    cfg = full_config(ctx, emu, fname="params-%s.cfg" % tag)
    emu.enforce(without(prtest.printed_policy(cfg), action))
    sd = ctx.state_dir("state-" + tag)
    # an unusable state makes `once` look for jobs in flight first
    with open(os.path.join(sd, prtest.PIPELINE + ".json"), "w"):
        pass
    said = ""
    for args, state in ((("check", "--online"), None), (("once",), sd)):
        r = ctx.cli(cfg, state, *args)
        said += r.out + r.err
        if r.rc != 0 and action in (r.out + r.err) and HINT in (r.out + r.err):
            return None
        # SkipUnchangedData only saves imports: a HeadObject denied is a
        # warning naming the action, and the run imports anyway
        if (action == "s3:GetObject" and r.rc == 0 and "warning" in r.err
                and "access denied to s3:GetObject on arn:aws:s3:::bucket/" in r.err
                and HINT in r.err):
            return None
        # events never fail a run: a PutEvents denied is a warning naming
        # the action, and the run goes on
        if (action == "events:PutEvents" and r.rc == 0 and "warning" in r.err
                and "access denied to events:PutEvents on arn:aws:events:" in r.err
                and HINT in r.err):
            return None
    return "%s removed: no flow failed naming it (denials: %s)\n%s" % (
        action, [x["operation"] for x in denials(emu)], prtest.tail(said, 15))


def case_minimal(ctx):
    emu = ctx.emulator()
    policy = prtest.printed_policy(full_config(ctx, emu))
    emu.stop()
    acts = actions_of(policy)
    check(len(acts) == 15, "the full config's policy has %d actions: %s" % (len(acts), acts))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        errs = [e for e in ex.map(lambda a: one_removed(ctx, a), acts) if e]
    check(not errs, "\n".join(errs))


def case_tag_versions(ctx):
    """personalize:TagResource is needed on the versions as well as on the
    import jobs: without it on solution/NAME/* the imports go through and
    the tagged CreateSolutionVersion is denied, naming the action."""
    emu = ctx.emulator()
    cfg = full_config(ctx, emu)
    policy = prtest.printed_policy(cfg)
    st = []
    for s in policy["Statement"]:
        if s["Sid"].startswith("SolutionVersions"):
            acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            acts = [a for a in acts if a != "personalize:TagResource"]
            if not acts:
                continue
            s = dict(s, Action=acts)
        st.append(s)
    emu.enforce({"Version": policy["Version"], "Statement": st})
    r = ctx.cli(cfg, ctx.state_dir(), "once")
    check(r.rc == 1 and "personalize:TagResource" in r.err and HINT in (r.out + r.err),
          "once without TagResource on the versions: %r" % r)
    led = prtest.Ledger(emu)
    check(len(led.jobs) == len(prtest.DATASETS), "imports: %s" % led.jobs)
    check([e["operation"] for e in denials(emu)] == ["CreateSolutionVersion"],
          "denials: %s" % denials(emu))


def case_widening(ctx):
    emu = ctx.emulator()
    cfg = full_config(ctx, emu)
    other_account = json.loads(json.dumps(prtest.printed_policy(cfg))
                               .replace(prtest.ACCOUNT, "999999999999"))
    other = full_config(ctx, emu, name="other-pipeline")
    for label, pol in (("another account's resources", other_account),
                       ("another pipeline's policy", prtest.printed_policy(other))):
        emu.enforce(pol)
        r = ctx.cli(cfg, ctx.state_dir(label.replace(" ", "-").replace("'", "")), "once")
        check(r.rc == 1 and "not authorized to perform" in r.err,
              "%s let the pipeline run: %r" % (label, r))
        led = prtest.Ledger(emu)
        check(not [e for e in led.ops("CreateDatasetImportJob") if e.get("resultArn")],
              "%s: an import job was created" % label)


def case_denial_is_final(ctx):
    emu = ctx.emulator()
    cfg = full_config(ctx, emu)
    policy = prtest.printed_policy(cfg)
    emu.enforce(without(policy, "personalize:DescribeDatasetImportJob"))
    sd = ctx.state_dir()
    t0 = time.monotonic()
    r = ctx.cli(cfg, sd, "once")
    took = time.monotonic() - t0
    check(r.rc == 1, "once with a denied poll: exit %s, want 1: %r" % (r.rc, r))
    check(took < 10, "once took %.1f s to fail on a denial" % took)
    polls = [e for e in emu.ledger_lines() if e["operation"] == "DescribeDatasetImportJob"]
    check(all(e.get("error") in DENIED for e in polls) and len(polls) <= len(prtest.DATASETS),
          "the denied poll was retried: %d calls" % len(polls))
    s = ctx.cli(cfg, sd, "status")
    check("personalize:DescribeDatasetImportJob" in s.out and "dataset-import-job/" in s.out
          and HINT in s.out, "status does not name the denial: %r" % s)
    # the deploy's pre-check denied: no UpdateCampaign sent blind
    emu2 = ctx.emulator()
    cfg2 = full_config(ctx, emu2)
    emu2.enforce(without(prtest.printed_policy(cfg2), "personalize:DescribeCampaign"))
    r = ctx.cli(cfg2, ctx.state_dir("precheck"), "once")
    check(r.rc == 1 and "personalize:DescribeCampaign" in r.err,
          "denied pre-check: %r" % r)
    check(not [e for e in emu2.ledger_lines() if e["operation"] == "UpdateCampaign"],
          "UpdateCampaign sent after a denied pre-check")
    # check --online reports every denial, each with its action
    emu2.enforce({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "personalize:DescribeSolution", "Resource": "*"}]})
    r = ctx.cli(cfg2, None, "check", "--online")
    check(r.rc == 78, "check --online under denials: exit %s: %r" % (r.rc, r))
    check(r.out.count("personalize:DescribeDataset denied") == len(prtest.DATASETS)
          and "personalize:DescribeCampaign denied" in r.out and HINT in r.out,
          "check --online does not report each denial: %r" % r)


CASES = [
    ("printed policy: check, once, gate, rollback", case_printed_policy),
    ("printed policy: SIGKILL and resume, adoption, two hosts", case_crash_adopt_two_hosts),
    ("every action of the policy is needed", case_minimal),
    ("TagResource on the solution versions too", case_tag_versions),
    ("widening: other account, other pipeline", case_widening),
    ("a denial is final", case_denial_is_final),
]

if __name__ == "__main__":
    prtest.main(CASES)
