#!/bin/sh
# systemd_e2e.sh - make deploy / undeploy under a real, booted systemd.
#
# Boots a cached Debian root with systemd-nspawn (scripts/nspawn-root builds
# it once and says how; docs/HACKING.md lists what it needs), bind-mounts this tree
# and the build directory read-only, and drives everything inside with
# nsenter. The binaries are built on the host (same release inside).
#
# Part 1, always (once nspawn can run):
#   `make deploy` of the shipped example config is refused, naming its lines,
#   before anything is installed; make install inside; the units load and
#   verify under the container's systemd; `make deploy` of an invalid config
#   refuses and enables nothing; with a `check` command: deploy where systemd
#   "is not running" installs, says so and exits non-zero (example configs
#   with ALLOW_EXAMPLE_CONFIG=1); an explicit PARAMS_FILE that differs from
#   the installed config (or is YAML where a .cfg is installed) is refused.
# Part 2, once the daemon has `run` (skips with 77 before it until then):
#   the emulator on loopback; make deploy of two template instances and the
#   plain unit, each active; STATUS= follows the stages of a real run; journal
#   fields and MESSAGE_IDs (and the catalog under journalctl -x); an explicit
#   different PARAMS_FILE without INSTANCE refused with nothing restarted, a
#   kept config with the example's placeholders refused, STACK_NAME=prod
#   starting personalize-retrain@prod and leaving the plain unit alone,
#   seven restarts by hand within the start limit, a crash loop stopped by it,
#   REPLACE_CONFIG=1 (an invalid one puts the old config back; a valid one
#   replaces it, keeps a .bak, restarts); watchdog kill + restart after
#   SIGSTOP; SIGHUP reload (good, then a bad config: systemctl reload
#   fails, errors logged once, STATUS= says so); make undeploy (STACK_NAME
#   too), then PURGE=1; deploy printing each unit's credentials and refusing
#   a unit without any; a run whose keys went away failing with "no AWS
#   credentials" (journal, STATUS=, status); LOG_LEVEL=debug from a drop-in;
#   CODE_FILE= of the caller and the version on run-succeeded; stop mid-run
#   (STATUS=, status without a daemon) and resume; status/rollback finding an
#   instance's state (-i, -c) and refusing another config's; list-deployed,
#   undeploy ALL=1 PURGE=1 leaving no directory or file of ours.
#
# Exit 0 pass, 77 skip (why printed), anything else fail. Every wait is
# bounded; the container is always powered off and its leftovers removed.
# Environment: BUILD_DIR (default build), PR_E2E_KEEP=1 keeps the console log,
# PR_E2E_WORLD / PR_E2E_CONFIG: the emulator world and the matching
# parameters file for part 2 (defaults below; the harness appends EndpointUrl=
# for the emulator, and the config's schedule must fire within
# PR_E2E_RUN_TIMEOUT seconds, default 90, of the daemon's start).
#
# run-tests: heavy duration=45
# (boots a container: no other heavy test beside its 10 s boot bounds, and
# nspawn registers under /run/systemd/nspawn)
set -eu
cd "$(dirname "$0")/../.."
SRC=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
T0=$(date +%s%N)
NAME="prtest-$$"
tmp=$(mktemp -d /tmp/pr-e2e.XXXXXX)
NSPID="" INIT="" EMUPID="" OBSPID=""
PATH_IN="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

elapsed() { echo "$(( ($(date +%s%N) - T0) / 1000000 )) ms"; }
log() { echo "[$(elapsed)] $*"; }

cleanup() {
	rc=$?
	set +e
	if [ -n "$OBSPID" ]; then
		kill "$OBSPID" 2>/dev/null
		wait "$OBSPID" 2>/dev/null
	fi
	if [ -n "$EMUPID" ]; then
		kill "$EMUPID" 2>/dev/null
		wait "$EMUPID" 2>/dev/null
	fi
	if [ -n "$NSPID" ]; then
		if [ -n "$INIT" ] && kill -0 "$INIT" 2>/dev/null; then
			nsenter -t "$INIT" -a env -i PATH="$PATH_IN" systemctl --no-block poweroff >/dev/null 2>&1
		fi
		i=0
		while kill -0 "$NSPID" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1; i=$((i + 1))
		done
		if kill -0 "$NSPID" 2>/dev/null; then
			echo "container did not power off in 10 s: killing nspawn $NSPID"
			kill -KILL "$NSPID" 2>/dev/null
		fi
		wait "$NSPID" 2>/dev/null
		rm -rf "/run/systemd/nspawn/propagate/$NAME"
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "$tmp/console.log" ]; then
		echo "--- container console (last 30 lines)"; tail -n 30 "$tmp/console.log"
	fi
	if [ "${PR_E2E_KEEP:-}" = 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	log "done (exit $rc)"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() { echo "skip: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# ---- can we run at all? -------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "not root: systemd-nspawn needs root"
command -v systemd-nspawn >/dev/null 2>&1 || skip "systemd-nspawn missing (apt-get install systemd-container)"
command -v nsenter >/dev/null 2>&1 || skip "nsenter missing (util-linux)"
BIN="$BUILD_DIR/personalize-retrain"
[ -x "$BIN" ] || skip "$BIN is not built (make first)"
ABS_BUILD=$(cd "$BUILD_DIR" && pwd)

rc=0
ROOT=$(scripts/nspawn-root) || rc=$?
[ "$rc" -eq 0 ] || skip "no container root (scripts/nspawn-root exit $rc, reason above)"
log "root $ROOT"

# ---- boot -----------------------------------------------------------------------
mkdir -p "$tmp/in"
systemd-nspawn --quiet --register=no --keep-unit --volatile=overlay \
	-D "$ROOT" -M "$NAME" \
	--bind-ro="$SRC:/src" --bind-ro="$ABS_BUILD:/build" --bind-ro="$tmp/in:/t" \
	--boot --console=pipe >"$tmp/console.log" 2>&1 </dev/null &
NSPID=$!

# INIT: the nspawn child whose comm is systemd (the first child is a helper).
i=0
while [ -z "$INIT" ] && [ $i -lt 100 ]; do
	kill -0 "$NSPID" 2>/dev/null || break
	for c in $(pgrep -P "$NSPID" 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && INIT=$c
	done
	[ -n "$INIT" ] || { sleep 0.1; i=$((i + 1)); }
done
if [ -z "$INIT" ]; then
	tail -n 5 "$tmp/console.log"
	skip "no systemd child of systemd-nspawn within 10 s (see above)"
fi

# Run a command inside, with a clean environment (nothing of make's leaks in).
ct() { nsenter -t "$INIT" -a env -i PATH="$PATH_IN" TERM=dumb SYSTEMD_PAGER= "$@"; }
msgid() { sed -n "s/^#define $1 *\"\([0-9a-f]*\)\".*/\1/p" include/msgid.h; }
until_ok() { # SECONDS CMD...: retry CMD every 0.1 s until it succeeds or time is up
	_end=$(( $(date +%s) + $1 )); shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$_end" ] || return 1
		sleep 0.1
	done
}

i=0 state=""
while [ $i -lt 100 ]; do
	state=$(ct systemctl is-system-running 2>/dev/null || true)
	case "$state" in running|degraded) break ;; esac
	sleep 0.1; i=$((i + 1))
done
case "$state" in
running|degraded) ;;
*) skip "container systemd did not reach running within 10 s (state '$state')" ;;
esac
log "container booted ($state), init pid $INIT"

# What the program can do decides how far we go.
help=$("$BIN" --help 2>&1 || true)
has_cmd() { printf '%s\n' "$help" | grep -Eq "^  $1( |\$)"; } # a command line of --help

