#!/bin/bash
# The CLI's contract with scripts: usage errors, help, bad references, exit codes.
. "$(dirname "$0")/../lib.sh"

plan 17

rc=0; out=$("$LAYERCTL" --help) || rc=$?
is "$rc" 0 "layerctl --help exits 0"
like "$out" "Commands:" "--help lists the commands"

for verb in pull images run; do
	rc=0; out=$("$LAYERCTL" "$verb" --help) || rc=$?
	is "$rc" 0 "$verb --help exits 0"
done

rc=0; out=$("$LAYERCTL" frobnicate 2>&1) || rc=$?
is "$rc" 2 "an unknown verb is a usage error (2)"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull Nginx 2>&1) || rc=$?
is "$rc" 1 "an uppercase repository is refused"
like "$out" "must be lowercase" "the error says why"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull 'nginx:' 2>&1) || rc=$?
like "$out" "^layerctl: pull 'nginx:': invalid reference format" "a bad reference: one clear line"

rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm 2>&1) || rc=$?
is "$rc" 125 "run without an image fails with docker's 125"

rc=0; out=$("$LAYERCTL" --root "$ROOT" images) || rc=$?
is "$rc" 0 "images on an empty store works"
is "$(printf '%s\n' "$out" | wc -l)" 1 "and shows only the header"
rc=0; "$LAYERCTL" --debug --root "$ROOT" images >/dev/null || rc=$?
is "$rc" 0 "--debug is accepted before the verb"

rc=0; out=$("$LAYERCTL" --root "$ROOT" images --bogus 2>&1) || rc=$?
is "$rc" 2 "an unknown flag is a usage error"
is "$out" "layerctl images: unknown flag: '--bogus'"$'\n'"See 'layerctl images --help'." \
	"named in one line, docker's way"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run -e 2>&1) || rc=$?
is "$rc" 125 "run's usage errors are 125, as docker's"
like "$out" "flag needs an argument: '-e'" "a flag without its value is named"

done_testing
