#!/bin/sh
# comment_history.sh - no issue numbers or history in the code's comments.
#
# A comment says what the code does and why, for a reader who never saw the
# issues, the reviews or earlier versions of the code. This greps the code
# (src, include, tests, scripts, systemd, mk, .ci, the Makefile: the files
# git tracks there, or every file there when the tree is not a git
# checkout) for a few phrases that are always history, and prints each hit
# as file:line: text. Exit 0: none; 1: some (rewrite them to say what the
# code does now and why). The fuzz corpus (arbitrary input bytes) and this
# file are not searched.
#
# run-tests: duration=1
set -u
cd "$(dirname "$0")/../.." || exit 1
self=tests/integration/comment_history.sh
dirs="src include tests scripts systemd mk .ci Makefile"

# Always history, case-insensitive, one extended regex each:
#   issue 8, issue-8, issue #8, ticket 12   an issue or ticket by number
#   (#6), see #12, #3:                      #N after a blank, '(' or '['
#   the issue's                             quoting or paraphrasing an issue
#   review finding                          a review's outcome
#   as before                               a change described, not the code
#   this session                            the session that wrote the code
#                                           (not "this session token")
patterns='(^|[^[:alnum:]_])(issue|ticket)[ -]?#?[0-9]+
(^|[[:space:]([])#[0-9]+([^[:alnum:]_#]|$)
the issue'"'"'s
review finding
as before
this session([^ _-]|[ _-][^tT]|$)'

list() {
	files=
	if command -v git >/dev/null 2>&1 &&
	   git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		# shellcheck disable=SC2086
		files=$(git ls-files -- $dirs 2>/dev/null)
	fi
	if [ -n "$files" ]; then
		printf '%s\n' "$files"
	else
		for d in $dirs; do
			[ -e "$d" ] && find "$d" -type f
		done
	fi
}

hits=$(list | grep -v -e "^$self\$" -e '^tests/fuzz/corpus/' |
	while IFS= read -r f; do
		[ -f "$f" ] && printf '%s\n' "$f"
	done | tr '\n' '\0' |
	xargs -0 grep -I -H -n -i -E -e "$patterns" -- 2>/dev/null)

if [ -n "$hits" ]; then
	printf '%s\n' "$hits" | sed 's/^\([^:]*:[0-9]*\):/\1: /'
	echo "FAIL: $(printf '%s\n' "$hits" | wc -l | tr -d ' ') comment line(s) refer to issues, reviews, sessions or earlier code"
	exit 1
fi
echo "PASS: no issue numbers or history phrases in the code's comments"
exit 0