mk() { ct make --no-print-directory -C /src BUILD=/build "$@"; }

# ---- part 1: install, unit loading, deploy refusals ------------------------------
# The shipped example config: refused before anything is installed, each
# line with the example's account or names shown as FILE:LINE.
rc=0
mk deploy INSTANCE=ph PARAMS_FILE=/src/parameters.cfg >"$tmp/deploy-ph.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$tmp/deploy-ph.log"; fail "make deploy accepted the shipped example config"; }
for n in $(grep -n '123456789012\|my-personalize-bucket' parameters.cfg | cut -d: -f1); do
	grep -q "^deploy: /src/parameters.cfg:$n: " "$tmp/deploy-ph.log" || { cat "$tmp/deploy-ph.log"; fail "the placeholder refusal does not name /src/parameters.cfg:$n"; }
done
grep -q 'ALLOW_EXAMPLE_CONFIG=1' "$tmp/deploy-ph.log" || { cat "$tmp/deploy-ph.log"; fail "the placeholder refusal does not mention ALLOW_EXAMPLE_CONFIG=1"; }
! ct test -e /usr/local/bin/personalize-retrain || fail "the refused deploy installed the program"
! ct test -e /etc/personalize-retrain/ph.cfg || fail "the refused deploy installed /etc/personalize-retrain/ph.cfg"
log "part 1: the shipped example config refused, its lines named, nothing installed"

# The directories make install may create that the container lacks before:
# the last undeploy must leave none of them behind.
NEW_DIRS=$(for d in /usr/local/bin /usr/local/lib/systemd/system /usr/local/lib/systemd/catalog /usr/local/lib/systemd \
	/usr/local/share/man/man5 /usr/local/share/man/man8 /etc/personalize-retrain; do ct test -e "$d" || echo "$d"; done)
mk install >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "make install inside the container"; }
ct test -x /usr/local/bin/personalize-retrain || fail "make install did not install the program"
ct systemctl daemon-reload
for u in personalize-retrain.service personalize-retrain@probe.service; do
	ls=$(ct systemctl show -p LoadState --value "$u")
	[ "$ls" = loaded ] || fail "$u LoadState=$ls in the container"
done
out=$(ct systemd-analyze verify --man=no /usr/local/lib/systemd/system/personalize-retrain.service \
	/usr/local/lib/systemd/system/personalize-retrain@.service 2>&1 || true)
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify inside the container printed the above"; }
log "part 1: make install inside, units load and verify under the container's systemd"

# An invalid config: deploy refuses, shows why, enables and starts nothing.
printf 'SolutionArn=not-an-arn\nINVALID=1\n' >"$tmp/in/bad.cfg"
rc=0
mk deploy INSTANCE=bad PARAMS_FILE=/t/bad.cfg >"$tmp/deploy-bad.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { cat "$tmp/deploy-bad.log"; fail "make deploy accepted an invalid config"; }
grep -q 'nothing was enabled or started' "$tmp/deploy-bad.log" || { cat "$tmp/deploy-bad.log"; fail "deploy did not say it refused"; }
en=$(ct systemctl is-enabled personalize-retrain@bad.service 2>/dev/null || true)
[ "$en" != enabled ] || fail "refused deploy left personalize-retrain@bad enabled"
! ct systemctl -q is-active personalize-retrain@bad.service || fail "refused deploy started personalize-retrain@bad"
ct test -f /etc/personalize-retrain/bad.cfg || fail "deploy did not install /etc/personalize-retrain/bad.cfg"
if has_cmd check; then
	grep -q 'bad.cfg:[0-9]' "$tmp/deploy-bad.log" || { cat "$tmp/deploy-bad.log"; fail "deploy did not show check's file:line errors"; }
	log "part 1: invalid config refused with check's errors, nothing enabled"
else
	log "part 1: invalid config refused, nothing enabled (note: the program has no 'check' yet, so it refused on the usage error)"
fi
# Where systemd is not running: files installed, the reason said, exit non-zero.
if has_cmd check; then
	rc=0
	ct env PR_DEPLOY_SYSTEMD_RUNDIR=/nonexistent make --no-print-directory -C /src BUILD=/build \
		deploy INSTANCE=nosd PARAMS_FILE=/src/parameters.cfg ALLOW_EXAMPLE_CONFIG=1 >"$tmp/deploy-nosd.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { cat "$tmp/deploy-nosd.log"; fail "deploy without systemd exited 0"; }
	grep -q 'could NOT be enabled' "$tmp/deploy-nosd.log" && grep -q 'systemd is not running here' "$tmp/deploy-nosd.log" ||
		{ cat "$tmp/deploy-nosd.log"; fail "deploy without systemd did not say why it could not enable"; }
	ct test -f /etc/personalize-retrain/nosd.cfg || fail "deploy without systemd did not install the config"
	[ "$(ct systemctl is-enabled personalize-retrain@nosd.service 2>/dev/null || true)" != enabled ] ||
		fail "deploy without systemd enabled the unit"
	ct rm -f /etc/personalize-retrain/nosd.cfg
	log "part 1: without systemd, deploy installed the files, said why it could not enable, exit $rc"
	# A YAML config keeps its extension; a drop-in points PARAMS_FILE at it.
	sed -n 's/^\([A-Za-z0-9]*\)=\(.*\)$/\1: "\2"/p' parameters.cfg >"$tmp/in/p.yaml"
	rc=0
	mk deploy INSTANCE=y PARAMS_FILE=/t/p.yaml >"$tmp/deploy-yaml-ph.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && grep -q '^deploy: /t/p.yaml:1: ' "$tmp/deploy-yaml-ph.log" ||
		{ cat "$tmp/deploy-yaml-ph.log"; fail "a YAML config with the example's placeholders was not refused with its lines"; }
	! ct test -e /etc/personalize-retrain/y.yaml || fail "the refused YAML deploy installed y.yaml"
	ct env PR_DEPLOY_SYSTEMD_RUNDIR=/nonexistent make --no-print-directory -C /src BUILD=/build \
		deploy INSTANCE=y PARAMS_FILE=/t/p.yaml ALLOW_EXAMPLE_CONFIG=1 >"$tmp/deploy-yaml.log" 2>&1 || true
	grep -q 'could NOT be enabled' "$tmp/deploy-yaml.log" || { cat "$tmp/deploy-yaml.log"; fail "YAML deploy did not pass its check"; }
	ct test -f /etc/personalize-retrain/y.yaml || fail "YAML deploy did not install /etc/personalize-retrain/y.yaml"
	ct systemctl daemon-reload
	ct systemctl show -p Environment --value personalize-retrain@y.service | grep -q 'PARAMS_FILE=/etc/personalize-retrain/y.yaml' ||
		fail "personalize-retrain@y does not read y.yaml: $(ct systemctl show -p Environment --value personalize-retrain@y.service)"
	ct rm -rf /etc/personalize-retrain/y.yaml /etc/systemd/system/personalize-retrain@y.service.d
	log "part 1: a YAML config deployed as y.yaml with a PARAMS_FILE drop-in"
