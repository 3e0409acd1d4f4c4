#!/usr/bin/env python3
# run-tests: duration=5
"""s3_head - the emulator's S3 HeadObject endpoint against boto3, and our
client (src/s3.c, driven through `test_s3 --probe`) against the same objects.

boto3 (path-style addressing, endpoint_url = the emulator) proves the
endpoint is faithful; our client must then see exactly what boto3 sees:
ETag (quotes kept), Last-Modified, Content-Length, 404, 403 on a bad
signature, keys that need percent-encoding, an object changed through
POST /_emulator/s3, SlowDown faults retried, a wrong signing region named
by x-amz-bucket-region, and a virtual-hosted request signed by botocore.
Every HEAD appears in the ledger as S3:HeadObject.

ListObjectsV2 (the world's s3ListMaxKeys small, so listings page): our
client's digest of a folder equals the one computed here from the
objects boto3's paginator lists, over several pages (keys that need
encoding, a folder marker left out); SlowDown retried, a malformed page,
an unknown bucket, a bad signature; a virtual-hosted listing signed by
botocore. Each page appears in the ledger as S3:ListObjectsV2.

Each case has an emulator of its own (prtest.py). Every case is skipped
(exit 77) when the emulator or the probe binary is missing; the boto3 half
is left out (said so) when boto3 is not installed.
"""
import calendar
import hashlib
import http.client
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import AKID, REGION, SECRET, Fail, Skip, check  # noqa: E402

try:
    import boto3
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:
    HAVE_BOTO3 = False

BUCKET = "my-personalize-bucket"
PROBE_TIMEOUT_S = 30


PROBE = os.path.join(prtest.BUILD_DIR, "tests", "test_s3")


def probe(emu, uris, region=REGION, akid=AKID, secret=SECRET):
    """Our client: one dict per URI."""
    out = subprocess.run([PROBE, "--probe", emu.url, region, akid, secret] + list(uris),
                         capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    if out.returncode != 0:
        raise Fail("probe exited %d: %s" % (out.returncode, out.stderr))
    res = json.loads(out.stdout)
    check(len(res) == len(uris), res)
    return {r["uri"]: r for r in res}


def s3_client(emu, secret=SECRET, attempts=1):
    # a session of its own: the cases run in threads, and clients made at
    # once from boto3's shared default session race in botocore's lazy
    # set-up (KeyError: 'endpoint_resolver', seen on Debian 12's botocore)
    return boto3.session.Session().client("s3", region_name=REGION, endpoint_url=emu.url,
                        aws_access_key_id=AKID, aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"total_max_attempts": attempts, "mode": "standard"}))


