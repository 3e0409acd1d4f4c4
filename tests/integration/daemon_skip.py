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

The three cases run side by side, each with an emulator of its own
(prtest.py).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import ARN, CLOCK_OFFSET_ENV, answered, check  # noqa: E402

ONCE_TIMEOUT_S = 60
DAILY = "rate(1 day)"
USERS_ARN = ARN + "dataset/my-dataset-group/USERS"
CHANGED_ETAG = "\"0123456789abcdef0123456789abcdef\""


def skip_config(ctx, emu, types, campaign, paths=None):
    """SkipUnchangedData=yes, the S3 client on the emulator, the datasets of
    types on s3://bucket/TYPE.csv (the objects the world declares) unless
    paths ({type: uri}) says otherwise."""
    extra = {"SkipUnchangedData": "yes", "S3EndpointUrl": emu.url}
    for t, arn_key, s3_key in prtest.DATASETS:
        if t in types:
            extra[arn_key] = ARN + "dataset/my-dataset-group/" + t
            extra[s3_key] = (paths or {}).get(t, "s3://bucket/%s.csv" % t.lower())
    return ctx.config(emu, datasets=0, campaign=campaign, schedule=DAILY, extra=extra)


def once(ctx, cfg, state, *args, minutes_ago=0):
    """`once` (or args) at the default log level, its clock minutes_ago behind."""
    extra = {CLOCK_OFFSET_ENV: str(-60000 * minutes_ago)} if minutes_ago else None
    return ctx.cli(cfg, state, *(args or ("once",)), timeout=ONCE_TIMEOUT_S, log_level=None,
                   env=ctx.env(extra=extra))


def admin_ok(emu, label, what, body):
    st, reply = emu.admin_status("POST", what, body)
    check(st == 200, "%s: POST /_emulator/%s: %s %s" % (label, what, st, reply))


def skip_cycle(ctx):
    label = "skip unchanged"
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    cfg = skip_config(ctx, emu, ("USERS", "ITEMS"), True)
    # the first two `once` (and `status`) run a minute behind the third
    r = once(ctx, cfg, state, minutes_ago=1)
    check(r.rc == 0, "%s: first once: %r" % (label, r))
    led = emu.ledger_lines()
    heads = answered(led, "S3:HeadObject")
    check(len(heads) == 2, "%s: first once made %d HeadObject, want 2" % (label, len(heads)))
    n = len(answered(led, "CreateDatasetImportJob"))
    check(n == 2, "%s: first once: %d imports, want 2" % (label, n))
    n_led = len(led)
    # unchanged
    r = once(ctx, cfg, state, minutes_ago=1)
    check(r.rc == 0, "%s: second once: %r, want exit 0" % (label, r))
    check("skipped: no new data" in r.err, "%s: second once does not say skipped:\n%s"
          % (label, r.err))
    new = emu.ledger_lines()[n_led:]
    ops = sorted(set(x["operation"] for x in new))
    check(len(answered(new, "S3:HeadObject")) == 2 and not any(
        o in ops for o in ("CreateDatasetImportJob", "CreateSolutionVersion", "UpdateCampaign")),
        "%s: second once called %s" % (label, ops))
    r = ctx.cli(cfg, state, "status", "--json", timeout=10, log_level=None,
                env=ctx.env(extra={CLOCK_OFFSET_ENV: "-60000"}))
    try:
        h = json.loads(r.out)["pipelines"][0]["history"][0]
    except (ValueError, KeyError, IndexError) as e:
        raise prtest.Fail("%s: status --json (%s): %s" % (label, e, r.out[:300]))
    check(h["outcome"] == "skipped", "%s: status outcome %s, want skipped" % (label, h["outcome"]))
    # one object changes
    admin_ok(emu, label, "s3", {"uri": "s3://bucket/users.csv", "etag": CHANGED_ETAG})
    n_led = len(emu.ledger_lines())
    r = once(ctx, cfg, state)
    check(r.rc == 0, "%s: third once: %r" % (label, r))
    new = emu.ledger_lines()[n_led:]
    arns = [x["params"]["datasetArn"] for x in answered(new, "CreateDatasetImportJob")]
    check(arns == [USERS_ARN], "%s: third once imported %s, want only USERS" % (label, arns))
    check(len(answered(new, "CreateSolutionVersion")) == 1 and len(answered(new, "UpdateCampaign")) == 1,
          "%s: third once did not train and deploy" % label)


def head_fails_imports_anyway(ctx):
    label = "skip with a missing object"
    prtest.require_binaries()
    emu = ctx.emulator()
    state = ctx.state_dir()
    cfg = skip_config(ctx, emu, ("USERS",), False, {"USERS": "s3://bucket/nosuch.csv"})
    r = once(ctx, cfg, state)
    check(r.rc == 0, "%s: %r" % (label, r))
    n = len(answered(emu.ledger_lines(), "CreateDatasetImportJob"))
    check(n == 1, "%s: %d imports, want 1" % (label, n))
    check("warning" in r.err and "nosuch.csv" in r.err,
          "%s: no warning naming the object:\n%s" % (label, r.err))