fi
# An explicit PARAMS_FILE that differs from the installed config is refused
# (not silently ignored), saying how to deploy it instead; so is a YAML one
# where a .cfg is installed. Without PARAMS_FILE the installed one is kept.
printf '# operator edit\n' >"$tmp/in/other.cfg"
printf '# operator edit\n' >"$tmp/in/other.yaml"
for f in other.cfg other.yaml; do
	rc=0
	mk deploy INSTANCE=bad PARAMS_FILE=/t/$f >"$tmp/deploy-$f.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { cat "$tmp/deploy-$f.log"; fail "deploy INSTANCE=bad PARAMS_FILE=/t/$f over a different installed config exited 0"; }
	grep -q "sudo make deploy INSTANCE=NAME PARAMS_FILE=/t/$f" "$tmp/deploy-$f.log" &&
		grep -q "sudo make deploy INSTANCE=bad PARAMS_FILE=/t/$f REPLACE_CONFIG=1" "$tmp/deploy-$f.log" ||
		{ cat "$tmp/deploy-$f.log"; fail "the refusal of PARAMS_FILE=/t/$f does not say what to write instead"; }
	ct cmp -s /t/bad.cfg /etc/personalize-retrain/bad.cfg || fail "deploy PARAMS_FILE=/t/$f overwrote the installed config"
	! ct test -e /etc/personalize-retrain/bad.yaml || fail "deploy PARAMS_FILE=/t/$f installed bad.yaml next to bad.cfg"
done
grep -q 'is YAML, but personalize-retrain@bad.service already has the cfg config' "$tmp/deploy-other.yaml.log" ||
	{ cat "$tmp/deploy-other.yaml.log"; fail "the YAML refusal does not say YAML against cfg"; }
mk deploy INSTANCE=bad >"$tmp/deploy-bad2.log" 2>&1 || true
ct cmp -s /t/bad.cfg /etc/personalize-retrain/bad.cfg || fail "deploy overwrote an existing config"
grep -q 'keeping the existing /etc/personalize-retrain/bad.cfg' "$tmp/deploy-bad2.log" || { cat "$tmp/deploy-bad2.log"; fail "deploy did not say it kept the existing config"; }
ct rm -f /etc/personalize-retrain/bad.cfg
log "part 1: an explicit different PARAMS_FILE (cfg or YAML) refused, the installed config kept"

# ---- part 2 needs the daemon ---------------------------------------------------------
if ! has_cmd run; then
	skip "part 1 passed; '$BIN --help' does not list 'run' yet, so the service itself cannot be deployed (status line, journal, watchdog, reload, instances, undeploy are written but wait for it)"
fi

EMU="$BUILD_DIR/personalize-emulator"
WORLD=${PR_E2E_WORLD:-tests/emulator/worlds/e2e.json}
CONFIG=${PR_E2E_CONFIG:-tests/emulator/worlds/e2e.cfg}
AKID=AKIDE2ESYSTEMDTEST01
SECRET=e2e-secret-key-for-the-systemd-test-only
[ -x "$EMU" ] || fail "'run' exists but $EMU is not built"
[ -f "$WORLD" ] || fail "no emulator world $WORLD for the end-to-end run (PR_E2E_WORLD)"
[ -f "$CONFIG" ] || fail "no parameters file $CONFIG matching $WORLD (PR_E2E_CONFIG)"

# The emulator on the host's loopback: the container shares the network namespace.
"$EMU" --port 0 --port-file "$tmp/port" --world "$WORLD" --cred "$AKID:$SECRET" \
	--ledger "$tmp/ledger.jsonl" >"$tmp/emulator.log" 2>&1 &
EMUPID=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
	kill -0 "$EMUPID" 2>/dev/null || { cat "$tmp/emulator.log"; fail "emulator exited"; }
	sleep 0.1; i=$((i + 1))
done
[ -s "$tmp/port" ] || fail "emulator wrote no port file in 10 s"
PORT=$(cat "$tmp/port")
log "emulator on 127.0.0.1:$PORT"

# Configs for three units, all the world's pipeline pointed at the emulator.
# Only e2e-a runs it during the test; b and the plain unit would compete for
# the same datasets (ResourceInUseException), so their schedule is far away.
{ grep -v '^EndpointUrl=' "$CONFIG"; echo "EndpointUrl=http://127.0.0.1:$PORT"; } >"$tmp/in/a.cfg"
for n in b plain; do
	{ grep -Ev '^(EndpointUrl|RetrainingRate|CatchUp)=' "$CONFIG"
	  echo "EndpointUrl=http://127.0.0.1:$PORT"; echo "RetrainingRate=rate(30 days)"; echo "CatchUp=no"; } >"$tmp/in/$n.cfg"
done
# Faster watchdog and restarts for the test only (the shipped units say 30 s / 5 s).
ct mkdir -p /etc/systemd/system/personalize-retrain@.service.d /etc/systemd/system/personalize-retrain.service.d
for d in personalize-retrain@.service.d personalize-retrain.service.d; do
	ct sh -c "printf '[Service]\nWatchdogSec=3s\nRestartSec=200ms\n' >/etc/systemd/system/$d/90-e2e.conf"
done
# e2e-a and the plain unit: keys through LoadCredential= (the template's
# per-instance directory). e2e-b: no key files at all (the unit must start
# anyway), credentials from the emulator's instance-metadata endpoint.
ct mkdir -p /etc/systemd/system/personalize-retrain@e2e-b.service.d
ct sh -c "printf '[Service]\nEnvironment=AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$PORT\n' >/etc/systemd/system/personalize-retrain@e2e-b.service.d/90-e2e-imds.conf"
# e2e-a logs at debug through the environment of a drop-in (ExecStart= as shipped).
ct mkdir -p /etc/systemd/system/personalize-retrain@e2e-a.service.d
ct sh -c "printf '[Service]\nEnvironment=LOG_LEVEL=debug\n' >/etc/systemd/system/personalize-retrain@e2e-a.service.d/90-e2e-debug.conf"
# e2e-a and lost run a schedule that fires every minute: rather than wait
# for the next minute of the real clock, their clock is set back (the test
# hook PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS, less than a minute, never
# ahead of the emulator) so that it reads second 45 now: their first fire
# time comes 15 s from here, after the deploys below.
now_ms=$(date +%s%3N)
CLOCK_OFFSET_MS=$(( -(((now_ms % 60000) - 45000 + 60000) % 60000) ))
clock_dropin() { # UNIT: the offset above for UNIT
	ct mkdir -p "/etc/systemd/system/$1.d"
	ct sh -c "printf '[Service]\nEnvironment=PERSONALIZE_RETRAIN_TEST_CLOCK_OFFSET_MS=$CLOCK_OFFSET_MS\n' >/etc/systemd/system/$1.d/90-e2e-clock.conf"
}
clock_dropin personalize-retrain@e2e-a.service
put_keys() { # DIR: the key files the units load with LoadCredential=
	ct install -d -m 0700 "$1"
	ct sh -c "umask 077; printf '%s\n' '$AKID' >$1/aws-access-key-id; printf '%s\n' '$SECRET' >$1/aws-secret-access-key"
}
put_keys /etc/personalize-retrain/credentials
put_keys /etc/personalize-retrain/credentials/e2e-a

