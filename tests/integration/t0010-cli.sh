#!/bin/bash
# The CLI's contract with scripts: usage errors, help, bad references, exit codes, all as
# docker 28 has them: 125 for a flag it cannot parse, 1 for a wrong number of arguments or an
# unknown command, the error on the first line, then the verb's usage line.
. "$(dirname "$0")/../lib.sh"

plan 25

rc=0; out=$("$LAYERCTL" --help) || rc=$?
is "$rc" 0 "layerctl --help exits 0"
like "$out" "Commands:" "--help lists the commands"

for verb in pull images run; do
	rc=0; out=$("$LAYERCTL" "$verb" --help) || rc=$?
	is "$rc" 0 "$verb --help exits 0"
done

rc=0; out=$("$LAYERCTL" frobnicate 2>&1) || rc=$?
is "$rc" 1 "an unknown verb: 1, as docker's"
is "$out" "layerctl: unknown command: layerctl frobnicate"$'\n\n'"Run 'layerctl --help' for more information" \
	"docker's words"
rc=0; out=$("$LAYERCTL") || rc=$?
is "$rc/$(head -1 <<<"$out")" "0/Usage:  layerctl [OPTIONS] COMMAND" "no verb: the help on stdout, 0"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull Nginx 2>&1) || rc=$?
is "$rc" 1 "an uppercase repository is refused"
like "$out" "must be lowercase" "the error says why"

rc=0; out=$("$LAYERCTL" --root "$ROOT" pull 'nginx:' 2>&1) || rc=$?
like "$out" "^layerctl: pull 'nginx:': invalid reference format" "a bad reference: one clear line"

rc=0; out=$("$LAYERCTL" --root "$ROOT" run --rm 2>&1) || rc=$?
is "$rc" 1 "run without an image: a wrong number of arguments, 1 as docker's"
is "$out" "layerctl: 'layerctl run' requires at least 1 argument"$'\n\n'"Usage:  layerctl run [OPTIONS] IMAGE [COMMAND] [ARG...]"$'\n\n'"See 'layerctl run --help' for more information" \
	"the error, the usage line, where to read more"

rc=0; out=$("$LAYERCTL" --root "$ROOT" images) || rc=$?
is "$rc" 0 "images on an empty store works"
is "$(printf '%s\n' "$out" | wc -l)" 1 "and shows only the header"
rc=0; "$LAYERCTL" --debug --root "$ROOT" images >/dev/null || rc=$?
is "$rc" 0 "--debug is accepted before the verb"

rc=0; out=$("$LAYERCTL" --root "$ROOT" images --bogus 2>&1) || rc=$?
is "$rc" 125 "an unknown flag: 125 on every verb, as docker's"
is "$out" "layerctl: unknown flag: --bogus"$'\n\n'"Usage:  layerctl images [OPTIONS] [REPOSITORY[:TAG]]"$'\n\n'"Run 'layerctl images --help' for more information" \
	"named on the first line, docker's way"
rc=0; out=$("$LAYERCTL" --root "$ROOT" ps -Z 2>&1) || rc=$?
is "$rc/$(head -1 <<<"$out")" "125/layerctl: unknown shorthand flag: 'Z' in -Z" "a short flag too"
rc=0; out=$("$LAYERCTL" --root "$ROOT" run -e 2>&1) || rc=$?
is "$rc" 125 "run's flag errors are 125"
like "$out" "flag needs an argument: 'e' in -e" "a flag without its value is named"
rc=0; out=$("$LAYERCTL" --root "$ROOT" stop -t abc x 2>&1) || rc=$?
is "$rc/$(head -1 <<<"$out")" "125/layerctl: invalid --time 'abc'" "a flag's value that does not parse: 125"
rc=0; out=$("$LAYERCTL" --root "$ROOT" rm 2>&1) || rc=$?
is "$rc/$(sed -n 3p <<<"$out")" "1/Usage:  layerctl rm [OPTIONS] CONTAINER [CONTAINER...]" \
	"rm without a container: 1, with rm's usage line"
rc=0; out=$("$LAYERCTL" --root "$ROOT" image frob 2>&1) || rc=$?
is "$rc/$(head -1 <<<"$out")" "1/layerctl: unknown command: layerctl image frob" "an unknown subcommand"
rc=0; out=$("$LAYERCTL" --root "$ROOT" volume) || rc=$?
is "$rc/$(head -1 <<<"$out")" "0/Usage:  layerctl volume COMMAND" "a group alone prints its help, 0"

done_testing
