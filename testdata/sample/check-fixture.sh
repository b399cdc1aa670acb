#!/bin/sh
# check-fixture.sh [-c] [TASK...]: check the sample bank against the sample repository.
#
# For each task (default: all of bank/tasks), on a copy of the base tree (branch main
# of the repository mkrepo.sh builds) with the task's hidden files copied in:
#   - the hidden tests must compile and the run must fail (a partial-credit task must
#     have no hidden test passing, or the base would earn points);
#   - with the task's reference.patch applied, every listed test must pass.
# It also checks the bank's layout rules (hidden files listed and present, test names
# declared in the hidden files) and that the base passes go vet and its own tests.
#
# With -c it then grades every candidate/* branch the way the grader does (hidden
# files in, restore paths from main, the task's timeout) and prints, per branch, each
# task's status and points and each exam's total: the numbers of EXPECTED.md.
#
# This runs the fixture's code on the host: use it on the trusted sample only.
# Needs git, go, node, opa and jest. GO, NODE, OPA and JEST name other binaries; the task's own timeout
# applies to each run (coreutils timeout).
set -eu

GO=${GO:-go}
NODE=${NODE:-node}
OPA=${OPA:-opa}
JEST=${JEST:-jest}
GOTOOLCHAIN=local
GOFLAGS=-mod=readonly
export GOTOOLCHAIN GOFLAGS

candidates=false
if [ "${1:-}" = "-c" ]; then
	candidates=true
	shift
fi

here=$(cd "$(dirname "$0")" && pwd)
bank=$here/bank
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# git apply in a scratch tree must not find a repository above it.
GIT_CEILING_DIRECTORIES=$(dirname "$tmp")
export GIT_CEILING_DIRECTORIES
problems=0

problem() {
	echo "FAIL $*"
	problems=$((problems + 1))
}

# yval KEY FILE: a scalar of a task.yaml, unquoted.
yval() {
	sed -n "s/^$1:[[:space:]]*//p" "$2" | sed 's/^"\(.*\)"$/\1/'
}