UA=personalize-retrain@e2e-a.service
UB=personalize-retrain@e2e-b.service
UP=personalize-retrain.service
UPROD=personalize-retrain@prod.service
EX=ALLOW_EXAMPLE_CONFIG=1 # the emulator's world has the example's account and names
mk deploy INSTANCE=e2e-a PARAMS_FILE=/t/a.cfg $EX >"$tmp/deploy-a.log" 2>&1 || { cat "$tmp/deploy-a.log"; fail "make deploy INSTANCE=e2e-a"; }
# Record every STATUS= change of e2e-a from READY on, while the rest proceeds.
(
	last=""
	end=$(( $(date +%s) + ${PR_E2E_RUN_TIMEOUT:-90} + 10 ))
	while [ ! -e "$tmp/observer.stop" ] && [ "$(date +%s)" -lt "$end" ]; do
		s=$(ct systemctl show -p StatusText --value $UA 2>/dev/null || true)
		if [ "$s" != "$last" ]; then printf '%s\n' "$s" >>"$tmp/status.txt"; last=$s; fi
		sleep 0.05
	done
) &
OBSPID=$!
mk deploy INSTANCE=e2e-b PARAMS_FILE=/t/b.cfg $EX >"$tmp/deploy-b.log" 2>&1 || { cat "$tmp/deploy-b.log"; fail "make deploy INSTANCE=e2e-b"; }
mk deploy PARAMS_FILE=/t/plain.cfg $EX >"$tmp/deploy-p.log" 2>&1 || { cat "$tmp/deploy-p.log"; fail "make deploy (plain unit)"; }
for u in $UA $UB $UP; do
	[ "$(ct systemctl is-active "$u" || true)" = active ] || { ct systemctl --no-pager status "$u" || true; fail "$u is not active after make deploy"; }
	[ "$(ct systemctl is-enabled "$u" || true)" = enabled ] || fail "$u is not enabled after make deploy"
done
ct test -f /etc/personalize-retrain/e2e-a.cfg || fail "deploy did not install e2e-a.cfg"
ct test -f /etc/personalize-retrain/parameters.cfg || fail "deploy did not install parameters.cfg"
ua=$(ct systemctl show -p User --value $UA); ub=$(ct systemctl show -p User --value $UB)
[ "$ua" = pr-e2e-a ] && [ "$ub" = pr-e2e-b ] || fail "instances run as '$ua' and '$ub', want pr-e2e-a and pr-e2e-b"
ct test -d /var/lib/personalize-retrain-e2e-a || fail "no state directory for e2e-a"
ct test -d /var/lib/personalize-retrain-e2e-b || fail "no state directory for e2e-b"
grep -q '^deploy:   credentials: systemd-credentials, access key id \.\.\.ST01$' "$tmp/deploy-a.log" ||
	{ cat "$tmp/deploy-a.log"; fail "deploy of e2e-a did not show the credentials its unit sees (key files)"; }
grep -q '^deploy:   credentials: imds, access key id \.\.\.' "$tmp/deploy-b.log" ||
	{ cat "$tmp/deploy-b.log"; fail "deploy of e2e-b did not resolve the credentials with its drop-in's environment (IMDS)"; }
! grep -q "$SECRET" "$tmp/deploy-a.log" || fail "deploy printed the secret key"
log "part 2: $UA, $UB and $UP deployed side by side, active, own users and state; deploy showed each one's credentials"

# No credentials in the unit's context: deploy says so and starts nothing;
# with key files it deploys.
ct mkdir -p /etc/systemd/system/personalize-retrain@nokeys.service.d
ct sh -c "printf '[Service]\nEnvironment=AWS_EC2_METADATA_DISABLED=true\n' >/etc/systemd/system/personalize-retrain@nokeys.service.d/90-e2e.conf"
rc=0
mk deploy INSTANCE=nokeys PARAMS_FILE=/t/b.cfg $EX >"$tmp/deploy-nokeys.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'personalize-retrain@nokeys.service has NO AWS credentials' "$tmp/deploy-nokeys.log" &&
	grep -q '/etc/personalize-retrain/credentials/nokeys/aws-access-key-id' "$tmp/deploy-nokeys.log" ||
	{ cat "$tmp/deploy-nokeys.log"; fail "deploy without credentials did not refuse, naming the key files (exit $rc)"; }
! grep -q 'enabled and running' "$tmp/deploy-nokeys.log" || fail "deploy without credentials said enabled and running"
[ "$(ct systemctl is-enabled personalize-retrain@nokeys.service 2>/dev/null || true)" != enabled ] &&
	! ct systemctl -q is-active personalize-retrain@nokeys.service || fail "deploy without credentials enabled or started the unit"
put_keys /etc/personalize-retrain/credentials/nokeys
mk deploy INSTANCE=nokeys $EX >"$tmp/deploy-nokeys2.log" 2>&1 || { cat "$tmp/deploy-nokeys2.log"; fail "deploy with key files after the refusal"; }
grep -q 'credentials: systemd-credentials, access key id \.\.\.ST01' "$tmp/deploy-nokeys2.log" || { cat "$tmp/deploy-nokeys2.log"; fail "deploy with keys did not show them"; }
mk undeploy INSTANCE=nokeys PURGE=1 >"$tmp/undeploy-nokeys.log" 2>&1 || { cat "$tmp/undeploy-nokeys.log"; fail "undeploy nokeys"; }
ct rm -rf /etc/systemd/system/personalize-retrain@nokeys.service.d
log "part 2: deploy without credentials refused, naming the key files; with them it showed the source"
# Keys that go away after the deploy: the run does not hang, it fails after
# a short wait with "no AWS credentials" (checked before the undeploys).
UL=personalize-retrain@lost.service
ct mkdir -p /etc/systemd/system/$UL.d
ct sh -c "printf '[Service]\nEnvironment=AWS_EC2_METADATA_DISABLED=true\n' >/etc/systemd/system/$UL.d/90-e2e.conf"
clock_dropin $UL
put_keys /etc/personalize-retrain/credentials/lost
mk deploy INSTANCE=lost PARAMS_FILE=/t/b.cfg $EX >"$tmp/deploy-lost.log" 2>&1 || { cat "$tmp/deploy-lost.log"; fail "make deploy INSTANCE=lost"; }
ct rm -f /etc/personalize-retrain/credentials/lost/aws-access-key-id /etc/personalize-retrain/credentials/lost/aws-secret-access-key
ct cp /t/a.cfg /etc/personalize-retrain/lost.cfg
ct systemctl restart $UL
log "part 2: $UL restarted without its key files, on a schedule that fires every minute (clock offset $CLOCK_OFFSET_MS ms)"

# systemctl stop in the middle of a run: STATUS= and `status` say that no
# daemon runs and that the run resumes at the next start; it then does.
training_now() { ct systemctl show -p StatusText --value $UA | grep -q '^training'; }
until_ok "${PR_E2E_RUN_TIMEOUT:-90}" training_now || fail "$UA never showed a training STATUS="
ct systemctl stop $UA
st=$(ct systemctl show -p StatusText --value $UA)
case "$st" in
"stopped, runs resume at the next start (were: training"*) ;;
*) fail "STATUS= of $UA after a stop mid-run: '$st'" ;;
esac
ct personalize-retrain -c /etc/personalize-retrain/e2e-a.cfg status >"$tmp/status-stopped.txt" 2>&1 ||
	{ cat "$tmp/status-stopped.txt"; fail "status of the stopped $UA failed"; }
grep -q '^daemon  *not running' "$tmp/status-stopped.txt" && grep -q '^  stage      training' "$tmp/status-stopped.txt" &&
	grep -q 'no daemon is running: the run waits, and resumes (its jobs adopted) at the next start' "$tmp/status-stopped.txt" ||
	{ cat "$tmp/status-stopped.txt"; fail "status of $UA stopped mid-run does not say that no daemon runs and the run resumes"; }
ct systemctl start $UA || fail "$UA did not start again after the stop mid-run"
ct personalize-retrain -i e2e-a status >"$tmp/status-running.txt" 2>&1 || true
grep -q "^daemon  *running (PID $(ct systemctl show -p MainPID --value $UA))" "$tmp/status-running.txt" ||
	{ cat "$tmp/status-running.txt"; fail "status of the running $UA does not name its PID"; }
