#!/bin/sh
# test_docs.sh - the man pages render without a single groff warning, every
# config key of the table (as --help prints it) is in
# personalize-retrain.cfg(5), every option and command in
# personalize-retrain(8), and the README's quick start is the two commands.
#
# run-tests: duration=1
set -u
BIN="${BUILD_DIR:?BUILD_DIR not set}/personalize-retrain"
CFG5=docs/personalize-retrain.cfg.5
MAN8=docs/personalize-retrain.8
command -v groff >/dev/null 2>&1 || { echo "groff is not installed (scripts/install-deps installs groff-base)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

SVC8=docs/personalize-retrain.service.8
for page in docs/*.5 docs/*.8; do
	out=$(groff -ww -z -man "$page" 2>&1)
	[ -z "$out" ] || fail "groff -ww -z -man $page printed: $out"
	sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page" >"$tmp/$(basename "$page").txt"
done

"$BIN" --help >"$tmp/help" || fail "--help failed"
# keys: the lines after "Config keys" that start with two blanks and a name
sed -n '/^Config keys/,$p' "$tmp/help" | sed -n 's/^  \([A-Za-z0-9][A-Za-z0-9]*\) .*/\1/p' >"$tmp/keys"
nkeys=$(wc -l <"$tmp/keys")
[ "$nkeys" -ge 20 ] || fail "only $nkeys keys found in --help"
while read -r k; do
	grep -qw "$k" "$tmp/personalize-retrain.cfg.5.txt" || fail "key $k missing from $CFG5"
done <"$tmp/keys"

# options and commands: everything --help lists
sed -n '/^Options:/,/^Commands:/p' "$tmp/help" | grep -o -- '--[a-z-]*\|-[a-zA-Z]\b' | sort -u >"$tmp/opts"
sed -n '/^Commands:/,/^Exit status/p' "$tmp/help" | grep -o -- '--[a-z-]*\|-[a-zA-Z]\b' | sort -u >>"$tmp/opts"
sed -n '/^Commands:/,/^Exit status/p' "$tmp/help" | sed -n 's/^  \([a-z][a-z]*\).*/\1/p' >"$tmp/cmds"
[ "$(wc -l <"$tmp/cmds")" -ge 2 ] || fail "no commands in --help"
[ "$(wc -l <"$tmp/opts")" -ge 8 ] || fail "too few options in --help"
while read -r o; do
	grep -qF -- "$o" "$tmp/personalize-retrain.8.txt" || fail "option $o missing from $MAN8"
done <"$tmp/opts"
while read -r c; do
	grep -q "^\.B $c\$\|^\.B $c " "$tmp/personalize-retrain.8.txt" || fail "command $c not described in $MAN8"
done <"$tmp/cmds"
for code in 0 1 2 69 70 78; do
	grep -q "^\.B $code\$" "$tmp/personalize-retrain.8.txt" || fail "exit code $code missing from $MAN8"
done

# README: the quick start is exactly `make demo` and `make check`
# Every journal field the program sends is documented in the units' page.
grep -ohE '"[A-Z][A-Z0-9_]{2,}=' src/*.c include/msgid.h | tr -d '"' | sort -u |
	grep -vE '^(STATUS|READY|RELOADING|STOPPING|WATCHDOG|MONOTONIC_USEC|ERRNO|MAINPID)=$' >"$tmp/fields"
[ "$(wc -l <"$tmp/fields")" -ge 10 ] || fail "only $(wc -l <"$tmp/fields") journal fields found in src"
while read -r fld; do
	grep -q "^\.BR\{0,1\} .*\b$fld" "$tmp/personalize-retrain.service.8.txt" || fail "journal field $fld not documented in $SVC8"
done <"$tmp/fields"
# Every environment variable the program reads (AWS_*, CREDENTIALS_DIRECTORY,
# LOG_LEVEL) is in ENVIRONMENT of the program's page, before its test hooks;
# the test hooks are all under that subsection.
sed -n '/^\.SH ENVIRONMENT/,/^\.SS "Test hooks/p' "$tmp/personalize-retrain.8.txt" >"$tmp/env"
sed -n '/^\.SS "Test hooks/,/^\.SH /p' "$tmp/personalize-retrain.8.txt" >"$tmp/testenv"
[ -s "$tmp/testenv" ] || fail "no .SS \"Test hooks ...\" subsection in ENVIRONMENT of $MAN8"
{ grep -ohE '"AWS_[A-Z0-9_]*[A-Z0-9]"' src/*.c include/*.h | tr -d '"'; echo CREDENTIALS_DIRECTORY; echo LOG_LEVEL; } | sort -u >"$tmp/envvars"
while read -r v; do
	grep -qw "$v" "$tmp/env" || fail "environment variable $v not in ENVIRONMENT of $MAN8"
done <"$tmp/envvars"
grep -ohE 'PERSONALIZE_RETRAIN_TEST_[A-Z_]+' src/*.c include/*.h | sort -u | while read -r v; do
	grep -qw "$v" "$tmp/testenv" || echo "$v"
done >"$tmp/badtest"
[ ! -s "$tmp/badtest" ] || fail "test hooks outside the Test hooks subsection of $MAN8: $(cat "$tmp/badtest")"
# Every man page the units and the catalog point to is one of ours, installed.
grep -ohE 'man:[a-z.-]+\([0-9]\)' systemd/*.in systemd/*.catalog | sort -u | while read -r m; do
	p=${m#man:}; n=${p%(*}; sec=${p#*(}; sec=${sec%)}
	[ -f "docs/$n.$sec" ] || echo "$m"
done >"$tmp/badman"
[ ! -s "$tmp/badman" ] || fail "units or catalog point to pages not in docs/: $(cat "$tmp/badman")"
grep -q 'man:personalize-retrain.service(8)' systemd/personalize-retrain.catalog || fail "the catalog does not point to personalize-retrain.service(8)"
for p in docs/*.5 docs/*.8; do
	make -s --no-print-directory install-files-list | grep -q "/man${p##*.}/${p##*/}\$" || fail "make install does not install $p"
done

if [ -f README.md ]; then
	sed -n '/^## Quick start/,/^## /p' README.md | grep '^\$ \|^    \$ ' >"$tmp/qs" || true
	printf '$ make demo\n$ make check\n' | cmp -s - "$tmp/qs" || fail "README quick start is not exactly make demo, make check: $(cat "$tmp/qs")"
else
	fail "no README.md"
fi

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "docs: all passed ($nkeys keys, $(wc -l <"$tmp/opts") options, $(wc -l <"$tmp/cmds") commands)"