def boto_head(s3, uri):
    bucket, key = uri[5:].split("/", 1)
    try:
        r = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        return {"status": int(e.response["Error"]["Code"]) if e.response["Error"]["Code"].isdigit()
                else e.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {"status": 200, "etag": r["ETag"],
            "lastModified": calendar.timegm(r["LastModified"].utctimetuple()),
            "size": r["ContentLength"]}


def agree(ours, theirs, uri):
    check(ours["status"] == theirs["status"], (uri, ours, theirs))
    if theirs["status"] == 200:
        for k in ("etag", "lastModified", "size"):
            check(ours.get(k) == theirs[k], (uri, k, ours, theirs))


def s3_ledger(emu):
    return [e for e in emu.ledger_lines() if e["operation"] == "S3:HeadObject"]


def world_objects():
    with open(prtest.WORLD) as f:
        return json.load(f)["s3Objects"]


def test_objects_agree(emu):
    objs = world_objects()
    uris = [o["uri"] for o in objs] + ["s3://%s/missing.csv" % BUCKET, "s3://no-such-bucket/x.csv"]
    ours = probe(emu, uris)
    for o in objs:
        r = ours[o["uri"]]
        check(r["error"] == "none" and r["status"] == 200, r)
        check(r["etag"] == o["etag"] and r["etag"].startswith('"'), r)
        check(r["lastModified"] == calendar.timegm((2026, 11, 20, 10, 0, 0)), r)
        check(r["size"] == o["size"], r)
    for u in uris[-2:]:
        check(ours[u]["error"] == "not-found" and ours[u]["status"] == 404, ours[u])
        check("no such object" in ours[u]["message"], ours[u])
    if HAVE_BOTO3:
        s3 = s3_client(emu)
        for u in uris:
            agree(ours[u], boto_head(s3, u), u)
    led = s3_ledger(emu)
    check(len(led) >= len(uris), led)
    check(all(e["signatureOk"] for e in led), led)
    check({"Bucket": BUCKET, "Key": "missing.csv"} in [e["params"] for e in led],
          "no HeadObject of missing.csv in the ledger: %s" % led)


def test_changed_object(emu):
    uri = "s3://%s/users.csv" % BUCKET
    before = probe(emu, [uri])[uri]
    st, body = emu.admin_status("POST", "s3", {"uri": uri, "etag": '"0123456789abcdef0123456789abcdef-2"',
                                        "lastModified": "2026-11-24T08:30:00Z", "size": 99})
    check(st == 200, body)
    after = probe(emu, [uri])[uri]
    check(after["etag"] == '"0123456789abcdef0123456789abcdef-2"', after)
    check(after["lastModified"] == calendar.timegm((2026, 11, 24, 8, 30, 0)), after)
    check(after["size"] == 99 and after["etag"] != before["etag"], after)
    if HAVE_BOTO3:
        agree(after, boto_head(s3_client(emu), uri), uri)
    st, body = emu.admin_status("POST", "s3", {"uri": "not-s3", "etag": "x"})
    check(st == 400 and "s3://bucket/key" in body["message"], body)
    st, body = emu.admin_status("POST", "s3", {"uri": uri, "etag": '"e"', "lastModified": "yesterday"})
    check(st == 400 and "ISO-8601" in body["message"], body)


def test_encoded_keys(emu):
    keys = ["dir/caf\u00e9 1+1.csv", "a=b&c/%41.csv", "sp ace/~tilde_(x).csv"]
    for i, k in enumerate(keys):
        st, body = emu.admin_status("POST", "s3", {"uri": "s3://%s/%s" % (BUCKET, k),
                                            "etag": '"%032d"' % i, "size": i})
        check(st == 200, body)
    uris = ["s3://%s/%s" % (BUCKET, k) for k in keys]
    ours = probe(emu, uris)
    for i, u in enumerate(uris):
        check(ours[u]["error"] == "none" and ours[u]["etag"] == '"%032d"' % i, ours[u])
    if HAVE_BOTO3:
        s3 = s3_client(emu)
        for u in uris:
            agree(ours[u], boto_head(s3, u), u)


def test_bad_signature(emu):
    uri = "s3://%s/items.csv" % BUCKET
    r = probe(emu, [uri], secret="wrong-secret")[uri]
    check(r["error"] == "access-denied" and r["status"] == 403, r)
    check("s3:GetObject" in r["message"], r)
    if HAVE_BOTO3:
        theirs = boto_head(s3_client(emu, secret="wrong-secret"), uri)
        check(theirs["status"] == 403, "boto3 with a wrong secret: %s, want 403" % theirs)
    led = s3_ledger(emu)[-1]
    check(led["signatureOk"] is False and led["status"] == 403, led)


def test_wrong_region(emu):
    uri = "s3://%s/items.csv" % BUCKET
    r = probe(emu, [uri], region="eu-west-1")[uri]
    check(r["error"] == "wrong-region" and r["bucketRegion"] == REGION, r)
    check("region us-east-1, not eu-west-1" in r["message"], r)


def test_slowdown_retried(emu):
    uri = "s3://%s/interactions.csv" % BUCKET
    st, body = emu.admin_status("POST", "faults", {"rules": [
        {"operation": "S3:HeadObject", "kind": "503", "count": 2}]})
    check(st == 200, body)
    n0 = len(s3_ledger(emu))
    r = probe(emu, [uri])[uri]
    check(r["error"] == "none" and r["attempts"] == 3, r)
    led = s3_ledger(emu)[n0:]
    check([e["status"] for e in led] == [503, 503, 200], led)
    check([e["fault"] for e in led] == ["503", "503", None], led)
    st, body = emu.admin_status("POST", "faults", {"rules": [
        {"operation": "S3:HeadObject", "kind": "throttle"}]})
    r = probe(emu, [uri])[uri]
    check(r["error"] == "throttled" and r["attempts"] == 3, r)
    if HAVE_BOTO3:
        theirs = boto_head(s3_client(emu), uri)
        check(theirs["status"] == 503, "boto3 under throttling: %s, want 503" % theirs)
    emu.admin_status("POST", "faults", {"rules": []})


def test_virtual_hosted(emu):
    """Host: BUCKET.s3.REGION.amazonaws.com, signed by botocore."""
    if not HAVE_BOTO3:
        emu.ctx.log("(virtual-hosted: skipped, no boto3)")
        return
    host = "%s.s3.%s.amazonaws.com" % (BUCKET, REGION)
    req = AWSRequest(method="HEAD", url="http://%s/users.csv" % host)
    S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        headers = dict(req.headers.items())
        headers["Host"] = host   # what botocore signed; http.client would send 127.0.0.1
        conn.request("HEAD", "/users.csv", headers=headers)
        resp = conn.getresponse()
        resp.read()
        check(resp.status == 200, resp.status)
        check(resp.getheader("ETag", "").startswith('"'), resp.getheaders())
        check(resp.getheader("Last-Modified", "").endswith(" GMT"), resp.getheaders())
    finally:
        conn.close()


FOLDER_KEYS = ["feed/part-0.csv", "feed/caf\u00e9 1+1.csv", "feed/a=b&c/%41.csv",
               "feed/sub/x.csv", "feed/", "feed/sub/", "feed/~z.csv"]


def add_folder(emu):
    for i, k in enumerate(FOLDER_KEYS):
        st, body = emu.admin_status("POST", "s3", {"uri": "s3://%s/%s" % (BUCKET, k),
                                            "etag": '"%032x"' % (i + 1), "size": 10 * i})
        check(st == 200, body)


def digest_of(objs):
    """The digest our client computes: SHA-256 over the sorted
    key\0etag\0size\n records, folder markers left out."""
    h = hashlib.sha256()
    for key, etag, size in sorted((k.encode(), e.encode(), s) for k, e, s in objs
                                  if not k.endswith("/")):
        h.update(key + b"\0" + etag + b"\0" + str(size).encode() + b"\n")
    return "sha256:" + h.hexdigest()


def s3_list_ledger(emu):
    return [e for e in emu.ledger_lines() if e["operation"] == "S3:ListObjectsV2"]


def test_list_agrees(emu):
    add_folder(emu)
    uri = "s3://%s/feed/" % BUCKET
    r = probe(emu, [uri])[uri]
    check(r["error"] == "none", r)
    want = [(k, '"%032x"' % (i + 1), 10 * i) for i, k in enumerate(FOLDER_KEYS)]
    check(r["digest"] == digest_of(want), (r, digest_of(want)))
    check(r["objects"] == 5 and r["pages"] == 3, r)
    led = s3_list_ledger(emu)
    check(len(led) == 3 and all(e["signatureOk"] for e in led), led)
    check([e["params"]["Prefix"] for e in led] == ["feed/"] * 3, led)
    check("ContinuationToken" not in led[0]["params"], led)
    check(all("ContinuationToken" in e["params"] for e in led[1:]), led)
    if HAVE_BOTO3:
        s3 = s3_client(emu)
        got = []
        pages = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="feed/"):
            pages += 1
            got += [(o["Key"], o["ETag"], o["Size"]) for o in page.get("Contents", [])]
        check(pages == 3 and len(got) == 7, (pages, got))
        check(digest_of(got) == r["digest"], got)
    # the whole bucket and a prefix with nothing under it
    r = probe(emu, ["s3://%s/nothing/" % BUCKET])["s3://%s/nothing/" % BUCKET]
    check(r["error"] == "none" and r["objects"] == 0 and r["pages"] == 1, r)
    check(r["digest"] == digest_of([]), r)