grep -q '^  stage      training' "$tmp/status-running.txt" || { cat "$tmp/status-running.txt"; fail "status -i e2e-a does not show the run of $UA"; }
log "part 2: stopped $UA mid-run: STATUS= and status said no daemon runs and the run resumes; started again"
# status finds an instance's state from -c or -i alone; a state directory
# that belongs to another config is refused, never read as this one's.
rc=0
ct personalize-retrain -c /etc/personalize-retrain/e2e-a.cfg --state-dir /var/lib/personalize-retrain-e2e-b status >"$tmp/status-mismatch.txt" 2>&1 || rc=$?
[ "$rc" -eq 78 ] && grep -q 'state directory /var/lib/personalize-retrain-e2e-b belongs to the config /etc/personalize-retrain/e2e-b.cfg, not /etc/personalize-retrain/e2e-a.cfg' "$tmp/status-mismatch.txt" ||
	{ cat "$tmp/status-mismatch.txt"; fail "status of e2e-a.cfg with e2e-b's state directory did not refuse (exit $rc)"; }
rc=0
ct personalize-retrain -i e2e-a rollback >"$tmp/rollback-running.txt" 2>&1 || rc=$?
[ "$rc" -eq 78 ] && grep -q 'personalize-retrain-e2e-a is in use' "$tmp/rollback-running.txt" ||
	{ cat "$tmp/rollback-running.txt"; fail "rollback -i e2e-a while $UA runs: exit $rc, want 78 (its state is locked)"; }
log "part 2: status -c e2e-a.cfg and -i e2e-a read e2e-a's state; e2e-b's state for e2e-a.cfg refused; rollback -i found the instance's (locked) state"

# While e2e-a runs: what deploy must refuse, and a second pipeline.
# prod.cfg: the pipeline of plain.cfg, but not the same file.
{ grep -v '^PollInterval=' "$tmp/in/plain.cfg"; echo "PollInterval=2"; } >"$tmp/in/prod.cfg"
sed -n 's/^\([A-Za-z0-9]*\)=\(.*\)$/\1: "\2"/p' "$tmp/in/plain.cfg" >"$tmp/in/plain.yaml"
put_keys /etc/personalize-retrain/credentials/prod
pid_p=$(ct systemctl show -p MainPID --value $UP)
up_untouched() { # WHAT: the plain unit still runs the same process on plain.cfg
	[ "$(ct systemctl show -p MainPID --value $UP)" = "$pid_p" ] && [ "$(ct systemctl is-active $UP || true)" = active ] ||
		fail "$1 restarted or stopped $UP"
	ct cmp -s /t/plain.cfg /etc/personalize-retrain/parameters.cfg || fail "$1 changed /etc/personalize-retrain/parameters.cfg"
}
# The AWS sample's way to a second pipeline, without INSTANCE: refused, nothing restarted.
for f in prod.cfg plain.yaml; do
	rc=0
	mk deploy PARAMS_FILE=/t/$f $EX >"$tmp/deploy-p-$f.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || { cat "$tmp/deploy-p-$f.log"; fail "make deploy PARAMS_FILE=/t/$f (no INSTANCE) over a different parameters.cfg exited 0"; }
	grep -q "sudo make deploy INSTANCE=NAME PARAMS_FILE=/t/$f" "$tmp/deploy-p-$f.log" &&
		grep -q "sudo make deploy PARAMS_FILE=/t/$f REPLACE_CONFIG=1" "$tmp/deploy-p-$f.log" ||
		{ cat "$tmp/deploy-p-$f.log"; fail "the refusal of PARAMS_FILE=/t/$f does not say what to write instead"; }
	! grep -q restarting "$tmp/deploy-p-$f.log" || fail "the refused deploy of /t/$f restarted something"
	up_untouched "the refused make deploy PARAMS_FILE=/t/$f"
done
! ct test -e /etc/personalize-retrain/parameters.yaml || fail "the refused YAML deploy installed parameters.yaml"
log "part 2: an explicit different PARAMS_FILE (cfg, YAML) without INSTANCE refused, $UP not restarted"
# The kept config holds the example's placeholders: refused without the override.
rc=0
mk deploy >"$tmp/deploy-p-kept.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q '^deploy: /etc/personalize-retrain/parameters.cfg:1: ' "$tmp/deploy-p-kept.log" ||
	{ cat "$tmp/deploy-p-kept.log"; fail "deploy kept an installed config with the example's placeholders without naming its lines"; }
up_untouched "the refused make deploy of a kept example config"
log "part 2: the kept config with the example's account and names refused, lines named, nothing restarted"
# STACK_NAME=prod: the instance personalize-retrain@prod; the plain unit is left alone.
mk deploy STACK_NAME=prod PARAMS_FILE=/t/prod.cfg $EX >"$tmp/deploy-prod.log" 2>&1 || { cat "$tmp/deploy-prod.log"; fail "make deploy STACK_NAME=prod"; }
grep -q '^deploy: STACK_NAME=prod deploys the instance personalize-retrain@prod$' "$tmp/deploy-prod.log" ||
	{ cat "$tmp/deploy-prod.log"; fail "deploy STACK_NAME=prod did not say it deploys the instance personalize-retrain@prod"; }
[ "$(ct systemctl is-active $UPROD || true)" = active ] && [ "$(ct systemctl is-enabled $UPROD || true)" = enabled ] ||
	{ ct systemctl --no-pager status $UPROD || true; fail "$UPROD not active and enabled after make deploy STACK_NAME=prod"; }
ct cmp -s /t/prod.cfg /etc/personalize-retrain/prod.cfg || fail "deploy STACK_NAME=prod did not install prod.cfg as /etc/personalize-retrain/prod.cfg"
up_untouched "make deploy STACK_NAME=prod"
rc=0
mk deploy STACK_NAME=prod INSTANCE=other PARAMS_FILE=/t/prod.cfg $EX >"$tmp/deploy-conflict.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'STACK_NAME=prod and INSTANCE=other differ' "$tmp/deploy-conflict.log" ||
	{ cat "$tmp/deploy-conflict.log"; fail "STACK_NAME=prod INSTANCE=other not refused"; }
! ct test -e /etc/personalize-retrain/other.cfg || fail "STACK_NAME=prod INSTANCE=other installed other.cfg"
log "part 2: STACK_NAME=prod started $UPROD and left $UP alone; STACK_NAME and INSTANCE differing refused"

# Restarts by hand never reach the start limit (StartLimitBurst=5 in 10
# minutes counts every start); a crash loop still does.
for i in 1 2 3 4 5 6 7; do
	ct systemctl restart $UPROD || { ct systemctl --no-pager status $UPROD || true; fail "manual restart $i of $UPROD failed (the start limit counts restarts by hand)"; }
done
[ "$(ct systemctl is-active $UPROD || true)" = active ] || fail "$UPROD not active after 7 restarts by hand"
kills=0
while [ "$(ct systemctl show -p ActiveState --value $UPROD)" != failed ] && [ $kills -lt 8 ]; do
	pid=$(ct systemctl show -p MainPID --value $UPROD)
	[ "$pid" != 0 ] || { sleep 0.1; continue; }
	ct systemctl kill -s KILL --kill-who=main $UPROD
	kills=$((kills + 1))
	moved_on() { st=$(ct systemctl show -p ActiveState --value $UPROD); [ "$st" = failed ] ||
		{ [ "$st" = active ] && [ "$(ct systemctl show -p MainPID --value $UPROD)" != "$pid" ]; }; }
	until_ok 10 moved_on || fail "$UPROD neither restarted nor failed within 10 s of SIGKILL $kills"