# ylist KEY FILE: the items of a list of a task.yaml ([a, b] or "- a" lines), one a line.
ylist() {
	awk -v key="$1" '
	function unq(v) {
		sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
		if (v ~ /^".*"$/ || v ~ /^'\''.*'\''$/) v = substr(v, 2, length(v) - 2)
		return v
	}
	inlist && /^[ \t]*- / { v = $0; sub(/^[ \t]*- /, "", v); print unq(v); next }
	inlist { exit }
	index($0, key ":") == 1 {
		rest = substr($0, length(key) + 2)
		sub(/^[ \t]+/, "", rest)
		if (rest ~ /^\[/) {
			sub(/^\[/, "", rest); sub(/\][ \t]*$/, "", rest)
			n = split(rest, items, ",")
			for (i = 1; i <= n; i++) if (unq(items[i]) != "") print unq(items[i])
			exit
		}
		inlist = 1
	}' "$2"
}

# seconds DURATION: a Go duration of whole seconds or minutes, in seconds.
seconds() {
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo 120 ;;
	esac
}

# runtests DIR TASKDIR: run a task's hidden tests in DIR, with its timeout. Prints
# "STATUS PASSED TOTAL" (STATUS: ok, failed, build-failed, timed-out); the runner's
# output is left in $tmp/out.
runtests() {
	yml=$2/task.yaml
	runner=$(yval runner "$yml")
	limit=$(seconds "$(yval timeout "$yml")")
	ylist tests "$yml" >"$tmp/tests"
	pkgs=$(ylist packages "$yml")
	total=$(wc -l <"$tmp/tests" | tr -d ' ')
	rc=0
	if [ "$runner" = js ]; then
		# shellcheck disable=SC2086 # test file paths hold no spaces
		(cd "$1" && timeout -k 5 "$limit" "$NODE" --test --test-reporter=tap $pkgs) >"$tmp/out" 2>&1 || rc=$?
		# top-level TAP results: "ok N - name"; a skipped test is not a pass
		grep -v -e ' # SKIP' -e ' # TODO' "$tmp/out" | sed -n 's/^ok [0-9]* - //p' >"$tmp/passed" || true
	elif [ "$runner" = jest ]; then
		# shellcheck disable=SC2086 # test file paths hold no spaces
		(cd "$1" && timeout -k 5 "$limit" "$JEST" --ci --json --runTestsByPath $pkgs) >"$tmp/out" 2>/dev/null || rc=$?
		# passed tests, named "describe > test" as the grader names them
		"$NODE" -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{for(const f of JSON.parse(s).testResults)for(const a of f.assertionResults)if(a.status==="passed")console.log([...a.ancestorTitles,a.title].join(" > "))})' <"$tmp/out" >"$tmp/passed" || true
	elif [ "$runner" = opa ]; then
		# shellcheck disable=SC2086 # policy paths hold no spaces
		(cd "$1" && timeout -k 5 "$limit" "$OPA" test --format=json --exit-zero-on-skipped $pkgs $(ylist hidden "$yml")) >"$tmp/out" 2>&1 || rc=$?
		# each test case: "package": "data.p", "name": "test_x", then "fail" if it failed
		tr -d '\n ' <"$tmp/out" | sed 's/},{"location"/\n/g' | grep -v -e '"fail":true' -e '"error":' -e '"skip":true' |
			sed -n 's/.*"package":"\([^"]*\)","name":"\([^"]*\)".*/\1.\2/p' >"$tmp/passed" || true
	else
		re=$(sed 's,/.*,,' "$tmp/tests" | sort -u | paste -sd'|' -)
		# shellcheck disable=SC2086 # package patterns hold no spaces
		(cd "$1" && timeout -k 5 "$limit" "$GO" test -json -count=1 -run "^($re)\$" $pkgs) >"$tmp/out" 2>&1 || rc=$?
		grep -F '"Action":"pass"' "$tmp/out" | sed -n 's/.*"Test":"\([^"]*\)".*/\1/p' >"$tmp/passed" || true
	fi
	passed=0
	while IFS= read -r name; do
		if grep -qxF -- "$name" "$tmp/passed"; then
			passed=$((passed + 1))
		fi
	done <"$tmp/tests"
	status=failed
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		status=timed-out
	elif [ "$runner" = go ] && grep -qE '"Action":"build-fail"|\[build failed\]|\[setup failed\]' "$tmp/out"; then
		status=build-failed
	elif [ $rc -eq 0 ] && [ "$passed" -eq "$total" ]; then
		status=ok
	fi
	echo "$status $passed $total"
}

# result STATUS PASSED TOTAL: split runtests' answer into $st, $pa and $to. Callers
# pass $(runtests ...) unquoted, on purpose.
result() {
	st=$1 pa=$2 to=$3
}

