#!/bin/sh
# test_cli.sh - the personalize-retrain command line: check, next, usage
# errors and exit codes, and the bad-config corpus (each file: exit 78 and
# exactly the lines of its .expect on stderr). Run from the repo root with
# BUILD_DIR set (tests/run-tests does both).
#
# run-tests: duration=1
set -u
BIN="${BUILD_DIR:?BUILD_DIR not set}/personalize-retrain"
[ -x "$BIN" ] || { echo "no $BIN"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_rc WANT CMD... : run, keep stdout/stderr in $tmp/out, $tmp/err
expect_rc() {
	want=$1; shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = "$want" ] || { fail "$* -> exit $rc, want $want"; sed 's/^/  | /' "$tmp/err"; }
}

# ---- check
expect_rc 0 "$BIN" -c parameters.cfg check
grep -q '^parameters.cfg: OK, 1 pipeline' "$tmp/out" || fail "check summary: $(head -1 "$tmp/out")"
for w in 'solution   arn:aws:personalize:us-east-1:123456789012:solution/my-solution' \
	'campaign   arn:aws:personalize:us-east-1:123456789012:campaign/my-campaign' \
	'schedule   rate(7 days), UTC' 'next fire  ' 'Interactions'; do
	grep -qF "$w" "$tmp/out" || fail "check output lacks '$w'"
done
[ -s "$tmp/err" ] && fail "check wrote to stderr: $(cat "$tmp/err")"
PARAMS_FILE=parameters.cfg expect_rc 0 "$BIN" check
PARAMS_FILE="$tmp/none.cfg" expect_rc 78 "$BIN" check
grep -qF "$tmp/none.cfg: cannot open the config file" "$tmp/err" || fail "missing file message"
expect_rc 0 "$BIN" --state-dir "$tmp" --log-level debug -c tests/config/good/pipelines.yaml check
grep -q 'OK, 2 pipelines' "$tmp/out" || fail "yaml check summary"
# -c wins over PARAMS_FILE
PARAMS_FILE="$tmp/none.cfg" expect_rc 0 "$BIN" -c parameters.cfg check

# ---- policy: the role documents
expect_rc 0 "$BIN" -c parameters.cfg policy --import-role
grep -q '"RoleArn"' "$tmp/out" || fail "policy --import-role: no RoleArn"
expect_rc 2 "$BIN" -c parameters.cfg policy --batch-role
grep -q 'no pipeline has a batch job' "$tmp/err" || fail "policy --batch-role without a batch job: $(cat "$tmp/err")"
expect_rc 2 "$BIN" -c parameters.cfg policy --import-role --batch-role
grep -q 'give one' "$tmp/err" || fail "both role options: $(cat "$tmp/err")"
{ cat parameters.cfg; printf 'BatchInferenceInput=s3://bkt/in/users.json\nBatchInferenceOutput=s3://bkt/out/\nBatchInferenceRoleArn=arn:aws:iam::123456789012:role/BatchRole\n'; } >"$tmp/batch.cfg"
expect_rc 0 "$BIN" -c "$tmp/batch.cfg" policy --batch-role
grep -q '"arn:aws:iam::123456789012:role/BatchRole"' "$tmp/out" && grep -q 'arn:aws:s3:::bkt/out/\*' "$tmp/out" ||
	fail "policy --batch-role: $(cat "$tmp/out")"

# ---- next
expect_rc 0 "$BIN" -c parameters.cfg next --from 2026-11-25T12:00:00Z -n 3
printf '2026-12-02T12:00:00Z\n2026-12-09T12:00:00Z\n2026-12-16T12:00:00Z\n' | cmp -s - "$tmp/out" ||
	fail "next on parameters.cfg: $(cat "$tmp/out")"
