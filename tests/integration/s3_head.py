#!/usr/bin/env python3
# run-tests: duration=8
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

Exit 77 when the probe binary is missing; the boto3 half is skipped (said
so) when boto3 is not installed.
"""
import calendar
import hashlib
import http.client
import json
import os
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from emulator_harness import AKID, REPO, SECRET, Emulator, emulator_binary, install_signal_cleanup

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

REGION = "us-east-1"
WORLD = "tests/emulator/worlds/test.json"
BUCKET = "my-personalize-bucket"
PROBE_TIMEOUT_S = 30


def probe_binary():
    build = os.environ.get("BUILD_DIR", "build")
    if not os.path.isabs(build):
        build = os.path.join(REPO, build)
    return os.path.join(build, "tests", "test_s3")


def probe(emu, uris, region=REGION, akid=AKID, secret=SECRET):
    """Our client: one dict per URI."""
    out = subprocess.run([probe_binary(), "--probe", emu.url, region, akid, secret] + list(uris),
                         capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    if out.returncode != 0:
        raise AssertionError("probe exited %d: %s" % (out.returncode, out.stderr))
    res = json.loads(out.stdout)
    assert len(res) == len(uris), res
    return {r["uri"]: r for r in res}


def s3_client(emu, secret=SECRET, attempts=1):
    return boto3.client("s3", region_name=REGION, endpoint_url=emu.url,
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
    assert ours["status"] == theirs["status"], (uri, ours, theirs)
    if theirs["status"] == 200:
        for k in ("etag", "lastModified", "size"):
            assert ours.get(k) == theirs[k], (uri, k, ours, theirs)


def s3_ledger(emu):
    return [e for e in emu.ledger() if e["operation"] == "S3:HeadObject"]


def world_objects():
    with open(os.path.join(REPO, WORLD)) as f:
        return json.load(f)["s3Objects"]


def test_objects_agree(emu):
    objs = world_objects()
    uris = [o["uri"] for o in objs] + ["s3://%s/missing.csv" % BUCKET, "s3://no-such-bucket/x.csv"]
    ours = probe(emu, uris)
    for o in objs:
        r = ours[o["uri"]]
        assert r["error"] == "none" and r["status"] == 200, r
        assert r["etag"] == o["etag"] and r["etag"].startswith('"'), r
        assert r["lastModified"] == calendar.timegm((2026, 11, 20, 10, 0, 0)), r
        assert r["size"] == o["size"], r
    for u in uris[-2:]:
        assert ours[u]["error"] == "not-found" and ours[u]["status"] == 404, ours[u]
        assert "no such object" in ours[u]["message"], ours[u]
    if HAVE_BOTO3:
        s3 = s3_client(emu)
        for u in uris:
            agree(ours[u], boto_head(s3, u), u)
    led = s3_ledger(emu)
    assert len(led) >= len(uris), led
    assert all(e["signatureOk"] for e in led), led
    assert {"Bucket": BUCKET, "Key": "missing.csv"} in [e["params"] for e in led]


def test_changed_object(emu):
    uri = "s3://%s/users.csv" % BUCKET
    before = probe(emu, [uri])[uri]
    st, body = emu.admin("POST", "s3", {"uri": uri, "etag": '"0123456789abcdef0123456789abcdef-2"',
                                        "lastModified": "2026-11-24T08:30:00Z", "size": 99})
    assert st == 200, body
    after = probe(emu, [uri])[uri]
    assert after["etag"] == '"0123456789abcdef0123456789abcdef-2"', after
    assert after["lastModified"] == calendar.timegm((2026, 11, 24, 8, 30, 0)), after
    assert after["size"] == 99 and after["etag"] != before["etag"], after
    if HAVE_BOTO3:
        agree(after, boto_head(s3_client(emu), uri), uri)
    st, body = emu.admin("POST", "s3", {"uri": "not-s3", "etag": "x"})
    assert st == 400 and "s3://bucket/key" in body["message"], body
    st, body = emu.admin("POST", "s3", {"uri": uri, "etag": '"e"', "lastModified": "yesterday"})
    assert st == 400 and "ISO-8601" in body["message"], body


def test_encoded_keys(emu):
    keys = ["dir/caf\u00e9 1+1.csv", "a=b&c/%41.csv", "sp ace/~tilde_(x).csv"]
    for i, k in enumerate(keys):
        st, body = emu.admin("POST", "s3", {"uri": "s3://%s/%s" % (BUCKET, k),
                                            "etag": '"%032d"' % i, "size": i})
        assert st == 200, body
    uris = ["s3://%s/%s" % (BUCKET, k) for k in keys]
    ours = probe(emu, uris)
    for i, u in enumerate(uris):
        assert ours[u]["error"] == "none" and ours[u]["etag"] == '"%032d"' % i, ours[u]
    if HAVE_BOTO3:
        s3 = s3_client(emu)
        for u in uris:
            agree(ours[u], boto_head(s3, u), u)


def test_bad_signature(emu):
    uri = "s3://%s/items.csv" % BUCKET
    r = probe(emu, [uri], secret="wrong-secret")[uri]
    assert r["error"] == "access-denied" and r["status"] == 403, r
    assert "s3:GetObject" in r["message"], r
    if HAVE_BOTO3:
        assert boto_head(s3_client(emu, secret="wrong-secret"), uri)["status"] == 403
    led = s3_ledger(emu)[-1]
    assert led["signatureOk"] is False and led["status"] == 403, led


def test_wrong_region(emu):
    uri = "s3://%s/items.csv" % BUCKET
    r = probe(emu, [uri], region="eu-west-1")[uri]
    assert r["error"] == "wrong-region" and r["bucketRegion"] == REGION, r
    assert "region us-east-1, not eu-west-1" in r["message"], r


def test_slowdown_retried(emu):
    uri = "s3://%s/interactions.csv" % BUCKET
    st, body = emu.admin("POST", "faults", {"rules": [
        {"operation": "S3:HeadObject", "kind": "503", "count": 2}]})
    assert st == 200, body
    n0 = len(s3_ledger(emu))
    r = probe(emu, [uri])[uri]
    assert r["error"] == "none" and r["attempts"] == 3, r
    led = s3_ledger(emu)[n0:]
    assert [e["status"] for e in led] == [503, 503, 200], led
    assert [e["fault"] for e in led] == ["503", "503", None], led
    st, body = emu.admin("POST", "faults", {"rules": [
        {"operation": "S3:HeadObject", "kind": "throttle"}]})
    r = probe(emu, [uri])[uri]
    assert r["error"] == "throttled" and r["attempts"] == 3, r
    if HAVE_BOTO3:
        assert boto_head(s3_client(emu), uri)["status"] == 503
    emu.admin("POST", "faults", {"rules": []})


def test_virtual_hosted(emu):
    """Host: BUCKET.s3.REGION.amazonaws.com, signed by botocore."""
    if not HAVE_BOTO3:
        print("  (virtual-hosted: skipped, no boto3)")
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
        assert resp.status == 200, resp.status
        assert resp.getheader("ETag", "").startswith('"'), resp.getheaders()
        assert resp.getheader("Last-Modified", "").endswith(" GMT"), resp.getheaders()
    finally:
        conn.close()


FOLDER_KEYS = ["feed/part-0.csv", "feed/caf\u00e9 1+1.csv", "feed/a=b&c/%41.csv",
               "feed/sub/x.csv", "feed/", "feed/sub/", "feed/~z.csv"]


def add_folder(emu):
    for i, k in enumerate(FOLDER_KEYS):
        st, body = emu.admin("POST", "s3", {"uri": "s3://%s/%s" % (BUCKET, k),
                                            "etag": '"%032x"' % (i + 1), "size": 10 * i})
        assert st == 200, body


def digest_of(objs):
    """The digest our client computes: SHA-256 over the sorted
    key\0etag\0size\n records, folder markers left out."""
    h = hashlib.sha256()
    for key, etag, size in sorted((k.encode(), e.encode(), s) for k, e, s in objs
                                  if not k.endswith("/")):
        h.update(key + b"\0" + etag + b"\0" + str(size).encode() + b"\n")
    return "sha256:" + h.hexdigest()


def s3_list_ledger(emu):
    return [e for e in emu.ledger() if e["operation"] == "S3:ListObjectsV2"]


def test_list_agrees(emu):
    add_folder(emu)
    uri = "s3://%s/feed/" % BUCKET
    r = probe(emu, [uri])[uri]
    assert r["error"] == "none", r
    want = [(k, '"%032x"' % (i + 1), 10 * i) for i, k in enumerate(FOLDER_KEYS)]
    assert r["digest"] == digest_of(want), (r, digest_of(want))
    assert r["objects"] == 5 and r["pages"] == 3, r     # 7 keys, 3 per page
    led = s3_list_ledger(emu)
    assert len(led) == 3 and all(e["signatureOk"] for e in led), led
    assert [e["params"]["Prefix"] for e in led] == ["feed/"] * 3, led
    assert "ContinuationToken" not in led[0]["params"], led
    assert all("ContinuationToken" in e["params"] for e in led[1:]), led
    if HAVE_BOTO3:
        s3 = s3_client(emu)
        got = []
        pages = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="feed/"):
            pages += 1
            got += [(o["Key"], o["ETag"], o["Size"]) for o in page.get("Contents", [])]
        assert pages == 3 and len(got) == 7, (pages, got)
        assert digest_of(got) == r["digest"], got
    # the whole bucket and a prefix with nothing under it
    r = probe(emu, ["s3://%s/nothing/" % BUCKET])["s3://%s/nothing/" % BUCKET]
    assert r["error"] == "none" and r["objects"] == 0 and r["pages"] == 1, r
    assert r["digest"] == digest_of([]), r


def test_list_failures(emu):
    add_folder(emu)
    uri = "s3://%s/feed/" % BUCKET
    st, body = emu.admin("POST", "faults", {"rules": [
        {"operation": "S3:ListObjectsV2", "kind": "503", "count": 2}]})
    assert st == 200, body
    r = probe(emu, [uri])[uri]
    assert r["error"] == "none" and r["pages"] == 3, r
    assert [e["status"] for e in s3_list_ledger(emu)][:3] == [503, 503, 200]
    emu.admin("POST", "faults", {"rules": [
        {"operation": "S3:ListObjectsV2", "kind": "malformed", "count": 1}]})
    r = probe(emu, [uri])[uri]
    assert r["error"] == "malformed-reply" and "unusable reply" in r["message"], r
    emu.admin("POST", "faults", {"rules": []})
    r = probe(emu, ["s3://no-such-bucket/x/"])["s3://no-such-bucket/x/"]
    assert r["error"] == "not-found" and r["status"] == 404, r
    r = probe(emu, [uri], secret="wrong-secret")[uri]
    assert r["error"] == "access-denied" and r["status"] == 403, r
    assert "s3:ListBucket on arn:aws:s3:::%s" % BUCKET in r["message"], r
    assert s3_list_ledger(emu)[-1]["signatureOk"] is False


def test_list_virtual_hosted(emu):
    """GET /?list-type=2 with Host: BUCKET.s3.REGION.amazonaws.com, signed by botocore."""
    if not HAVE_BOTO3:
        print("  (virtual-hosted listing: skipped, no boto3)")
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
        assert resp.status == 200, (resp.status, body)
        assert "<Key>feed/</Key>" in body and "<IsTruncated>true" in body, body
        assert "<MaxKeys>3</MaxKeys>" in body, body
    finally:
        conn.close()


test_list_agrees.overrides = {"s3ListMaxKeys": 3}
test_list_failures.overrides = {"s3ListMaxKeys": 3}
test_list_virtual_hosted.overrides = {"s3ListMaxKeys": 3}

TESTS = [test_objects_agree, test_changed_object, test_encoded_keys, test_bad_signature,
         test_wrong_region, test_slowdown_retried, test_virtual_hosted,
         test_list_agrees, test_list_failures, test_list_virtual_hosted]


def main():
    if not os.path.exists(emulator_binary()):
        print("SKIP: no emulator at %s" % emulator_binary())
        return 77
    if not os.path.exists(probe_binary()):
        print("SKIP: no probe at %s (make unit-build)" % probe_binary())
        return 77
    if not HAVE_BOTO3:
        print("note: boto3 missing: only our client is checked (scripts/install-deps installs python3-boto3)")
    install_signal_cleanup()
    failed = 0
    for t in TESTS:
        try:
            with Emulator(world=WORLD, overrides=getattr(t, "overrides", None)) as emu:
                t(emu)
            print("ok   %s" % t.__name__)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__)
            traceback.print_exc()
    print("%d passed, %d failed" % (len(TESTS) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
