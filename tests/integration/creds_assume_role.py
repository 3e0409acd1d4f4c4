#!/usr/bin/env python3
# run-tests: duration=18
"""creds_assume_role - credentials from STS against the emulator's STS
(AssumeRole, AssumeRoleWithWebIdentity), end to end with `once`:

- a profile with role_arn and source_profile (static keys in the
  credentials file): one AssumeRole signed with the long-term key, then
  every Personalize call signed with the issued key, whose identity in the
  ledger is the assumed role;
- a chain a -> b -> base: AssumeRole of b's role with the base keys, then
  of a's role with b's credentials;
- credential_source = Environment, EcsContainer, Ec2InstanceMetadata;
- external_id, role_session_name and duration_seconds reach STS;
- a cycle and mfa_serial are refused with messages naming what is wrong;
- a web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): unsigned
  AssumeRoleWithWebIdentity; the token file is read again at each fetch
  (rotated between two runs); the profile form (web_identity_token_file);
- temporary credentials expired mid-run (POST /_emulator/credentials/
  expire): the next call's ExpiredTokenException makes the chain assume the
  role again, and the run succeeds;
- nothing secret in the output: not the keys, not the web identity token.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

ROLE = "arn:aws:iam::111122223333:role/app"
ROLE_B = "arn:aws:iam::111122223333:role/middle"
TOKEN_1 = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvbmUifQ.c2lnbmF0dXJlLW9uZQ"
TOKEN_2 = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0d28ifQ.c2lnbmF0dXJlLXR3bw"


def files(ctx, config, credentials=None):
    home = ctx.path("home")
    os.makedirs(home, exist_ok=True)
    cfg, cred = os.path.join(home, "aws-config"), os.path.join(home, "aws-credentials")
    with open(cfg, "w") as f:
        f.write(config)
    with open(cred, "w") as f:
        f.write(credentials or "")
    return {"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": cred}


def env(ctx, emu, extra, keys=False):
    e = ctx.env(extra=extra)
    if not keys:
        e.pop("AWS_ACCESS_KEY_ID", None)
        e.pop("AWS_SECRET_ACCESS_KEY", None)
    e["AWS_ENDPOINT_URL_STS"] = emu.url
    return e


def base_keys():
    return "[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (
        prtest.AKID, prtest.SECRET)


def personalize_lines(led):
    # signed calls other than STS's (the credential endpoints sign nothing)
    return [e for e in led.lines if e["operation"] not in
            ("AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity")
            and e.get("signatureOk") is not None]


def run_once(ctx, emu, e, fails=False):
    cfg = ctx.config(emu)
    r = ctx.cli(cfg, ctx.state_dir(), "once", env=e)
    if fails:
        check(r.rc != 0, "once: want a failure\n%r" % r)
    else:
        check(r.rc == 0, "once: want exit 0\n%r" % r)
    return r


def fails_at_once(ctx, emu, e):
    """`once` with credentials a person must fix: the run fails at its
    first call (exit 1, the run failed), not after waiting for credentials
    (a minute with the default PollInterval) or giving up as unreachable
    (exit 69)."""
    cfg = ctx.config(emu, poll=600)
    t0 = time.monotonic()
    r = ctx.cli(cfg, ctx.state_dir(), "once", env=e, timeout=90)
    took = time.monotonic() - t0
    check(r.rc == 1, "once: want exit 1 (run failed)\n%r" % r)
    check(took < 20, "once took %.1f s to fail" % took)
    check("CredentialsMisconfigured" in r.err and
          "`personalize-retrain credentials`" in r.err,
          "the run's reason does not say the credentials need fixing:\n%s"
          % prtest.tail(r.err))
    return r


def assert_identity(led, role_name, session=None):
    lines = personalize_lines(led)
    check(lines, "no Personalize call in the ledger")
    want = "arn:aws:sts::111122223333:assumed-role/%s/" % role_name
    bad = [x for x in lines if not (x.get("identity") or "").startswith(want)]
    check(not bad, "Personalize calls not made as %s: %s" % (want, bad[:2]))
    if session:
        check(all(x["identity"].endswith("/" + session) for x in lines),
              "session name not %s: %s" % (session, lines[0].get("identity")))


def source_profile(ctx):
    emu = ctx.emulator()
    e = env(ctx, emu, dict(files(ctx, "[profile app]\nrole_arn = %s\nsource_profile = base\n"
                                 "region = eu-west-1\n" % ROLE, base_keys()),
                           AWS_PROFILE="app"))
    r = run_once(ctx, emu, e)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    ar = led.ops("AssumeRole")
    check(len(ar) == 1, "%d AssumeRole calls, want 1" % len(ar))
    check(ar[0]["accessKeyId"] == prtest.AKID, "AssumeRole not signed with the base key")
    check(ar[0]["params"]["RoleSessionName"].startswith("botocore-session-"),
          "default session name: %r" % ar[0]["params"])
    assert_identity(led, "app")
    check("STS AssumeRole" in r.err, "the log does not name the source:\n%s" % prtest.tail(r.err))
    check(prtest.SECRET not in r.out + r.err, "the secret key was printed")


def chain(ctx):
    emu = ctx.emulator()
    conf = ("[profile a]\nrole_arn = %s\nsource_profile = b\nexternal_id = ext-123\n"
            "role_session_name = nightly\nduration_seconds = 1800\n"
            "[profile b]\nrole_arn = %s\nsource_profile = base\n" % (ROLE, ROLE_B))
    e = env(ctx, emu, dict(files(ctx, conf, base_keys()), AWS_PROFILE="a"))
    run_once(ctx, emu, e)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    ar = led.ops("AssumeRole")
    check(len(ar) == 2, "%d AssumeRole calls, want 2" % len(ar))
    check(ar[0]["params"]["RoleArn"] == ROLE_B and ar[0]["accessKeyId"] == prtest.AKID,
          "first hop: %r" % ar[0])
    check(ar[1]["params"]["RoleArn"] == ROLE and
          ar[1]["accessKeyId"] == ar[0]["params"]["IssuedAccessKeyId"],
          "second hop not signed with the first's credentials: %r" % ar[1])
    check(ar[1]["params"].get("ExternalId") == "ext-123", "ExternalId: %r" % ar[1]["params"])
    check(ar[1]["params"].get("DurationSeconds") == 1800, "DurationSeconds: %r" % ar[1]["params"])
    assert_identity(led, "app", "nightly")


def credential_source_env(ctx):
    emu = ctx.emulator()
    e = env(ctx, emu, dict(files(ctx, "[default]\nrole_arn = %s\n"
                                 "credential_source = Environment\n" % ROLE)), keys=True)
    run_once(ctx, emu, e)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    # the environment's keys are the chain's first source: used as they are
    check(all(x["accessKeyId"] == prtest.AKID for x in personalize_lines(led)),
          "environment keys come first in the chain, before any profile")


def credential_source_env_only(ctx):
    """Environment as the source of a named profile: with keys in the
    environment the chain takes them first (as the SDKs do), so the
    profile is tried through AWS_PROFILE with a source profile that names
    the environment."""
    emu = ctx.emulator()
    conf = "[profile app]\nrole_arn = %s\ncredential_source = Environment\n" % ROLE
    e = env(ctx, emu, dict(files(ctx, conf), AWS_PROFILE="app"))
    r = run_once(ctx, emu, e, fails=True)
    check("credential_source = Environment" in r.err, "no message about the empty "
          "environment:\n%s" % prtest.tail(r.err))


def credential_source_container(ctx):
    emu = ctx.emulator()
    conf = "[profile app]\nrole_arn = %s\ncredential_source = EcsContainer\n" % ROLE
    e = env(ctx, emu, dict(files(ctx, conf), AWS_PROFILE="app",
                           AWS_CONTAINER_CREDENTIALS_FULL_URI=emu.url + "/creds"))
    run_once(ctx, emu, e)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    ar = led.ops("AssumeRole")
    check(len(ar) == 1 and ar[0]["accessKeyId"].startswith("ASIA"),
          "AssumeRole not signed with the container's credentials: %r" % ar)
    assert_identity(led, "app")


def credential_source_imds(ctx):
    emu = ctx.emulator()
    conf = "[profile app]\nrole_arn = %s\ncredential_source = Ec2InstanceMetadata\n" % ROLE
    e = env(ctx, emu, dict(files(ctx, conf), AWS_PROFILE="app",
                           AWS_EC2_METADATA_SERVICE_ENDPOINT=emu.url + "/"))
    e.pop("AWS_EC2_METADATA_DISABLED", None)
    run_once(ctx, emu, e)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    ar = led.ops("AssumeRole")
    check(len(ar) == 1 and ar[0].get("identity", "").endswith("/i-emulator"),
          "AssumeRole not signed with the instance role: %r" % ar)
    assert_identity(led, "app")


def refused(ctx):
    emu = ctx.emulator()
    conf = ("[profile a]\nrole_arn = %s\nsource_profile = b\n"
            "[profile b]\nrole_arn = %s\nsource_profile = a\n"
            "[profile m]\nrole_arn = %s\nsource_profile = base\n"
            "mfa_serial = arn:aws:iam::111122223333:mfa/me\n" % (ROLE, ROLE_B, ROLE))
    f = files(ctx, conf, base_keys())
    r = fails_at_once(ctx, emu, env(ctx, emu, dict(f, AWS_PROFILE="a")))
    check("cycle: a -> b -> a" in r.err, "the cycle is not named:\n%s" % prtest.tail(r.err))
    r = fails_at_once(ctx, emu, env(ctx, emu, dict(f, AWS_PROFILE="m")))
    check("mfa_serial" in r.err and "cannot prompt" in r.err,
          "mfa_serial not refused clearly:\n%s" % prtest.tail(r.err))
    check(not personalize_lines(prtest.Ledger(emu)), "calls were made with a refused profile")


def denied(ctx):
    emu = ctx.emulator()
    conf = "[profile d]\nrole_arn = arn:aws:iam::111122223333:role/deny-all\nsource_profile = base\n"
    r = run_once(ctx, emu, env(ctx, emu, dict(files(ctx, conf, base_keys()), AWS_PROFILE="d")),
                 fails=True)
    check("AccessDenied" in r.err, "STS's refusal is not shown:\n%s" % prtest.tail(r.err))


def web_identity(ctx):
    emu = ctx.emulator()
    tok = ctx.path("token")
    with open(tok, "w") as f:
        f.write(TOKEN_1 + "\n")
    e = env(ctx, emu, dict(files(ctx, ""), AWS_WEB_IDENTITY_TOKEN_FILE=tok,
                           AWS_ROLE_ARN=ROLE, AWS_ROLE_SESSION_NAME="pod-1"))
    r1 = run_once(ctx, emu, e)
    with open(tok, "w") as f:    # the kubelet rotates the projected token
        f.write(TOKEN_2)
    r2 = run_once(ctx, emu, e)
    led = prtest.Ledger(emu)
    w = led.ops("AssumeRoleWithWebIdentity")
    check(len(w) == 2, "%d AssumeRoleWithWebIdentity calls, want 2" % len(w))
    check(all(x["signatureOk"] is None and x["accessKeyId"] is None for x in w),
          "AssumeRoleWithWebIdentity was signed: %r" % w)
    hashes = [x["params"]["WebIdentityTokenSha256"] for x in w]
    check(hashes[0] != hashes[1], "the rotated token was not read again")
    assert_identity(led, "app", "pod-1")
    for t in (TOKEN_1, TOKEN_2):
        for part in t.split("."):
            check(part not in r1.out + r1.err + r2.out + r2.err,
                  "a piece of the web identity token was printed")


def web_identity_profile(ctx):
    emu = ctx.emulator()
    tok = ctx.path("token")
    with open(tok, "w") as f:
        f.write(TOKEN_1)
    conf = "[profile w]\nrole_arn = %s\nweb_identity_token_file = %s\n" % (ROLE, tok)
    e = env(ctx, emu, dict(files(ctx, conf), AWS_PROFILE="w"))
    run_once(ctx, emu, e)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    check(len(led.ops("AssumeRoleWithWebIdentity")) == 1, "no AssumeRoleWithWebIdentity")
    assert_identity(led, "app")


def expired_mid_run(ctx):
    emu = ctx.emulator(durations={"importMs": 1500, "trainingMs": 1500})
    e = env(ctx, emu, dict(files(ctx, "[default]\nrole_arn = %s\nsource_profile = base\n"
                                 % ROLE, base_keys())))
    cfg = ctx.config(emu)
    p = ctx.spawn(cfg, ctx.state_dir(), "once", env=e)

    def first_personalize():
        return any(x["operation"] == "CreateDatasetImportJob" for x in emu.ledger_lines())
    prtest.wait_until(first_personalize, 20, "the run's first import")
    emu.admin("POST", "credentials/expire", {})
    r = p.wait(prtest.RUN_TIMEOUT_S)
    check(r.rc == 0, "once across the expiry: want exit 0\n%r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run(bad_signatures_ok=True)   # the expired token's calls
    check(any(x.get("error") == "ExpiredTokenException" for x in led.lines),
          "no call met the expired token")
    check(len(led.ops("AssumeRole")) == 2, "the role was not assumed again: %d AssumeRole"
          % len(led.ops("AssumeRole")))
    check("were refused by a service" in r.err, "the refresh is not logged:\n%s"
          % prtest.tail(r.err))


CASES = [
    ("source_profile with static keys", source_profile),
    ("a chain of source profiles", chain),
    ("credential_source Environment", credential_source_env),
    ("credential_source Environment, none there", credential_source_env_only),
    ("credential_source EcsContainer", credential_source_container),
    ("credential_source Ec2InstanceMetadata", credential_source_imds),
    ("a cycle and mfa_serial refused", refused),
    ("STS refuses the role", denied),
    ("web identity from the environment, token rotated", web_identity),
    ("web identity from a profile", web_identity_profile),
    ("credentials expired mid-run: assumed again", expired_mid_run),
]

if __name__ == "__main__":
    prtest.require_binaries()
    prtest.main(CASES, parallel=2)
