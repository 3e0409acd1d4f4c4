#!/bin/sh
# deploy_docs.sh - every `make deploy` / `make undeploy` the docs show passes
# its variables in a form sudo keeps, and they reach scripts/deploy.
#
# Scans README.md, docs/*.md and the man pages docs/*.5 docs/*.8 for each
# command that runs make deploy or make undeploy (code blocks, `code spans`,
# man page lines; quoted program output such as `deploy: ...` aside) and
#   1. fails when a variable assignment (WORD=value) stands before make in
#      it: `PARAMS_FILE=x sudo make deploy` (sudo's env_reset drops it) and
#      `sudo INSTANCE=x make deploy` (kept only where sudoers allows setting
#      variables) both deploy something else than they say. The message
#      gives the form to write instead, and what the command as written
#      resolves to under sudo;
#   2. runs the command's make part, as make arguments, in a reset
#      environment with PR_DEPLOY_DRY_RUN=1 (make deploy then only prints
#      "unit=... config=... source=..." and exits 0: nothing is built,
#      installed or started, no root needed), and checks that every
#      INSTANCE, STACK_NAME, PARAMS_FILE, REPLACE_CONFIG,
#      ALLOW_EXAMPLE_CONFIG and PURGE it gives arrives.
# Placeholder values (NAME is a fine instance name, but `...`, <name>, $VAR
# are not) are replaced by a sample value before running.
#
# run-tests: duration=1
set -u
cd "$(dirname "$0")/../.." || exit 2
MAKE=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 ran=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The commands: FILE<TAB>LINE<TAB>TEXT, one per shell command (split at
# && || ; | and parentheses) that runs make deploy or make undeploy.
for f in README.md docs/*.md docs/*.5 docs/*.8; do
	[ -f "$f" ] || continue
	awk -v file="$f" '
	function emit(text,   n, i, segs, s) {
		gsub(/&&|\|\||[;|()]/, "\n", text)
		n = split(text, segs, "\n")
		for (i = 1; i <= n; i++) {
			s = segs[i]
			sub(/[ \t]+#.*$/, "", s)          # a trailing shell comment
			sub(/^[ \t]*(\$|#)[ \t]+/, "", s) # a prompt
			sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s)
			if (s ~ /^(un)?deploy:/) continue  # program output, not a command
			if (s ~ /(^|[ \t])make[ \t]+([^ \t]+[ \t]+)*(deploy|undeploy)([ \t]|$)/)
				printf "%s\t%d\t%s\n", file, FNR, s
		}
	}
	function spans(line,   n, i, p) { # the `code spans` of a markdown line
		n = split(line, p, "`")
		for (i = 2; i <= n; i += 2) emit(p[i])
	}
	file ~ /\.md$/ {
		if ($0 ~ /^[ \t]*```/) { fence = !fence; next }
		if (fence || $0 ~ /^(    |\t)/) emit($0)
		else spans($0)
		next
	}
	{ # a man page: roff escapes out; .B/.I etc. lines keep their text
		l = $0
		gsub(/\\f[BIRP]|\\f\(..|\\&/, "", l); gsub(/\\-/, "-", l); gsub(/\\\(aq/, "\047", l)
		gsub(/\\e/, "\\", l); gsub(/\\\(em|\\\(en/, "-", l)
		if (l ~ /^\.\\"/) next
		if (l ~ /^\.[A-Z][A-Z]?( |$)/) sub(/^\.[A-Z][A-Z]?[ \t]*/, "", l)
		gsub(/"/, "", l)
		gsub(/[ \t]+[,.:]+([ \t]|$)/, " ", l) # .BR "make deploy" , : punctuation
		emit(l)
	}' "$f"
done >"$tmp/cmds"

n=$(wc -l <"$tmp/cmds")
[ "$n" -gt 0 ] || fail "no make deploy / make undeploy command found in README.md and docs/ (did they move?)"