FOLDER = "s3://bucket/users/"


def folder_world():
    with open(prtest.WORLD) as f:
        objs = json.load(f)["s3Objects"]
    objs = objs + [{"uri": FOLDER, "etag": "\"d41d8cd98f00b204e9800998ecf8427e\"", "size": 0}]
    for i in range(5):
        objs.append({"uri": "%spart-%04d.csv" % (FOLDER, i),
                     "etag": "\"%032x\"" % (0xabc0 + i), "size": 1000 + i,
                     "lastModified": "2026-11-20T10:00:00Z"})
    return {"s3Objects": objs, "s3ListMaxKeys": 2}


def folder_cycle(ctx):
    label = "skip unchanged folder"
    prtest.require_binaries()
    emu = ctx.emulator(overrides=folder_world())
    state = ctx.state_dir()
    cfg = skip_config(ctx, emu, ("USERS",), True, {"USERS": FOLDER})
    # under the policy `personalize-retrain policy` prints for it
    doc = prtest.printed_policy(cfg)
    lists = [x for x in doc["Statement"] if x["Action"] == "s3:ListBucket"]
    check(len(lists) == 1 and lists[0]["Resource"] == "arn:aws:s3:::bucket" and
          lists[0]["Condition"] == {"StringLike": {"s3:prefix": "users/*"}},
          "%s: policy's ListBucket: %s" % (label, lists))
    admin_ok(emu, label, "policy", {"policy": doc})
    steps = [
        ("first", None, 3, True),
        ("unchanged", None, 3, False),
        ("one object changed", {"uri": FOLDER + "part-0003.csv", "etag": CHANGED_ETAG}, 2, True),
        ("one object added", {"uri": FOLDER + "part-0005.csv", "etag": "\"5555\"",
                              "size": 7}, 1, True),
        ("a folder marker added", {"uri": FOLDER + "sub/", "etag": "\"m\""}, 1, False),
    ]
    n_led = 0
    for name, change, ago, imports in steps:
        step = "%s: %s" % (label, name)
        if change:
            admin_ok(emu, step, "s3", change)
        r = once(ctx, cfg, state, minutes_ago=ago)
        led = emu.ledger_lines()
        new = led[n_led:]
        n_led = len(led)
        check(r.rc == 0, "%s: %r" % (step, r))
        lists = answered(new, "S3:ListObjectsV2")
        want_pages = 4 if name in ("one object added", "a folder marker added") else 3
        check(len(lists) == want_pages and all(x["params"]["Prefix"] == "users/" for x in lists),
              "%s: %d ListObjectsV2 pages (%s), want %d"
              % (step, len(lists), [x["params"] for x in lists], want_pages))
        check(not any(x["operation"] == "S3:HeadObject" for x in new),
              "%s: a HeadObject of a folder" % step)
        check(all(x.get("signatureOk") is True for x in lists),
              "%s: a listing with a bad signature" % step)
        got = answered(new, "CreateDatasetImportJob")
        if imports:
            srcs = [x["params"]["dataSource"]["dataLocation"] for x in got]
            check(srcs == [FOLDER], "%s: imported %s, want the folder" % (step, srcs))
            check(len(answered(new, "CreateSolutionVersion")) == 1, "%s: no training" % step)
        else:
            check(not (got or answered(new, "CreateSolutionVersion") or answered(new, "UpdateCampaign")),
                  "%s: imported or trained: %s" % (step, sorted(set(x["operation"] for x in new))))
            check("skipped: no new data" in r.err, "%s: not skipped:\n%s" % (step, r.err))
        denied = [x for x in new if x["status"] == 403]
        check(not denied, "%s: denied under the printed policy: %s" % (step, denied))
    # without s3:ListBucket the listing is denied: imported anyway, the
    # warning names the permission
    step = "%s: listing denied" % label
    doc["Statement"] = [x for x in doc["Statement"] if x["Action"] != "s3:ListBucket"]
    emu.admin_status("POST", "policy", {"policy": doc})
    r = once(ctx, cfg, state)
    new = emu.ledger_lines()[n_led:]
    check(r.rc == 0, "%s: %r" % (step, r))
    check([x["status"] for x in new if x["operation"] == "S3:ListObjectsV2"] == [403],
          "%s: %s" % (step, [x["operation"] for x in new]))
    check(len(answered(new, "CreateDatasetImportJob")) == 1, "%s: not imported" % step)
    check("s3:ListBucket on arn:aws:s3:::bucket" in r.err and "importing it anyway" in r.err,
          "%s: no warning naming s3:ListBucket:\n%s" % (step, r.err))


if __name__ == "__main__":
    prtest.main([("skip unchanged", skip_cycle),
                 ("skip with a missing object", head_fails_imports_anyway),
                 ("skip unchanged folder", folder_cycle)], parallel=3)
