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
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_harness import Emulator, install_signal_cleanup  # noqa: E402
from daemon_once import binary, cli, write_config  # noqa: E402

WORLD = "tests/emulator/worlds/test.json"
ACCOUNT = "arn:aws:personalize:us-east-1:123456789012"
V0 = ACCOUNT + ":solution/my-solution/0a1b2c3d"
# the first cycle runs a minute behind the second (its own fire time, so
# new job names) instead of waiting for the next minute
A_MINUTE_AGO = {"PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS": "-60000"}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def ok(led, op):
    return [x for x in led if x["operation"] == op and x["status"] == 200]


def serving(emu):
    st, body = emu.admin("GET", "state")
    for c in body["world"]["campaigns"]:
        if c["name"] == "my-campaign":
            return c.get("solutionVersionArn")
    return None


def status_json(cfg, state):
    rc, out, err = cli(cfg, state, "status", "--json", timeout=10)
    try:
        return json.loads(out)["pipelines"][0]
    except (ValueError, KeyError, IndexError):
        fail("status --json unusable: %s %s" % (out[:200], err))
        return {}


def two_cycles_then_rollback():
    label = "rollback after two cycles"
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-rb-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        hooklog = os.path.join(tmp, "hook.log")
        hook = os.path.join(tmp, "hook.sh")
        with open(hook, "w") as f:
            f.write('#!/bin/sh\necho "$RUN_KIND $OUTCOME $SOLUTION_VERSION_ARN" >> "%s"\n' % hooklog)
        os.chmod(hook, 0o755)
        write_config(cfg, emu.url, 1, True, "rb", extra=("OnRunEnd=" + hook,))
        deployed = []
        for cycle in (1, 2):
            rc, out, err = cli(cfg, state, "once",
                               extra_env=A_MINUTE_AGO if cycle == 1 else None)
            if rc != 0:
                fail("%s: once #%d exit %d\n%s" % (label, cycle, rc, err))
                return
            vs = ok(emu.ledger(), "CreateSolutionVersion")
            deployed.append(vs[-1]["resultArn"])
        v1, v2 = deployed
        if v1 == v2 or serving(emu) != v2:
            fail("%s: after two cycles V1 %s V2 %s, campaign serves %s" % (label, v1, v2, serving(emu)))
            return
        p = status_json(cfg, state)
        if p.get("campaign_version") != v2 or p.get("campaign_prev_version") != v1:
            fail("%s: status before rollback: serving %s previous %s, want %s / %s"
                 % (label, p.get("campaign_version"), p.get("campaign_prev_version"), v2, v1))
        rc, out, err = cli(cfg, state, "status", timeout=10)
        if "previous   " + v1 not in out:
            fail("%s: status does not show the previous version:\n%s" % (label, out))
        n_before = len(ok(emu.ledger(), "UpdateCampaign"))
        rc, out, err = cli(cfg, state, "rollback")
        if rc != 0:
            fail("%s: rollback exit %d\n%s" % (label, rc, err))
            return
        if serving(emu) != v1:
            fail("%s: after rollback the campaign serves %s, want %s" % (label, serving(emu), v1))
        ups = ok(emu.ledger(), "UpdateCampaign")
        if len(ups) != n_before + 1 or ups[-1]["params"].get("solutionVersionArn") != v1:
            fail("%s: UpdateCampaign calls after rollback: %s" % (label, [u["params"] for u in ups[n_before:]]))
        p = status_json(cfg, state)
        if p.get("campaign_version") != v1 or p.get("campaign_prev_version") != v2:
            fail("%s: status after rollback: serving %s previous %s"
                 % (label, p.get("campaign_version"), p.get("campaign_prev_version")))
        h = (p.get("history") or [{}])[0]
        if h.get("outcome") != "succeeded" or h.get("version_arn") != v1 or \
                h.get("kind") != "rollback":
            fail("%s: last history entry %s" % (label, h))
        if any(x.get("kind") != "retrain" for x in (p.get("history") or [])[1:]):
            fail("%s: the cycles before are not retrain entries: %s" % (label, p.get("history")))
        rc, out, err = cli(cfg, state, "status", timeout=10)
        if "rollback to " + v1 not in out:
            fail("%s: status does not show the rollback:\n%s" % (label, out))
        # OnRunEnd ran after both cycles and after the rollback (once waits)
        with open(hooklog) as f:
            runs = f.read().split("\n")
        want = ["retrain succeeded " + v1, "retrain succeeded " + v2,
                "rollback succeeded " + v1]
        if runs[:3] != want:
            fail("%s: OnRunEnd saw %s, want %s" % (label, runs, want))
        # forward again with --to, then a rollback to what it serves
        rc, out, err = cli(cfg, state, "rollback", "--to", v2)
        if rc != 0 or serving(emu) != v2:
            fail("%s: rollback --to V2 exit %d, serves %s\n%s" % (label, rc, serving(emu), err))
        n = len(ok(emu.ledger(), "UpdateCampaign"))
        rc, out, err = cli(cfg, state, "rollback", "--to", v2)
        if rc != 1 or "already serves" not in err:
            fail("%s: rollback --to the serving version: exit %d\n%s" % (label, rc, err))
        if len(ok(emu.ledger(), "UpdateCampaign")) != n:
            fail("%s: a refused rollback sent UpdateCampaign" % label)