done
# (Result= keeps the first failure, "signal"; the journal names the limit.)
[ "$(ct systemctl show -p ActiveState --value $UPROD)" = failed ] || fail "a crash loop of $UPROD did not end failed after $kills kills"
ct journalctl --no-pager -u $UPROD | grep -q 'Start request repeated too quickly' ||
	fail "the crash loop of $UPROD did not end on the start limit (no 'Start request repeated too quickly')"
[ $kills -eq 5 ] || fail "the crash loop of $UPROD hit the start limit after $kills kills, want 5 (StartLimitBurst=5)"
ct systemctl reset-failed $UPROD
ct systemctl start $UPROD || fail "$UPROD did not start after reset-failed"
log "part 2: 7 restarts by hand of $UPROD kept it running; a crash loop hit the start limit after $kills kills"
# REPLACE_CONFIG=1 with an invalid config: check refuses, the old config comes back.
rc=0
mk deploy PARAMS_FILE=/t/bad.cfg REPLACE_CONFIG=1 >"$tmp/deploy-replace-bad.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'the old config is back in place' "$tmp/deploy-replace-bad.log" ||
	{ cat "$tmp/deploy-replace-bad.log"; fail "REPLACE_CONFIG=1 with an invalid config did not refuse and restore"; }
up_untouched "REPLACE_CONFIG=1 with an invalid config"
# REPLACE_CONFIG=1: the new config installed, the old one kept as .bak, checked, restarted.
mk deploy PARAMS_FILE=/t/prod.cfg REPLACE_CONFIG=1 $EX >"$tmp/deploy-replace.log" 2>&1 || { cat "$tmp/deploy-replace.log"; fail "make deploy PARAMS_FILE=/t/prod.cfg REPLACE_CONFIG=1"; }
grep -q 'kept as /etc/personalize-retrain/parameters.cfg.bak' "$tmp/deploy-replace.log" && grep -q "restarting $UP" "$tmp/deploy-replace.log" ||
	{ cat "$tmp/deploy-replace.log"; fail "REPLACE_CONFIG=1 did not say it kept a backup and restarted $UP"; }
ct cmp -s /t/prod.cfg /etc/personalize-retrain/parameters.cfg || fail "REPLACE_CONFIG=1 did not install /t/prod.cfg"
ct cmp -s /t/plain.cfg /etc/personalize-retrain/parameters.cfg.bak || fail "REPLACE_CONFIG=1 did not keep the old config as parameters.cfg.bak"
[ "$(ct systemctl show -p MainPID --value $UP)" != "$pid_p" ] && [ "$(ct systemctl is-active $UP || true)" = active ] ||
	fail "$UP not running a new process after REPLACE_CONFIG=1"
log "part 2: REPLACE_CONFIG=1 put an invalid config back, then replaced parameters.cfg (old one as .bak) and restarted $UP"

# STATUS= follows the stages of a real run, through to idle. A fast stage
# can slip between two samples, so the order is asserted strictly on the
# journal's STAGE= fields, and on STATUS= as sampled: the lines seen are in
# stage order, at least one is a stage of the run, and the last is idle.
run_done() { ct journalctl --no-pager -u $UA -o verbose "MESSAGE_ID=$(msgid MSGID_RUN_SUCCEEDED)" 2>/dev/null | grep -q MESSAGE_ID=; }
RUN_TIMEOUT=${PR_E2E_RUN_TIMEOUT:-90}
until_ok "$RUN_TIMEOUT" run_done || fail "no MSGID_RUN_SUCCEEDED from $UA within $RUN_TIMEOUT s (the e2e config's schedule must fire soon after start)"
idle_now() { ct systemctl show -p StatusText --value $UA | grep -q '^idle'; }
until_ok 10 idle_now || fail "STATUS= of $UA not back to idle after the run"
sleep 0.2
touch "$tmp/observer.stop"; wait "$OBSPID" 2>/dev/null || true; OBSPID=""
echo "STATUS lines seen:"; sed 's/^/  /' "$tmp/status.txt"
awk '
	/^stopped, runs resume/ || /^$/ { next }  # the stop mid-run above, the start after it
	function rank(l) { if (l ~ /^importing/) return 1; if (l ~ /^training/) return 2;
		if (l ~ /^deploying/) return 3; if (l ~ /^idle/) return 4; return 0 }
	{ r = rank($0); if (r == 0) { bad = "unknown STATUS line: " $0; exit }
	  if (r < prev && !(prev == 4 && NR == 2)) { bad = "out of order: " $0; exit }
	  if (r >= 1 && r <= 3) stage++; prev = r; last = r }
	END { if (bad != "") { print bad; exit 1 } if (!stage) { print "no stage seen"; exit 1 }
	      if (last != 4) { print "did not end idle"; exit 1 } }
' "$tmp/status.txt" || fail "STATUS= of $UA did not follow importing -> training -> deploying -> idle"
ct journalctl --no-pager -u $UA -o verbose | sed -n 's/^ *STAGE=//p' | uniq >"$tmp/stages.txt"
awk '{ r = ($0 ~ /^import/) ? 1 : ($0 ~ /^train/) ? 2 : ($0 ~ /^deploy/) ? 3 : 0
	if (r && r < prev) { print "STAGE " $0 " after a later stage"; bad = 1 } if (r) { prev = r; seen[r] = 1 } }
	END { if (!seen[1] || !seen[2] || !seen[3]) { print "STAGE= fields lack a stage"; bad = 1 } exit bad }' \
	"$tmp/stages.txt" || { cat "$tmp/stages.txt"; fail "journal STAGE= fields of $UA not importing -> training -> deploying"; }
log "part 2: STATUS= and STAGE= followed the run to idle"

# Journal fields and MESSAGE_IDs (include/msgid.h), and the catalog.
for m in MSGID_RUN_STARTED MSGID_RUN_SUCCEEDED MSGID_DEPLOYED; do
	id=$(msgid $m)
	ct journalctl --no-pager -u $UA -o verbose "MESSAGE_ID=$id" >"$tmp/j.txt" 2>&1 || true
	grep -q "MESSAGE_ID=$id" "$tmp/j.txt" || fail "no $m ($id) in journalctl -u $UA"
	grep -q 'PIPELINE=' "$tmp/j.txt" || fail "$m has no PIPELINE= field"
done
ct journalctl --no-pager -u $UA -o verbose >"$tmp/j.txt"
grep -q '^ *STAGE=' "$tmp/j.txt" || fail "no STAGE= field in the journal of $UA"
grep -q '^ *JOB_ARN=arn:' "$tmp/j.txt" || fail "no JOB_ARN= field in the journal of $UA"
# Each entry says where in our code it was logged, never log.c's own sender.
! grep -q 'CODE_FILE=src/log.c' "$tmp/j.txt" || fail "journal entries of $UA carry CODE_FILE=src/log.c (the logger, not its caller)"
grep -q '^ *CODE_FUNC=daemon_main' "$tmp/j.txt" && grep -q '^ *CODE_FILE=src/daemon.c' "$tmp/j.txt" || fail "no entry of $UA names its caller (CODE_FILE=src/daemon.c, CODE_FUNC=daemon_main)"
# The run-succeeded entry names the deployed version and the campaign.
ct journalctl --no-pager -u $UA -o verbose "MESSAGE_ID=$(msgid MSGID_RUN_SUCCEEDED)" >"$tmp/js.txt"
grep -q '^ *SOLUTION_VERSION_ARN=arn:aws:personalize:.*:solution/.*/' "$tmp/js.txt" && grep -q '^ *CAMPAIGN_ARN=arn:' "$tmp/js.txt" ||
	{ cat "$tmp/js.txt"; fail "the run-succeeded entry of $UA does not name SOLUTION_VERSION_ARN= and CAMPAIGN_ARN="; }