def test_list_failures(emu):
    add_folder(emu)
    uri = "s3://%s/feed/" % BUCKET
    st, body = emu.admin_status("POST", "faults", {"rules": [
        {"operation": "S3:ListObjectsV2", "kind": "503", "count": 2}]})
    check(st == 200, body)
    r = probe(emu, [uri])[uri]
    check(r["error"] == "none" and r["pages"] == 3, r)
    got = [e["status"] for e in s3_list_ledger(emu)][:3]
    check(got == [503, 503, 200], "first listing statuses %s, want [503, 503, 200]" % got)
    emu.admin_status("POST", "faults", {"rules": [
        {"operation": "S3:ListObjectsV2", "kind": "malformed", "count": 1}]})
    r = probe(emu, [uri])[uri]
    check(r["error"] == "malformed-reply" and "unusable reply" in r["message"], r)
    emu.admin_status("POST", "faults", {"rules": []})
    r = probe(emu, ["s3://no-such-bucket/x/"])["s3://no-such-bucket/x/"]
    check(r["error"] == "not-found" and r["status"] == 404, r)
    r = probe(emu, [uri], secret="wrong-secret")[uri]
    check(r["error"] == "access-denied" and r["status"] == 403, r)
    check("s3:ListBucket on arn:aws:s3:::%s" % BUCKET in r["message"], r)
    check(s3_list_ledger(emu)[-1]["signatureOk"] is False,
          "a listing with a wrong secret has a good signature: %s" % s3_list_ledger(emu)[-1])