def refusals():
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-rb2-") as tmp:
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        cfg = os.path.join(tmp, "p.cfg")
        write_config(cfg, emu.url, 1, True, "ref")
        rc, out, err = cli(cfg, state, "rollback")
        if rc != 1 or "name one with --to" not in err:
            fail("rollback without a previous version: exit %d\n%s" % (rc, err))
        rc, out, err = cli(cfg, state, "rollback", "--to", "nonsense")
        if rc != 2:
            fail("rollback --to nonsense: exit %d, want 2\n%s" % (rc, err))
        rc, out, err = cli(cfg, state, "rollback", "--to", ACCOUNT + ":solution/my-solution/deadbeef")
        if rc != 1:
            fail("rollback --to an unknown version: exit %d, want 1\n%s" % (rc, err))
        if ok(emu.ledger(), "UpdateCampaign"):
            fail("rollback --to an unknown version sent UpdateCampaign")
        if serving(emu) != V0:
            fail("campaign changed by refused rollbacks: %s" % serving(emu))
        nocamp = os.path.join(tmp, "nocamp.cfg")
        write_config(nocamp, emu.url, 1, False, "nocamp")
        rc, out, err = cli(nocamp, state, "rollback", "--to", V0)
        if rc != 2 or "no campaign" not in err:
            fail("rollback without CampaignArn: exit %d, want 2\n%s" % (rc, err))
        two = os.path.join(tmp, "two.yaml")
        with open(two, "w") as f:
            f.write("ImportRoleArn: arn:aws:iam::123456789012:role/PersonalizeS3ImportRole\n"
                    "EndpointUrl: %s\npipelines:\n" % emu.url)
            for n in ("a", "b"):
                f.write("  - PipelineName: %s\n    SolutionArn: %s:solution/%s\n"
                        "    UserDatasetArn: %s:dataset/g/USERS\n"
                        "    S3UserDatasourcePath: s3://bucket/users.csv\n"
                        % (n, ACCOUNT, n, ACCOUNT))
        rc, out, err = cli(two, state, "rollback")
        if rc != 2 or "-p" not in err:
            fail("rollback with two pipelines and no -p: exit %d, want 2\n%s" % (rc, err))


def main():
    install_signal_cleanup()
    if not os.path.exists(binary()):
        print("no %s: build first" % binary())
        return 1
    threads = [threading.Thread(target=two_cycles_then_rollback),
               threading.Thread(target=refusals)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("daemon rollback: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
