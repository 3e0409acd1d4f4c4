#!/usr/bin/env python3
# run-tests: duration=14
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
- a folder dataset (s3://bucket/users/, five objects and a folder marker,
  the world's s3ListMaxKeys 2: three pages of ListObjectsV2 per check):
  first `once` imports the folder; second (unchanged) lists again and is
  skipped; one object gets a new ETag: imported; one object added:
  imported; only a folder marker added (never imported by Personalize):
  skipped; all under the policy `personalize-retrain policy` prints
  (s3:ListBucket on the bucket for "users/*"), without a denial. That
  policy without its s3:ListBucket: the listing is denied, the folder
  imported anyway with a warning naming s3:ListBucket. Each `once` that
  imports runs in a minute of its own (clock offsets of three, two, one
  minute and none).
"""
import json
import os
import subprocess
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


FOLDER = "s3://bucket/users/"


def folder_world():
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", WORLD)) as f:
        objs = json.load(f)["s3Objects"]
    objs = objs + [{"uri": FOLDER, "etag": "\"d41d8cd98f00b204e9800998ecf8427e\"", "size": 0}]
    for i in range(5):
        objs.append({"uri": "%spart-%04d.csv" % (FOLDER, i),
                     "etag": "\"%032x\"" % (0xabc0 + i), "size": 1000 + i,
                     "lastModified": "2026-11-20T10:00:00Z"})
    return {"s3Objects": objs, "s3ListMaxKeys": 2}


def minutes_ago(n):
    return {"PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS": str(-60000 * n)} if n else None


def folder_cycle():
    label = "skip unchanged folder"
    with Emulator(world=WORLD, overrides=folder_world()) as emu, \
            tempfile.TemporaryDirectory(prefix="pr-skipf-") as tmp:
        cfg = os.path.join(tmp, "p.cfg")
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        write_config(cfg, emu.url, 1, True, "skipfolder",
                     extra=["SkipUnchangedData=yes", "S3EndpointUrl=" + emu.url])
        with open(cfg) as f:
            text = f.read().replace("s3://bucket/users.csv", FOLDER)
        with open(cfg, "w") as f:
            f.write(text)
        # under the policy `personalize-retrain policy` prints for it
        pol = subprocess.run([binary(), "-c", cfg, "policy"], capture_output=True, text=True,
                             timeout=10)
        if pol.returncode != 0:
            fail("%s: policy exit %d: %s" % (label, pol.returncode, pol.stderr))
            return
        doc = json.loads(pol.stdout)
        lists = [x for x in doc["Statement"] if x["Action"] == "s3:ListBucket"]
        if len(lists) != 1 or lists[0]["Resource"] != "arn:aws:s3:::bucket" or \
                lists[0]["Condition"] != {"StringLike": {"s3:prefix": "users/*"}}:
            fail("%s: policy's ListBucket: %s" % (label, lists))
        st, body = emu.admin("POST", "policy", {"policy": doc})
        if st != 200:
            fail("%s: POST /_emulator/policy: %s %s" % (label, st, body))
            return
        steps = [
            ("first", None, 3, True),
            ("unchanged", None, 3, False),
            ("one object changed", {"uri": FOLDER + "part-0003.csv",
                                    "etag": "\"0123456789abcdef0123456789abcdef\""}, 2, True),
            ("one object added", {"uri": FOLDER + "part-0005.csv", "etag": "\"5555\"",
                                  "size": 7}, 1, True),
            ("a folder marker added", {"uri": FOLDER + "sub/", "etag": "\"m\""}, 1, False),
        ]
        n_led = 0
        for name, change, ago, imports in steps:
            if change:
                st, body = emu.admin("POST", "s3", change)
                if st != 200:
                    fail("%s: %s: POST /_emulator/s3: %s %s" % (label, name, st, body))
                    return
            rc, out, err = cli(cfg, state, "once", extra_env=minutes_ago(ago))
            led = emu.ledger()
            new = led[n_led:]
            n_led = len(led)
            if rc != 0:
                fail("%s: %s: once exit %d\n%s" % (label, name, rc, err))
                return
            lists = ok(new, "S3:ListObjectsV2")
            want_pages = 4 if name in ("one object added", "a folder marker added") else 3
            if len(lists) != want_pages or any(x["params"]["Prefix"] != "users/" for x in lists):
                fail("%s: %s: %d ListObjectsV2 pages (%s), want %d" % (
                    label, name, len(lists), [x["params"] for x in lists], want_pages))
            if any(x["operation"] == "S3:HeadObject" for x in new):
                fail("%s: %s: a HeadObject of a folder" % (label, name))
            if any(x.get("signatureOk") is not True for x in lists):
                fail("%s: %s: a listing with a bad signature" % (label, name))
            got = ok(new, "CreateDatasetImportJob")
            if imports:
                srcs = [x["params"]["dataSource"]["dataLocation"] for x in got]
                if srcs != [FOLDER]:
                    fail("%s: %s: imported %s, want the folder" % (label, name, srcs))
                if len(ok(new, "CreateSolutionVersion")) != 1:
                    fail("%s: %s: no training" % (label, name))
            else:
                if got or ok(new, "CreateSolutionVersion") or ok(new, "UpdateCampaign"):
                    fail("%s: %s: imported or trained: %s" % (
                        label, name, sorted(set(x["operation"] for x in new))))
                if "skipped: no new data" not in err:
                    fail("%s: %s: not skipped:\n%s" % (label, name, err))
            denied = [x for x in new if x["status"] == 403]
            if denied:
                fail("%s: %s: denied under the printed policy: %s" % (label, name, denied))
        # without s3:ListBucket the listing is denied: imported anyway, the
        # warning names the permission
        doc["Statement"] = [x for x in doc["Statement"] if x["Action"] != "s3:ListBucket"]
        emu.admin("POST", "policy", {"policy": doc})
        rc, out, err = cli(cfg, state, "once")
        new = emu.ledger()[n_led:]
        if rc != 0:
            fail("%s: listing denied: once exit %d\n%s" % (label, rc, err))
        elif [x["status"] for x in new if x["operation"] == "S3:ListObjectsV2"] != [403]:
            fail("%s: listing denied: %s" % (label, [x["operation"] for x in new]))
        elif len(ok(new, "CreateDatasetImportJob")) != 1:
            fail("%s: listing denied: not imported" % label)
        elif "s3:ListBucket on arn:aws:s3:::bucket" not in err or "importing it anyway" not in err:
            fail("%s: listing denied: no warning naming s3:ListBucket:\n%s" % (label, err))


def main():
    install_signal_cleanup()
    if not os.path.exists(binary()):
        print("no %s: build first" % binary())
        return 1
    threads = [threading.Thread(target=skip_cycle),
               threading.Thread(target=head_fails_imports_anyway),
               threading.Thread(target=folder_cycle)]
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