# Dry run of make's arguments as sudo would pass them: a reset environment.
# DESTDIR (last, so it wins) is a guard: should the dry-run hook be missing,
# deploy and undeploy refuse at once instead of acting on this machine.
dry() { env -i PATH="$PATH" PR_DEPLOY_DRY_RUN=1 $MAKE --no-print-directory -s "$@" DESTDIR="$tmp/not-for-real" 2>&1; }
# The dry-run line scripts/deploy must print for these make arguments.
expect() {
	t="" inst="" pf="" rc_="" ae="" pg=""
	for w in "$@"; do
		case "$w" in
		deploy|undeploy) t=$w ;;
		INSTANCE=*|STACK_NAME=*) inst=${w#*=} ;;
		PARAMS_FILE=*) pf=${w#*=} ;;
		REPLACE_CONFIG=*) rc_=${w#*=} ;;
		ALLOW_EXAMPLE_CONFIG=*) ae=${w#*=} ;;
		PURGE=*) pg=${w#*=} ;;
		esac
	done
	if [ -n "$inst" ]; then u="personalize-retrain@$inst.service" nm=$inst; else u=personalize-retrain.service nm=parameters; fi
	src=${pf:-parameters.cfg}
	case "$src" in *.yaml|*.yml) ext=${src##*.} ;; *) ext=cfg ;; esac
	if [ "$t" = undeploy ]; then
		echo "undeploy: dry run: unit=$u config=/etc/personalize-retrain/$nm.$ext purge=${pg:-0}"
	else
		echo "deploy: dry run: unit=$u config=/etc/personalize-retrain/$nm.$ext source=$src replace_config=${rc_:-0} allow_example_config=${ae:-0}"
	fi
}

set -f # the words of a command are not globbed
tab=$(printf '\t')
while IFS="$tab" read -r file line cmd; do
	where="$file:$line"
	# shellcheck disable=SC2086 # split into words on purpose
	set -- $cmd
	before="" args="" seen_make=0 bad=""
	for w in "$@"; do
		if [ "$seen_make" -eq 0 ]; then
			if [ "$w" = make ]; then seen_make=1; continue; fi
			before="$before $w"
			case "$w" in
			[A-Za-z_]*=*) case "${w%%=*}" in *[!A-Za-z0-9_]*) ;; *) bad="$bad $w" ;; esac ;;
			esac
			continue
		fi
		# A placeholder value: a sample one in its place.
		case "$w" in
		*=*...* | *=*'<'* | *=*'>'* | *=*'$'* | *=*'*'*)
			case "${w%%=*}" in
			INSTANCE|STACK_NAME) w="${w%%=*}=docs-example" ;;
			PARAMS_FILE) w="PARAMS_FILE=docs-example.cfg" ;;
			*) w="${w%%=*}=1" ;;
			esac
			;;
		esac
		args="$args $w"
	done
	# shellcheck disable=SC2086
	set -- $args
	if [ -n "$bad" ]; then
		sudo=""
		case " $before " in *" sudo "*) sudo="sudo " ;; esac
		got=$(dry "$@" | grep 'dry run:' || true)
		# shellcheck disable=SC2086
		fail "$where: '$cmd': $(echo $bad) before make: sudo's env_reset drops it (or sudoers refuses it); write: ${sudo}make $(echo $args $bad). With it dropped, this deploys: ${got#*dry run: }"
		continue
	fi
	out=$(dry "$@") || { fail "$where: '$cmd': make $* (dry run) failed: $out"; continue; }
	want=$(expect "$@")
	got=$(printf '%s\n' "$out" | grep 'dry run:' || true)
	if [ "$got" != "$want" ]; then
		fail "$where: '$cmd': the variables do not arrive as given: got '$got', want '$want'"
		continue
	fi
	ran=$((ran + 1))
done <"$tmp/cmds"
set +f

echo "deploy docs: $n make deploy/undeploy commands in README.md and docs/, $ran resolved as written"
[ "$fails" -eq 0 ] || { echo "deploy docs: $fails failure(s)"; exit 1; }
echo "deploy docs: ok"