# overlay DIR TASKDIR [REF]: copy the task's hidden files into DIR and, with REF,
# restore its restore paths from that commit.
overlay() {
	for f in $(ylist hidden "$2/task.yaml"); do
		mkdir -p "$1/$(dirname "$f")"
		cp "$2/hidden/$f" "$1/$f"
	done
	if [ $# -eq 3 ]; then
		for f in $(ylist restore "$2/task.yaml"); do
			git -C "$tmp/fork.git" show "$3:$f" >"$1/$f"
		done
	fi
}

# export REF DIR: the tree of REF in DIR.
export_tree() {
	rm -rf "$2" && mkdir -p "$2"
	git -C "$tmp/fork.git" archive "$1" | tar -x -C "$2"
}

# layout TASKDIR: the bank rules the loader enforces, checked for one task.
layout() {
	id=$(basename "$1")
	[ "$(yval id "$1/task.yaml")" = "$id" ] || problem "$id: id is not the folder name"
	[ -s "$1/reference.patch" ] || problem "$id: reference.patch missing or empty"
	ylist hidden "$1/task.yaml" | sort >"$tmp/listed"
	(cd "$1/hidden" && find . -type f | sed 's,^\./,,' | sort) >"$tmp/present"
	cmp -s "$tmp/listed" "$tmp/present" || problem "$id: hidden/ does not hold exactly the listed files"
	ylist tests "$1/task.yaml" | sed 's,/.*,,' >"$tmp/names"
	runner=$(yval runner "$1/task.yaml")
	while IFS= read -r name; do
		if [ "$runner" = opa ]; then
			rule=${name##*.}
			grep -rqE "^[[:space:]]*$rule\b" "$1/hidden" || problem "$id: rule $rule not in a hidden file"
		elif [ "$runner" = js ]; then
			grep -rqF -e "'$name'" -e "\"$name\"" "$1/hidden" || problem "$id: test \"$name\" not in a hidden file"
		elif [ "$runner" = jest ]; then
			echo "$name" | sed 's/ > /\n/g' | while IFS= read -r part; do
				grep -rqF -e "'$part'" -e "\"$part\"" "$1/hidden" || problem "$id: title \"$part\" not in a hidden file"
			done
		else
			grep -rqF "func $name(" "$1/hidden" || problem "$id: func $name( not in a hidden file"
		fi
	done <"$tmp/names"
}

"$here/mkrepo.sh" "$tmp/fork.git" >/dev/null

echo "== base: go vet, visible tests"
export_tree main "$tmp/base"
(cd "$tmp/base" && "$GO" vet ./... && "$GO" test -count=1 ./... >"$tmp/visible" 2>&1) ||
	{ cat "$tmp/visible" 2>/dev/null; problem "base: go vet or go test failed"; }
(cd "$tmp/base/ui" && "$NODE" --test >"$tmp/visible" 2>&1) ||
	{ cat "$tmp/visible"; problem "base: ui tests failed"; }

if [ $# -eq 0 ]; then
	for d in "$bank"/tasks/*/; do
		d=${d%/}
		set -- "$@" "${d##*/}"
	done
fi

echo "== tasks: base must fail, reference must pass"
for id in "$@"; do
	tdir=$bank/tasks/$id
	[ -f "$tdir/task.yaml" ] || { problem "$id: no task.yaml"; continue; }
	layout "$tdir"
	export_tree main "$tmp/t"
	overlay "$tmp/t" "$tdir"
	# shellcheck disable=SC2046
	result $(runtests "$tmp/t" "$tdir")
	base="$st $pa/$to"
	if [ "$st" != failed ]; then
		problem "$id: on the base the run is $st, want failed"
		sed -n 1,40p "$tmp/out"
	elif [ "$(yval scoring "$tdir/task.yaml")" = partial ] && [ "$pa" -ne 0 ]; then
		problem "$id: partial task has $pa hidden tests passing on the base"
	fi
	(cd "$tmp/t" && git apply "$tdir/reference.patch") || { problem "$id: reference.patch does not apply"; continue; }
	# shellcheck disable=SC2046
	result $(runtests "$tmp/t" "$tdir")
	[ "$st" = ok ] || { problem "$id: with the reference the run is $st ($pa/$to passed)"; sed -n 1,40p "$tmp/out"; }
	printf '%-22s base: %-12s reference: %s %s/%s\n' "$id" "$base" "$st" "$pa" "$to"
done

if $candidates; then
	for ref in $(git -C "$tmp/fork.git" for-each-ref --format='%(refname:short)' 'refs/heads/candidate/*'); do
		echo "== $ref"
		: >"$tmp/exams"
		for tdir in "$bank"/tasks/*/; do
			tdir=${tdir%/}
			yml=$tdir/task.yaml
			export_tree "$ref" "$tmp/t"
			overlay "$tmp/t" "$tdir" main
			# shellcheck disable=SC2046
			result $(runtests "$tmp/t" "$tdir")
			points=$(yval points "$yml")
			got=0
			if [ "$st" = ok ]; then
				got=$points
			elif [ "$st" = failed ] && [ "$(yval scoring "$yml")" = partial ]; then
				got=$(awk "BEGIN{print $points*$pa/$to}")
			fi
			printf '  %-14s %-22s %-13s %s/%s tests  %s of %s points\n' \
				"$(yval exam "$yml")" "$(basename "$tdir")" "$st" "$pa" "$to" "$got" "$points"
			echo "$(yval exam "$yml") $got $points" >>"$tmp/exams"
		done
		awk '{got[$1] += $2; max[$1] += $3; all += $2; top += $3}
			END {for (e in got) printf "  exam %-14s %s of %s (%.1f%%)\n", e, got[e], max[e], 100*got[e]/max[e]
				printf "  total %s of %s\n", all, top}' "$tmp/exams" | sort
	done
fi

if [ $problems -ne 0 ]; then
	echo "$problems problem(s)"
	exit 1
fi
echo "fixture ok"
