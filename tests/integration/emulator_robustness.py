#!/usr/bin/env python3
# run-tests: duration=1
"""emulator_robustness - malformed HTTP never brings the emulator down.

Several hundred requests built from a fixed seed out of broken pieces
(garbage Authorization headers, bad percent-encoding, dot segments, odd
methods, non-JSON and hostile JSON bodies, every endpoint); afterwards it
still answers a signed call and exits 0 on SIGTERM.
"""
import os
import random
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check, raw_call  # noqa: E402

REQUESTS = 400
PIECES = [b"Authorization: AWS4-HMAC-SHA256 Credential=", b"/", b", SignedHeaders=",
          b"host;x-amz-date", b";", b", Signature=", b"00" * 32, b"X-Amz-Date: 20261125T120000Z",
          b"X-Amz-Target: AmazonPersonalize.ListCampaigns", b"X-Amz-Target: AmazonPersonalize.",
          b"Content-Type: application/x-amz-json-1.1", b"X-Amz-Security-Token: abc",
          b"X-aws-ec2-metadata-token-ttl-seconds: 99999999999999999999", b"%", b"%zz", b"..",
          b"=", b"&", b"\xff", b"Authorization: AWS4-HMAC-SHA256 ",
          b"Credential=AKIDEMULATORTEST1/20261125/us-east-1/personalize/aws4_request"]
PATHS = [b"/", b"/?a", b"/?a=b&c", b"/%", b"/..", b"/_emulator/state", b"/_emulator/faults",
         b"/_emulator/script", b"/_emulator/advance", b"/_emulator/nope", b"/latest/api/token",
         b"/latest/meta-data/iam/security-credentials/", b"/creds", b"/x/../..//", b"/?%zz=%"]
BODIES = [b"", b"{}", b"{\"campaignArn\":1}", b"[", b"{\"maxResults\":1e308}", b"null",
          b"{\"ms\":-1}", b"{\"rules\":{}}", b"{\"a\":" * 64, b"\"x\"", b"{\"importFails\":7}"]


def send(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    except OSError:
        pass
    finally:
        s.close()


def malformed_requests(ctx):
    prtest.require_binaries()
    rnd = random.Random(5)
    emu = ctx.emulator()
    for _ in range(REQUESTS):
        method = rnd.choice([b"GET", b"POST", b"PUT", b"HEAD", b"DELETE"])
        hdrs = b"\r\n".join(b"".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 4)))
                             for _ in range(rnd.randint(0, 6)))
        body = rnd.choice(BODIES + [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 300)))])
        send(emu.port, method + b" " + rnd.choice(PATHS) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             + hdrs + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    st, _, body = raw_call(emu, "ListCampaigns", {})
    check(st == 200, "signed call after the garbage: %s %s" % (st, body))
    emu.stop()
    check(emu.exit_status() == 0, "exit status %s after SIGTERM" % emu.exit_status())
    ctx.log("%d malformed requests survived", REQUESTS)


if __name__ == "__main__":
    prtest.main([("malformed requests", malformed_requests)])
