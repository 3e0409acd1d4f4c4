#!/usr/bin/env python3
# run-tests: duration=10
"""daemon_skip - SkipUnchangedData=yes end to end against the real emulator
(tests/emulator/worlds/test.json declares s3://bucket/{users,items}.csv;
S3EndpointUrl points the S3 client at the emulator).

- first `once`: nothing recorded yet: one HeadObject per dataset, both
  datasets imported, a version trained and deployed; exit 0.
- second `once` (objects unchanged): HeadObject again, no import, no
  training, no UpdateCampaign; "skipped: no new data"; exit 0; `status`
  shows the run as skipped.
- POST /_emulator/s3 gives users.csv a new ETag; a third `once` (in the next
  minute, so that its job names are new) imports only the users dataset,
  trains and deploys; exit 0. Rather than waiting for that minute, the
  first two run with their clocks a minute behind (the test hook
  PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS) and the third on the real one.
- a HeadObject that fails (an object the world does not have): the dataset
  is imported anyway (the safe default), with a warning; exit 0.
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
# the first two `once` (and `status`) run a minute behind the third
A_MINUTE_AGO = {"PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS": "-60000"}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def ok(led, op):
    return [x for x in led if x["operation"] == op and x["status"] == 200]


def skip_cycle():
    label = "skip unchanged"
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-skip-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, emu.url, 2, True, "skip",
                     extra=["SkipUnchangedData=yes", "S3EndpointUrl=" + emu.url])
        rc, out, err = cli(cfg, state, "once", extra_env=A_MINUTE_AGO)
        if rc != 0:
            fail("%s: first once exit %d\n%s" % (label, rc, err))
            return
        led = emu.ledger()
        heads = ok(led, "S3:HeadObject")
        if len(heads) != 2:
            fail("%s: first once made %d HeadObject, want 2" % (label, len(heads)))
        if len(ok(led, "CreateDatasetImportJob")) != 2:
            fail("%s: first once: %d imports, want 2" % (label, len(ok(led, "CreateDatasetImportJob"))))
        n_led = len(led)
        # unchanged
        rc, out, err = cli(cfg, state, "once", extra_env=A_MINUTE_AGO)
        if rc != 0:
            fail("%s: second once exit %d, want 0\n%s" % (label, rc, err))
        if "skipped: no new data" not in err:
            fail("%s: second once does not say skipped:\n%s" % (label, err))
        new = emu.ledger()[n_led:]
        ops = sorted(set(x["operation"] for x in new))
        if len(ok(new, "S3:HeadObject")) != 2 or any(
                o in ops for o in ("CreateDatasetImportJob", "CreateSolutionVersion", "UpdateCampaign")):
            fail("%s: second once called %s" % (label, ops))
        rc, out, err = cli(cfg, state, "status", "--json", timeout=10,
                           extra_env=A_MINUTE_AGO)
        try:
            h = json.loads(out)["pipelines"][0]["history"][0]
            if h["outcome"] != "skipped":
                fail("%s: status outcome %s, want skipped" % (label, h["outcome"]))
        except (ValueError, KeyError, IndexError) as e:
            fail("%s: status --json (%s): %s" % (label, e, out[:300]))
        # one object changes
        st, body = emu.admin("POST", "s3", {"uri": "s3://bucket/users.csv",
                                            "etag": "\"0123456789abcdef0123456789abcdef\""})
        if st != 200:
            fail("%s: POST /_emulator/s3: %s %s" % (label, st, body))
            return
        n_led = len(emu.ledger())
        rc, out, err = cli(cfg, state, "once")
        if rc != 0:
            fail("%s: third once exit %d\n%s" % (label, rc, err))
            return
        new = emu.ledger()[n_led:]
        imports = ok(new, "CreateDatasetImportJob")
        arns = [x["params"]["datasetArn"] for x in imports]
        if arns != [ACCOUNT + ":dataset/my-dataset-group/USERS"]:
            fail("%s: third once imported %s, want only USERS" % (label, arns))
        if len(ok(new, "CreateSolutionVersion")) != 1 or len(ok(new, "UpdateCampaign")) != 1:
            fail("%s: third once did not train and deploy" % label)


def head_fails_imports_anyway():
    label = "skip with a missing object"
    with Emulator(world=WORLD) as emu, tempfile.TemporaryDirectory(prefix="pr-skip2-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, emu.url, 1, False, "skipmiss",
                     extra=["SkipUnchangedData=yes", "S3EndpointUrl=" + emu.url])
        with open(cfg) as f:
            text = f.read().replace("s3://bucket/users.csv", "s3://bucket/nosuch.csv")
        with open(cfg, "w") as f:
            f.write(text)
        rc, out, err = cli(cfg, state, "once")
        if rc != 0:
            fail("%s: exit %d\n%s" % (label, rc, err))
            return
        led = emu.ledger()
        if len(ok(led, "CreateDatasetImportJob")) != 1:
            fail("%s: %d imports, want 1" % (label, len(ok(led, "CreateDatasetImportJob"))))
        if "warning" not in err or "nosuch.csv" not in err:
            fail("%s: no warning naming the object:\n%s" % (label, err))


def main():
    install_signal_cleanup()
    if not os.path.exists(binary()):
        print("no %s: build first" % binary())
        return 1
    threads = [threading.Thread(target=skip_cycle),
               threading.Thread(target=head_fails_imports_anyway)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("daemon skip unchanged data: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