ct journalctl --no-pager -x -u $UA "MESSAGE_ID=$(msgid MSGID_RUN_SUCCEEDED)" >"$tmp/jx.txt"
grep -q 'Retraining run of pipeline .* succeeded' "$tmp/jx.txt" || { cat "$tmp/jx.txt"; fail "journalctl -x does not explain run succeeded (catalog not installed?)"; }
if grep -q "$SECRET" "$tmp/j.txt"; then fail "the secret key appears in the journal"; fi
log "part 2: journal fields, MESSAGE_IDs and catalog text present"
# LOG_LEVEL=debug in a drop-in: e2e-a logs its debug lines, e2e-b (info) none.
ct journalctl --no-pager -u $UA -p debug..debug -o cat | grep -q '^aws: .* attempt 1' ||
	fail "$UA with Environment=LOG_LEVEL=debug logged no debug lines"
ct systemctl show -p ExecStart --value $UA | grep -q 'personalize-retrain -c ${PARAMS_FILE} run' ||
	fail "ExecStart= of $UA is not the shipped one"
[ -z "$(ct journalctl --no-pager -u $UB -p debug..debug -o cat _COMM=personalize-ret)" ] || fail "$UB (no LOG_LEVEL) logged debug lines"
log "part 2: Environment=LOG_LEVEL=debug in a drop-in made $UA log debug lines"

# Watchdog: a stopped daemon is killed and restarted (Restart=on-failure).
pid=$(ct systemctl show -p MainPID --value $UB)
n0=$(ct systemctl show -p NRestarts --value $UB)
ct kill -STOP "$pid"
restarted() {
	n=$(ct systemctl show -p NRestarts --value $UB)
	new=$(ct systemctl show -p MainPID --value $UB)
	[ "$n" -gt "$n0" ] && [ "$new" != "$pid" ] && [ "$(ct systemctl is-active $UB || true)" = active ]
}
until_ok 20 restarted || fail "$UB not restarted and active within 20 s of SIGSTOP (WatchdogSec=3s; NRestarts $n0 -> $n)"
ct journalctl --no-pager -u $UB | grep -q 'Watchdog timeout' || fail "journal of $UB does not show the watchdog timeout"
log "part 2: watchdog killed the stopped $UB (pid $pid) and restarted it (pid $new)"

# SIGHUP: a good reload keeps the same process; a bad config is refused, the old one kept.
pid=$(ct systemctl show -p MainPID --value $UA)
ct systemctl reload $UA || fail "systemctl reload $UA failed"
[ "$(ct systemctl show -p MainPID --value $UA)" = "$pid" ] || fail "reload replaced the process"
ct cp /etc/personalize-retrain/e2e-a.cfg /tmp/e2e-a.good
ct sh -c 'printf "SolutionArn=not-an-arn\nINVALID=1\n" >>/etc/personalize-retrain/e2e-a.cfg'
# systemctl reload of a broken config fails visibly; the errors are logged
# once, only the summary carries the reload-failed MESSAGE_ID, STATUS= says
# the old config is in use, and a good reload clears that.
since=$(ct date +%s)
rc=0
ct systemctl reload $UA >"$tmp/reload-bad.txt" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "systemctl reload $UA of a broken config exited 0"
reload_failed_logged() { ct journalctl --no-pager -u $UA -o verbose "MESSAGE_ID=$(msgid MSGID_RELOAD_FAILED)" | grep -q MESSAGE_ID=; }
until_ok 10 reload_failed_logged || fail "bad config on SIGHUP: no MSGID_RELOAD_FAILED in the journal within 10 s"
n=$(ct journalctl --no-pager -u $UA -o verbose "MESSAGE_ID=$(msgid MSGID_RELOAD_FAILED)" | grep -c '^ *MESSAGE_ID=')
[ "$n" -eq 1 ] || fail "one broken reload logged $n entries with the reload-failed MESSAGE_ID, want 1"
n=$(ct journalctl --no-pager -u $UA -o cat --since "@$since" | grep -c 'e2e-a.cfg:[0-9]*: .*SolutionArn' || true)
[ "$n" -eq 1 ] || { ct journalctl --no-pager -u $UA --since "@$since"; fail "the SolutionArn error of the broken reload was logged $n times, want once"; }
[ "$(ct systemctl is-active $UA || true)" = active ] && [ "$(ct systemctl show -p MainPID --value $UA)" = "$pid" ] ||
	fail "bad config on SIGHUP stopped or replaced the daemon"
ct systemctl show -p StatusText --value $UA | grep -q '^reload failed, previous config in use; ' ||
	fail "STATUS= of $UA after a failed reload: '$(ct systemctl show -p StatusText --value $UA)'"
ct cp /tmp/e2e-a.good /etc/personalize-retrain/e2e-a.cfg
ct systemctl reload $UA || fail "systemctl reload $UA of the good config again failed"
! ct systemctl show -p StatusText --value $UA | grep -q '^reload failed' || fail "STATUS= of $UA still says reload failed after a good reload"
log "part 2: SIGHUP reload kept pid $pid; a broken config: reload failed (exit $rc), errors logged once, old config kept, STATUS= said so"

# A config error at start (exit 78) is not restarted: the unit ends failed.
ct sh -c 'printf "SolutionArn=not-an-arn\nINVALID=1\n" >>/etc/personalize-retrain/e2e-a.cfg'
ct systemctl restart $UA >/dev/null 2>&1 || true
is_failed() { [ "$(ct systemctl show -p ActiveState --value $UA)" = failed ]; }
until_ok 10 is_failed || fail "$UA with a bad config: not failed (ActiveState=$(ct systemctl show -p ActiveState --value $UA)); RestartPreventExitStatus=78?"
st=$(ct systemctl show -p ExecMainStatus --value $UA)
[ "$st" = 78 ] || fail "$UA with a bad config exited $st, want 78 (EX_CONFIG)"
ct cp /tmp/e2e-a.good /etc/personalize-retrain/e2e-a.cfg
ct systemctl reset-failed $UA
ct systemctl start $UA || fail "$UA did not start again with its good config"
log "part 2: a config error at start (exit 78) left $UA failed, not restarting"

# Upgrade: deploying again over a running instance restarts it on the new program.
pid=$(ct systemctl show -p MainPID --value $UA)
mk deploy INSTANCE=e2e-a PARAMS_FILE=/t/a.cfg $EX >"$tmp/redeploy-a.log" 2>&1 || { cat "$tmp/redeploy-a.log"; fail "make deploy again (upgrade)"; }
grep -q "restarting $UA" "$tmp/redeploy-a.log" || { cat "$tmp/redeploy-a.log"; fail "redeploy did not restart $UA"; }
[ "$(ct systemctl show -p MainPID --value $UA)" != "$pid" ] && [ "$(ct systemctl is-active $UA || true)" = active ] ||
	fail "$UA not running a new process after redeploy"
log "part 2: deploying again restarted $UA on the new program"

# The run of the instance that lost its keys failed, saying why, in the
# journal (with PIPELINE=), STATUS= and status.
lost_failed() { ct journalctl --no-pager -u $UL -o verbose "MESSAGE_ID=$(msgid MSGID_RUN_FAILED)" | grep -q 'MESSAGE=.*no AWS credentials'; }
until_ok 100 lost_failed || { ct journalctl --no-pager -u $UL | tail -20; fail "the run of $UL without credentials did not fail with 'no AWS credentials' within 100 s"; }
ct journalctl --no-pager -u $UL -o verbose "MESSAGE_ID=$(msgid MSGID_RUN_FAILED)" | grep -q '^ *PIPELINE=my-solution$' ||
	fail "the run-failed entry of $UL has no PIPELINE="