def test_list_virtual_hosted(emu):
    """GET /?list-type=2 with Host: BUCKET.s3.REGION.amazonaws.com, signed by botocore."""
    if not HAVE_BOTO3:
        emu.ctx.log("(virtual-hosted listing: skipped, no boto3)")
        return
    add_folder(emu)
    host = "%s.s3.%s.amazonaws.com" % (BUCKET, REGION)
    query = "list-type=2&prefix=feed%2F"
    req = AWSRequest(method="GET", url="http://%s/?%s" % (host, query))
    S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        headers = dict(req.headers.items())
        headers["Host"] = host
        conn.request("GET", "/?" + query, headers=headers)
        resp = conn.getresponse()
        body = resp.read().decode()
        check(resp.status == 200, (resp.status, body))
        check("<Key>feed/</Key>" in body and "<IsTruncated>true" in body, body)
        check("<MaxKeys>3</MaxKeys>" in body, body)
    finally:
        conn.close()


LIST_PAGES = {"s3ListMaxKeys": 3}


def case(test, overrides=None):
    """(name, fn(ctx)): test(emu) against an emulator of its own."""
    def run(ctx):
        for path, what in ((prtest.EMULATOR, "the emulator"),
                           (PROBE, "the probe (make unit-build)")):
            if not os.access(path, os.X_OK):
                raise Skip("no %s at %s" % (what, path))
        test(ctx.emulator(overrides=overrides))
    return (test.__name__, run)


if __name__ == "__main__":
    if not HAVE_BOTO3:
        print("note: boto3 missing: only our client is checked "
              "(scripts/install-deps installs python3-boto3)")
    # the two that wait for retries first, beside the others
    prtest.main([case(test_slowdown_retried), case(test_list_failures, LIST_PAGES)] +
                [case(t) for t in (test_objects_agree, test_changed_object, test_encoded_keys,
                                   test_bad_signature, test_wrong_region, test_virtual_hosted)] +
                [case(t, LIST_PAGES) for t in (test_list_agrees, test_list_virtual_hosted)],
                parallel=4)
