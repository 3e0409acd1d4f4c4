#!/usr/bin/env python3
# run-tests: duration=12
"""daemon_rollback - `rollback [--to ARN] [-p PIPELINE]` against the real
emulator (tests/emulator/worlds/test.json; the campaign starts on version
0a1b2c3d).

- two `once` cycles (the second in the next minute, so that it trains a new
  version: job names carry the fire time's minute; the first runs with its
  clock a minute behind, PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS, rather
  than the test waiting for a minute) deploy V1 then V2;
  `status` shows V2 serving and V1 as the previous version; `rollback`
  exits 0, the emulator's campaign serves V1 again (its state endpoint),
  the ledger's last UpdateCampaign names V1, and `status` now shows V1
  serving, V2 previous and a succeeded run for V1; `rollback --to V2` goes
  forward again; `rollback --to <what it serves>` is refused (exit 1).
  Each of those ends with OnRunEnd (RUN_KIND=retrain, then rollback), and the
  history marks the rollback as such ("kind", and "rollback to" in `status`).
- refusals: no previous version known (fresh state): exit 1 with "name one
  with --to"; a pipeline without CampaignArn: exit 2; --to that is not an
  ARN: exit 2; --to an unknown version: exit 1 and no UpdateCampaign; a
  config with two pipelines and no -p: exit 2.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import ARN, INITIAL_VERSION as V0, answered, check  # noqa: E402

# the first cycle runs a minute behind the second (its own fire time, so
# new job names) instead of waiting for the next minute
A_MINUTE_AGO = {prtest.CLOCK_OFFSET_ENV: "-60000"}


def serving(emu):
    for c in emu.state()["campaigns"]:
        if c["name"] == "my-campaign":
            return c.get("solutionVersionArn")
    return None


def cli(ctx, cfg, state, *args, timeout=prtest.RUN_TIMEOUT_S, env_extra=None):
    return ctx.cli(cfg, state, *args, timeout=timeout, log_level=None,
                   env=ctx.env(extra=env_extra))


def status_json(ctx, cfg, state):
    r = cli(ctx, cfg, state, "status", "--json", timeout=10)
    try:
        return json.loads(r.out)["pipelines"][0]
    except (ValueError, KeyError, IndexError):
        raise prtest.Fail("status --json unusable: %r" % r)


def two_cycles_then_rollback(ctx):
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    hooklog = ctx.path("hook.log")
    hook = ctx.path("hook.sh")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\necho "$RUN_KIND $OUTCOME $SOLUTION_VERSION_ARN" >> "%s"\n' % hooklog)
    os.chmod(hook, 0o755)
    cfg = ctx.config(emu, datasets=1, campaign=True,
                     extra={"PipelineName": "rb", "OnRunEnd": hook})
    deployed = []
    for cycle in (1, 2):
        r = cli(ctx, cfg, state, "once", env_extra=A_MINUTE_AGO if cycle == 1 else None)
        check(r.rc == 0, "once #%d: %r" % (cycle, r))
        vs = answered(emu.ledger_lines(), "CreateSolutionVersion")
        deployed.append(vs[-1]["resultArn"])
    v1, v2 = deployed
    check(v1 != v2 and serving(emu) == v2, "after two cycles V1 %s V2 %s, campaign serves %s"
          % (v1, v2, serving(emu)))
    p = status_json(ctx, cfg, state)
    check(p.get("campaign_version") == v2 and p.get("campaign_prev_version") == v1,
          "status before rollback: serving %s previous %s, want %s / %s"
          % (p.get("campaign_version"), p.get("campaign_prev_version"), v2, v1))
    r = cli(ctx, cfg, state, "status", timeout=10)
    check("previous   " + v1 in r.out, "status does not show the previous version:\n%s" % r.out)
    n_before = len(answered(emu.ledger_lines(), "UpdateCampaign"))
    r = cli(ctx, cfg, state, "rollback")
    check(r.rc == 0, "rollback: %r" % r)
    check(serving(emu) == v1, "after rollback the campaign serves %s, want %s" % (serving(emu), v1))
    ups = answered(emu.ledger_lines(), "UpdateCampaign")
    check(len(ups) == n_before + 1 and ups[-1]["params"].get("solutionVersionArn") == v1,
          "UpdateCampaign calls after rollback: %s" % [u["params"] for u in ups[n_before:]])
    p = status_json(ctx, cfg, state)
    check(p.get("campaign_version") == v1 and p.get("campaign_prev_version") == v2,
          "status after rollback: serving %s previous %s"
          % (p.get("campaign_version"), p.get("campaign_prev_version")))
    h = (p.get("history") or [{}])[0]
    check(h.get("outcome") == "succeeded" and h.get("version_arn") == v1 and
          h.get("kind") == "rollback", "last history entry %s" % h)
    check(all(x.get("kind") == "retrain" for x in (p.get("history") or [])[1:]),
          "the cycles before are not retrain entries: %s" % p.get("history"))
    r = cli(ctx, cfg, state, "status", timeout=10)
    check("rollback to " + v1 in r.out, "status does not show the rollback:\n%s" % r.out)
    # OnRunEnd ran after both cycles and after the rollback (once waits)
    with open(hooklog) as f:
        runs = f.read().split("\n")
    want = ["retrain succeeded " + v1, "retrain succeeded " + v2, "rollback succeeded " + v1]
    check(runs[:3] == want, "OnRunEnd saw %s, want %s" % (runs, want))
    # forward again with --to, then a rollback to what it serves
    r = cli(ctx, cfg, state, "rollback", "--to", v2)
    check(r.rc == 0 and serving(emu) == v2,
          "rollback --to V2: serves %s: %r" % (serving(emu), r))
    n = len(answered(emu.ledger_lines(), "UpdateCampaign"))
    r = cli(ctx, cfg, state, "rollback", "--to", v2)
    check(r.rc == 1 and "already serves" in r.err, "rollback --to the serving version: %r" % r)
    check(len(answered(emu.ledger_lines(), "UpdateCampaign")) == n,
          "a refused rollback sent UpdateCampaign")


def refusals(ctx):
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    cfg = ctx.config(emu, datasets=1, campaign=True, extra={"PipelineName": "ref"})
    r = cli(ctx, cfg, state, "rollback")
    check(r.rc == 1 and "name one with --to" in r.err,
          "rollback without a previous version: %r" % r)
    r = cli(ctx, cfg, state, "rollback", "--to", "nonsense")
    check(r.rc == 2, "rollback --to nonsense: want exit 2: %r" % r)
    r = cli(ctx, cfg, state, "rollback", "--to", ARN + "solution/my-solution/deadbeef")
    check(r.rc == 1, "rollback --to an unknown version: want exit 1: %r" % r)
    check(not answered(emu.ledger_lines(), "UpdateCampaign"),
          "rollback --to an unknown version sent UpdateCampaign")
    check(serving(emu) == V0, "campaign changed by refused rollbacks: %s" % serving(emu))
    nocamp = ctx.config(emu, datasets=1, campaign=False, extra={"PipelineName": "nocamp"})
    r = cli(ctx, nocamp, state, "rollback", "--to", V0)
    check(r.rc == 2 and "no campaign" in r.err, "rollback without CampaignArn: want exit 2: %r" % r)
    two = ctx.path("two.yaml")
    with open(two, "w") as f:
        f.write("ImportRoleArn: %s\nEndpointUrl: %s\npipelines:\n" % (prtest.ROLE_ARN, emu.url))
        for n in ("a", "b"):
            f.write("  - PipelineName: %s\n    SolutionArn: %ssolution/%s\n"
                    "    UserDatasetArn: %sdataset/g/USERS\n"
                    "    S3UserDatasourcePath: s3://bucket/users.csv\n"
                    % (n, ARN, n, ARN))
    r = cli(ctx, two, state, "rollback")
    check(r.rc == 2 and "-p" in r.err, "rollback with two pipelines and no -p: want exit 2: %r" % r)


if __name__ == "__main__":
    prtest.main([
        ("rollback after two cycles", two_cycles_then_rollback),
        ("refusals", refusals),
    ])
