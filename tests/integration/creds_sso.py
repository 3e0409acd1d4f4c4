#!/usr/bin/env python3
# run-tests: duration=8
"""creds_sso - credentials from IAM Identity Center (SSO) against the
emulator's portal (GetRoleCredentials with a bearer token), end to end with
`once`, from the token `aws sso login` caches: the file name is the SHA-1
of the sso-session name (or of the start URL in the legacy form) under
~/.aws/sso/cache, its JSON holds accessToken and expiresAt, as the AWS CLI
and botocore write it.

- sso_session form: one GetRoleCredentials (unsigned, the token in
  x-amz-sso_bearer_token), then every Personalize call as the SSO role;
- the legacy sso_start_url / sso_region form;
- an expired token and a missing one: the run fails with a message that
  says to run `aws sso login --profile NAME`; the portal is not called;
- a token the portal refuses: the same advice;
- the token never appears in the output.
"""
import datetime
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prtest  # noqa: E402
from prtest import check  # noqa: E402

START_URL = "https://d-9067example.awsapps.com/start"
TOKEN = "sso-aoaAAAAAGVtdWxhdG9yLWFjY2Vzcy10b2tlbi1mb3ItdGVzdHM"
ACCOUNT = "111122223333"


def when(delta_s):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_s)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def setup(ctx, emu, legacy=False, token=TOKEN, expires_in=3600, cache=True):
    home = ctx.path("home")
    os.makedirs(os.path.join(home, ".aws", "sso", "cache"), exist_ok=True)
    cfg = os.path.join(home, "aws-config")
    with open(cfg, "w") as f:
        if legacy:
            f.write("[profile dev]\nsso_start_url = %s\nsso_region = us-east-1\n"
                    "sso_account_id = %s\nsso_role_name = Dev\n" % (START_URL, ACCOUNT))
        else:
            f.write("[profile dev]\nsso_session = corp\nsso_account_id = %s\n"
                    "sso_role_name = Dev\nregion = us-east-1\n"
                    "[sso-session corp]\nsso_start_url = %s\nsso_region = us-east-1\n"
                    "sso_registration_scopes = sso:account:access\n" % (ACCOUNT, START_URL))
    key = START_URL if legacy else "corp"
    if cache:
        path = os.path.join(home, ".aws", "sso", "cache",
                            hashlib.sha1(key.encode()).hexdigest() + ".json")
        with open(path, "w") as f:
            json.dump({"startUrl": START_URL, "region": "us-east-1", "accessToken": token,
                       "expiresAt": when(expires_in), "clientId": "emulator-client",
                       "clientSecret": "not-used", "refreshToken": "not-used"}, f)
    e = ctx.env(extra={"AWS_CONFIG_FILE": cfg, "AWS_PROFILE": "dev",
                       "AWS_ENDPOINT_URL_SSO": emu.url})
    e.pop("AWS_ACCESS_KEY_ID", None)
    e.pop("AWS_SECRET_ACCESS_KEY", None)
    return e


def signed(led):
    return [x for x in led.lines if x.get("signatureOk") is not None]


def run(ctx, legacy):
    emu = ctx.emulator()
    r = ctx.cli(ctx.config(emu), ctx.state_dir(), "once", env=setup(ctx, emu, legacy=legacy))
    check(r.rc == 0, "once with SSO: want exit 0\n%r" % r)
    led = prtest.Ledger(emu)
    led.assert_one_run()
    g = led.ops("GetRoleCredentials")
    check(len(g) == 1 and g[0]["params"] == {"roleName": "Dev", "accountId": ACCOUNT,
                                               "AssumedRoleArn": g[0]["params"].get("AssumedRoleArn"),
                                               "IssuedAccessKeyId": g[0]["params"].get("IssuedAccessKeyId")},
          "GetRoleCredentials: %r" % g)
    want = "arn:aws:sts::%s:assumed-role/AWSReservedSSO_Dev_" % ACCOUNT
    check(all(x.get("identity", "").startswith(want) for x in signed(led)),
          "Personalize calls not made as the SSO role: %r" % signed(led)[:1])
    check(TOKEN not in r.out + r.err and TOKEN[4:20] not in r.out + r.err,
          "the SSO token was printed")
    check("IAM Identity Center" in r.err, "the source is not named:\n%s" % prtest.tail(r.err))


def session_form(ctx):
    run(ctx, legacy=False)


def legacy_form(ctx):
    run(ctx, legacy=True)


def refused(ctx, what, **kw):
    """`once` fails its run at the first call (exit 1), not after waiting
    for credentials (a minute at the default PollInterval) or giving up as
    unreachable (69): a person must log in again."""
    emu = ctx.emulator()
    t0 = time.monotonic()
    r = ctx.cli(ctx.config(emu, poll=600), ctx.state_dir(), "once",
                env=setup(ctx, emu, **kw), timeout=90)
    took = time.monotonic() - t0
    check(r.rc == 1, "once with %s: want exit 1 (run failed)\n%r" % (what, r))
    check(took < 20, "once with %s took %.1f s to fail" % (what, took))
    check("CredentialsMisconfigured" in r.err, "%s: the run's reason does not say "
          "the credentials need fixing:\n%s" % (what, prtest.tail(r.err)))
    check("aws sso login --profile dev" in r.err,
          "%s: no advice to log in again:\n%s" % (what, prtest.tail(r.err)))
    check(not signed(prtest.Ledger(emu)), "%s: Personalize was called" % what)
    return emu


def expired(ctx):
    emu = refused(ctx, "an expired token", expires_in=-60)
    check(not prtest.Ledger(emu).ops("GetRoleCredentials"), "the portal was asked")


def missing(ctx):
    emu = refused(ctx, "no cached token", cache=False)
    check(not prtest.Ledger(emu).ops("GetRoleCredentials"), "the portal was asked")


def portal_refuses(ctx):
    emu = refused(ctx, "a token the portal refuses", token="revoked-token-value")
    g = prtest.Ledger(emu).ops("GetRoleCredentials")
    check(g and g[0]["error"] == "UnauthorizedException", "portal: %r" % g)


CASES = [
    ("sso_session form", session_form),
    ("legacy sso_start_url form", legacy_form),
    ("expired token", expired),
    ("missing token", missing),
    ("token refused by the portal", portal_refuses),
]

if __name__ == "__main__":
    prtest.require_binaries()
    prtest.main(CASES, parallel=3)