lost_status() { ct systemctl show -p StatusText --value $UL | grep -q '^last run failed: no AWS credentials; idle, next run '; }
until_ok 5 lost_status || fail "STATUS= of $UL after the run without credentials: '$(ct systemctl show -p StatusText --value $UL)'"
ct personalize-retrain -i lost status >"$tmp/status-lost.txt" 2>&1 || true
grep -q '^  last runs  .* failed ' "$tmp/status-lost.txt" && grep -q 'no AWS credentials' "$tmp/status-lost.txt" ||
	{ cat "$tmp/status-lost.txt"; fail "status -i lost does not show the failed run and why"; }
n=$(ct journalctl --no-pager -u $UL -o cat | grep -c 'No AWS credentials found' || true)
[ "$n" -le 1 ] || fail "the chain said 'No AWS credentials found' $n times in the journal of $UL; once is enough (the run's failure names the pipeline)"
log "part 2: without credentials the run of $UL failed with 'no AWS credentials' (journal with PIPELINE=, STATUS=, status; the chain's own message $n time)"
mk undeploy INSTANCE=lost PURGE=1 >"$tmp/undeploy-lost.log" 2>&1 || { cat "$tmp/undeploy-lost.log"; fail "undeploy lost"; }
ct rm -rf /etc/systemd/system/$UL.d

# undeploy one instance: the others and the program stay.
mk undeploy INSTANCE=e2e-a >"$tmp/undeploy-a.log" 2>&1 || { cat "$tmp/undeploy-a.log"; fail "make undeploy INSTANCE=e2e-a"; }
[ "$(ct systemctl is-active $UA || true)" != active ] || fail "$UA still active after undeploy"
[ "$(ct systemctl is-enabled $UA 2>/dev/null || true)" != enabled ] || fail "$UA still enabled after undeploy"
[ "$(ct systemctl is-active $UB || true)" = active ] || fail "undeploying e2e-a stopped $UB"
ct test -x /usr/local/bin/personalize-retrain || fail "undeploy of one instance removed the program others use"
ct test -f /etc/personalize-retrain/e2e-a.cfg || fail "undeploy without PURGE removed the config"
ct test -d /var/lib/private/personalize-retrain-e2e-a || fail "undeploy without PURGE removed the state"
mk undeploy PARAMS_FILE=/t/plain.cfg >"$tmp/undeploy-p.log" 2>&1 || { cat "$tmp/undeploy-p.log"; fail "make undeploy (plain)"; }
mk undeploy STACK_NAME=prod >"$tmp/undeploy-prod.log" 2>&1 || { cat "$tmp/undeploy-prod.log"; fail "make undeploy STACK_NAME=prod"; }
grep -q '^undeploy: STACK_NAME=prod undeploys the instance personalize-retrain@prod$' "$tmp/undeploy-prod.log" || { cat "$tmp/undeploy-prod.log"; fail "undeploy STACK_NAME=prod did not say which instance"; }
[ "$(ct systemctl is-active $UPROD || true)" != active ] && [ "$(ct systemctl is-enabled $UPROD 2>/dev/null || true)" != enabled ] ||
	fail "$UPROD still active or enabled after make undeploy STACK_NAME=prod"
[ "$(ct systemctl is-active $UB || true)" = active ] || fail "undeploying prod stopped $UB"
# The last one, purged: everything goes.
mk undeploy INSTANCE=e2e-b PURGE=1 >"$tmp/undeploy-b.log" 2>&1 || { cat "$tmp/undeploy-b.log"; fail "make undeploy INSTANCE=e2e-b PURGE=1"; }
[ "$(ct systemctl is-active $UB || true)" != active ] || fail "$UB still active after undeploy"
for f in /usr/local/bin/personalize-retrain /usr/local/lib/systemd/system/personalize-retrain.service \
	/usr/local/lib/systemd/system/personalize-retrain@.service /etc/personalize-retrain/e2e-b.cfg \
	/var/lib/private/personalize-retrain-e2e-b /etc/personalize-retrain/credentials/e2e-b; do
	! ct test -e "$f" || fail "$f still there after the last undeploy with PURGE=1"
done
ct test -f /etc/personalize-retrain/e2e-a.cfg || fail "PURGE=1 of e2e-b removed e2e-a's config"
log "part 2: undeploy stopped/disabled, kept config and state; the last one with PURGE=1 removed everything"

# What undeploy left behind is listed; ALL=1 PURGE=1 removes every unit's
# config, keys and state.
mk list-deployed >"$tmp/list.txt" 2>&1 || { cat "$tmp/list.txt"; fail "make list-deployed"; }
grep -q '^personalize-retrain@e2e-a.service: ' "$tmp/list.txt" && grep -q '^  config  /etc/personalize-retrain/e2e-a.cfg$' "$tmp/list.txt" &&
	grep -q '^  state   /var/lib/private/personalize-retrain-e2e-a$' "$tmp/list.txt" && grep -q '^personalize-retrain@prod.service: ' "$tmp/list.txt" &&
	grep -q '^personalize-retrain.service: ' "$tmp/list.txt" || { cat "$tmp/list.txt"; fail "make list-deployed does not list what the undeploys left"; }
mk undeploy ALL=1 PURGE=1 >"$tmp/undeploy-all.log" 2>&1 || { cat "$tmp/undeploy-all.log"; fail "make undeploy ALL=1 PURGE=1"; }
mk list-deployed >"$tmp/list2.txt" 2>&1
grep -qx 'nothing of personalize-retrain is deployed or left behind' "$tmp/list2.txt" || { cat "$tmp/list2.txt"; fail "something left after make undeploy ALL=1 PURGE=1"; }
# A deploy from scratch (no directory of ours left from the make install
# above), then the full undeploy: nothing we created stays.
for d in $NEW_DIRS; do ct rm -rf "$d"; done
put_keys /etc/personalize-retrain/credentials/fresh
mk deploy INSTANCE=fresh PARAMS_FILE=/t/b.cfg $EX >"$tmp/deploy-fresh.log" 2>&1 || { cat "$tmp/deploy-fresh.log"; fail "make deploy INSTANCE=fresh from scratch"; }
mk undeploy ALL=1 PURGE=1 >"$tmp/undeploy-fresh.log" 2>&1 || { cat "$tmp/undeploy-fresh.log"; fail "make undeploy ALL=1 PURGE=1 after the fresh deploy"; }
for d in $NEW_DIRS /var/lib/private/personalize-retrain-fresh /var/lib/personalize-retrain-fresh; do
	! ct test -e "$d" || { cat "$tmp/undeploy-fresh.log"; fail "$d still there after make undeploy ALL=1 PURGE=1"; }
done
left=$(ct sh -c 'ls -d /var/lib/private/personalize-retrain* /var/lib/personalize-retrain* /etc/personalize-retrain /etc/systemd/system/personalize-retrain* /etc/systemd/system/*.wants/personalize-retrain* 2>/dev/null' || true)
# the test's own drop-ins are not deploy's
left=$(printf '%s\n' "$left" | grep -v '^/etc/systemd/system/personalize-retrain\(@e2e-[ab]\|@\)\{0,1\}.service.d$' | grep -v '^$' || true)
[ -z "$left" ] || fail "left behind after make undeploy ALL=1 PURGE=1: $left"
log "part 2: list-deployed showed what was left; undeploy ALL=1 PURGE=1 removed it, and after a fresh deploy left none of: $(echo $NEW_DIRS)"
echo "systemd e2e: ok"
