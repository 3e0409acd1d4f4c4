#!/usr/bin/env python3
"""sigv4_botocore.py - botocore's SigV4Auth.add_auth on the request that
bench_sigv4 signs (same host, headers, body, session token), in ns per
signature, and the summary: how much faster our signer is, and how close
it is to the bare OpenSSL floor (figures from $BENCH_RESULTS/sigv4.txt,
written by bench_sigv4, which tests/bench/run runs first).

Exit 0 also when botocore is missing (it says so): a benchmark, not a test.
"""
import os
import sys
import time

ITERATIONS = 3000
ROUNDS = 5

# Keep in step with tests/bench/bench_sigv4.c.
HOST = "personalize.us-east-1.amazonaws.com"
REGION = "us-east-1"
SERVICE = "personalize"
TARGET = "AmazonPersonalize.DescribeSolutionVersion"
BODY = (b'{"solutionVersionArn": "arn:aws:personalize:us-east-1:'
        b'123456789012:solution/retail-recs/8b2d4c1e"}')
AKID = "ASIAEXAMPLEBENCH0001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = ("IQoJb3JpZ2luX2VjEXAMPLETOKENFORBENCHMARKSONLY" + "x" * 68 +
         "y" * 68 + "==")


def bench_botocore():
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    auth = SigV4Auth(Credentials(AKID, SECRET, TOKEN), SERVICE, REGION)
    best = None
    for _ in range(ROUNDS):
        reqs = [AWSRequest(method="POST", url="https://%s/" % HOST,
                           data=BODY,
                           headers={"Content-Type":
                                    "application/x-amz-json-1.1",
                                    "X-Amz-Target": TARGET})
                for _ in range(ITERATIONS)]
        t0 = time.perf_counter_ns()
        for r in reqs:
            auth.add_auth(r)
        dt = (time.perf_counter_ns() - t0) / ITERATIONS
        best = dt if best is None or dt < best else best
    return best


def read_results():
    path = os.path.join(os.environ.get("BENCH_RESULTS", ""), "sigv4.txt")
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, v = line.split()
                out[k] = float(v)
    except (OSError, ValueError):
        pass
    return out


def main():
    try:
        boto = bench_botocore()
    except ImportError:
        print("botocore is not installed: no comparison")
        return 0
    print("botocore SigV4Auth.add_auth, same request, best of %d x %d:"
          % (ROUNDS, ITERATIONS))
    print("  %-44s %8.0f ns" % ("botocore add_auth", boto))
    ours = read_results()
    if not ours:
        print("  (no bench_sigv4 results in $BENCH_RESULTS: run through "
              "tests/bench/run)")
        return 0
    print("SigV4 summary:")
    print("  cached key: %.0f ns, %.1fx faster than botocore, %.2fx the "
          "OpenSSL floor" % (ours["sign_cached_ns"],
                             boto / ours["sign_cached_ns"],
                             ours["sign_cached_ns"] / ours["floor_cached_ns"]))
    print("  cold key:   %.0f ns, %.1fx faster than botocore, %.2fx the "
          "OpenSSL floor" % (ours["sign_cold_ns"],
                             boto / ours["sign_cold_ns"],
                             ours["sign_cold_ns"] / ours["floor_cold_ns"]))
    ok = (boto / ours["sign_cached_ns"] >= 20 and
          ours["sign_cached_ns"] / ours["floor_cached_ns"] <= 2)
    print("  goal (>= 20x botocore, <= 2x floor): %s"
          % ("met" if ok else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