PARAMS_FILE="$tmp/none.cfg" expect_rc 0 "$BIN" next -n 2 --from 2026-02-27T00:00:00Z 'cron(0 12 L * ? *)'
printf '2026-02-28T12:00:00Z\n2026-03-31T12:00:00Z\n' | cmp -s - "$tmp/out" || fail "next cron L: $(cat "$tmp/out")"
expect_rc 0 "$BIN" next --from 2026-11-25T12:00:00Z 'rate(1 hour)'
[ "$(wc -l <"$tmp/out")" -eq 5 ] || fail "next default count is not 5"
[ "$(head -1 "$tmp/out")" = 2026-11-25T13:00:00Z ] || fail "rate anchor: $(head -1 "$tmp/out")"
expect_rc 0 "$BIN" next -n 1 --from 2026-07-01T12:00:00Z --timezone Europe/Berlin 'cron(30 2 * * ? *)'
[ "$(cat "$tmp/out")" = 2026-07-02T00:30:00Z ] || fail "next with --timezone: $(cat "$tmp/out")"
# unquoted words are joined: rate(7 days) as two arguments
expect_rc 0 "$BIN" next -n 1 --from 2026-11-25T12:00:00Z 'rate(7' 'days)'
[ "$(cat "$tmp/out")" = 2026-12-02T12:00:00Z ] || fail "joined expression: $(cat "$tmp/out")"
expect_rc 0 "$BIN" next 'cron(0 12 * * ? 2020)'
[ -s "$tmp/out" ] && fail "a past year printed times"
grep -q 'never fires' "$tmp/err" || fail "past year not reported"
expect_rc 0 "$BIN" -c tests/config/good/pipelines.yaml next -n 1 -p shop --from 2026-11-25T00:00:00Z
[ "$(cat "$tmp/out")" = 2026-11-29T07:00:00Z ] || fail "next -p shop: $(cat "$tmp/out")"
expect_rc 2 "$BIN" next 'cron(0 12 * * * *)'
grep -q 'column' "$tmp/err" || fail "bad expression without a column"
expect_rc 2 "$BIN" next --from yesterday 'rate(1 day)'
expect_rc 2 "$BIN" next -n 0 'rate(1 day)'
expect_rc 2 "$BIN" -c tests/config/good/pipelines.yaml next -p nosuch
expect_rc 78 "$BIN" -c tests/config/bad/poll-zero.cfg next

# ---- usage, help, version
expect_rc 2 "$BIN"
expect_rc 2 "$BIN" frobnicate
grep -q 'unknown command "frobnicate"; commands: check, run, once, status, rollback, credentials, next' "$tmp/err" || fail "unknown command message"
# credentials: the source and the key id's last 4 characters, no secret
expect_rc 0 env -i PATH="$PATH" AWS_ACCESS_KEY_ID=AKIAEXAMPLE0000WXYZ AWS_SECRET_ACCESS_KEY=topsecret "$BIN" credentials
grep -qx 'credentials: environment, access key id ...WXYZ' "$tmp/out" || fail "credentials output: $(cat "$tmp/out")"
! grep -q topsecret "$tmp/out" "$tmp/err" || fail "credentials printed the secret"
expect_rc 78 env -i PATH="$PATH" HOME="$tmp" AWS_EC2_METADATA_DISABLED=true "$BIN" credentials
grep -q 'no AWS credentials' "$tmp/err" || fail "credentials without any: $(cat "$tmp/err")"
expect_rc 2 "$BIN" credentials extra
expect_rc 2 "$BIN" --bogus check
expect_rc 2 "$BIN" -c
expect_rc 2 "$BIN" --log-level loud check
# $LOG_LEVEL is the level when --log-level is not given; --log-level wins.
LOG_LEVEL=loud expect_rc 2 "$BIN" -c parameters.cfg check
grep -q 'LOG_LEVEL: unknown level "loud"' "$tmp/err" || fail "bad \$LOG_LEVEL message: $(cat "$tmp/err")"
LOG_LEVEL=loud expect_rc 0 "$BIN" --log-level info -c parameters.cfg check
LOG_LEVEL=debug expect_rc 0 "$BIN" -c parameters.cfg check
expect_rc 2 "$BIN" -c parameters.cfg check extra
expect_rc 0 "$BIN" --version
grep -q '^personalize-retrain [0-9]' "$tmp/out" || fail "--version output"
expect_rc 0 "$BIN" --help
for w in check next 'Exit status' 78 SolutionArn MaxApiCallsPerSecond PARAMS_FILE; do
	grep -q "$w" "$tmp/out" || fail "--help lacks $w"
done

# ---- the bad corpus through the binary
n=0
for f in tests/config/bad/*; do
	case "$f" in *.expect) continue ;; esac
	n=$((n + 1))
	"$BIN" -c "$f" check >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" = 78 ] || fail "$f: exit $rc, want 78"
	cmp -s "$f.expect" "$tmp/err" || { fail "$f: stderr differs"; diff "$f.expect" "$tmp/err" | sed 's/^/  | /'; }
	[ -s "$tmp/out" ] && fail "$f: printed a summary"
done
[ "$n" -ge 60 ] || fail "only $n bad configs"
for f in parameters.cfg tests/config/good/*; do
	"$BIN" -c "$f" check >/dev/null 2>"$tmp/err" || fail "$f rejected: $(cat "$tmp/err")"
done

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "cli: all passed ($n bad configs)"
