#!/usr/bin/env python3
# run-tests: duration=8
"""net_proxy - a proxy from the environment carries the AWS traffic but
never the credential endpoints': a tiny forwarding HTTP proxy on loopback,
written here, records every request it forwards.

- `once` with HTTP_PROXY pointing at it and credentials from the
  emulator's IMDSv2: the proxy sees the Personalize calls (POST
  http://127.0.0.1:PORT/), never /latest/... (IMDS is asked directly,
  CURLOPT_NOPROXY "*"), and the run succeeds;
- the same with the container credentials endpoint (/creds);
- NO_PROXY naming the endpoint's host: the proxy sees nothing.
"""
import os
import socket
import socketserver
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402


class Proxy:
    """HTTP/1.1 proxy for absolute-form http:// requests: each request is
    sent on to its host with Connection: close, the reply relayed back,
    the client's connection closed. seen: [(method, url)]."""

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline().decode("latin-1")
                if not line:
                    return
                method, url, _ = line.split(" ", 2)
                headers, length = [], 0
                while True:
                    h = self.rfile.readline().decode("latin-1")
                    if h in ("\r\n", "\n", ""):
                        break
                    name = h.split(":", 1)[0].strip().lower()
                    if name == "content-length":
                        length = int(h.split(":", 1)[1])
                    if name in ("proxy-connection", "connection"):
                        continue
                    headers.append(h)
                body = self.rfile.read(length) if length else b""
                with outer.lock:
                    outer.seen.append((method, url))
                u = urllib.parse.urlsplit(url)
                path = u.path or "/"
                if u.query:
                    path += "?" + u.query
                with socket.create_connection((u.hostname, u.port or 80), timeout=10) as up:
                    up.sendall(("%s %s HTTP/1.1\r\n" % (method, path)).encode("latin-1") +
                               "".join(headers).encode("latin-1") +
                               b"Connection: close\r\n\r\n" + body)
                    while True:
                        chunk = up.recv(65536)
                        if not chunk:
                            break
                        self.wfile.write(chunk)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def env_for(ctx, emu, proxy, source, extra=None):
    e = ctx.env(extra=dict(extra or {}, HTTP_PROXY=proxy.url))
    e.pop("AWS_ACCESS_KEY_ID", None)
    e.pop("AWS_SECRET_ACCESS_KEY", None)
    if source == "imds":
        e.pop("AWS_EC2_METADATA_DISABLED", None)
        e["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = emu.url + "/"
    else:
        e["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = emu.url + "/creds"
    return e


def through_proxy(ctx, source, credential_path):
    emu = ctx.emulator()
    proxy = Proxy()
    try:
        r = ctx.cli(ctx.config(emu), ctx.state_dir(), "once",
                    env=env_for(ctx, emu, proxy, source))
        check(r.rc == 0, "once through the proxy: want exit 0\n%r" % r)
        led = prtest.Ledger(emu)
        led.assert_one_run()
        posts = [u for m, u in proxy.seen if m == "POST" and u.startswith(emu.url)]
        check(len(posts) >= 5, "the proxy saw %d Personalize calls: %r" % (len(posts), proxy.seen))
        leaked = [u for _, u in proxy.seen if credential_path in u]
        check(not leaked, "the credential endpoint went through the proxy: %r" % leaked)
        fetched = [x for x in led.lines if x.get("signatureOk") is None]
        check(fetched, "no credentials were fetched from the %s endpoint" % source)
    finally:
        proxy.close()


def imds(ctx):
    through_proxy(ctx, "imds", "/latest/")


def container(ctx):
    through_proxy(ctx, "container", "/creds")


def no_proxy(ctx):
    emu = ctx.emulator()
    proxy = Proxy()
    try:
        r = ctx.cli(ctx.config(emu), ctx.state_dir(), "once",
                    env=env_for(ctx, emu, proxy, "imds", {"NO_PROXY": "127.0.0.1"}))
        check(r.rc == 0, "once with NO_PROXY: want exit 0\n%r" % r)
        check(not proxy.seen, "NO_PROXY ignored: the proxy saw %r" % proxy.seen[:3])
    finally:
        proxy.close()


CASES = [
    ("IMDS credentials, Personalize through the proxy", imds),
    ("container credentials, Personalize through the proxy", container),
    ("NO_PROXY bypasses the proxy", no_proxy),
]

if __name__ == "__main__":
    prtest.require_binaries()
    prtest.main(CASES, parallel=3)
