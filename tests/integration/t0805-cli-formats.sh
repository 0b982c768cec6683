#!/bin/bash
# The CLI a docker user's fingers expect: --format with docker's Go-template subset on every
# listing: ps, images, stats, history, volume ls, du (a table prefix prints docker's headers), images REPOSITORY[:TAG],
# help VERB, --platform with an architecture alone, bash completion, man pages from the help.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_root
require_layerctl

plan 27

start_registry
push_images busybox nginx
L() { "$LAYERCTL" --root "$ROOT" "$@"; }
L pull -q "$REG/busybox" >/dev/null
L pull -q "$REG/nginx" >/dev/null
id=$(L run -d --name fmt1 "$REG/busybox" sleep 60)
at_cleanup "$LAYERCTL" --root "$ROOT" rm -f "$id"

is "$(L ps --format '{{.Names}} {{.Image}}')" "fmt1 $REG/busybox" "ps --format with a template"
is "$(L ps --format 'table {{.ID}}\t{{.Names}}' | sed 's/  */ /g')" "CONTAINER ID NAMES
${id:0:12} fmt1" "ps --format 'table ...': docker's headers, aligned"
like "$(L ps --format '{{json .}}')" '^\{"ID":"'"${id:0:12}"'",.*"Names":"fmt1"\}$' "{{json .}}"
is "$(L ps --format '{{upper .Names}}')" "FMT1" "{{upper .Names}}"
hist=$(L history --format '{{.ID}}|{{.Size}}|{{.CreatedBy}}' "$REG/busybox")
is "$(head -1 <<<"$hist" | cut -d'|' -f1)" "$(L images -q "$REG/busybox")" "history --format: the newest entry is the image"
is "$(wc -l <<<"$hist")" "$(L history -q "$REG/busybox" | wc -l)" "one line per history entry"
like "$(L history --format json "$REG/busybox" | head -1)" '^\{"ID":"[0-9a-f]{12}",.*"CreatedBy":.*"Size":"[0-9.]+[kMG]?B"' "history --format json"
L volume create fmtvol >/dev/null
is "$(L volume ls --format '{{.Name}} {{.Driver}} {{.Mountpoint}}')" "fmtvol local $ROOT/volumes/fmtvol/_data" \
	"volume ls --format with a template"
like "$(L volume ls --format json)" '^\{"Driver":"local",.*"Name":"fmtvol","Scope":"local"\}$' "volume ls --format json"
L volume rm fmtvol >/dev/null
is "$(L du --format '{{.Type}}:{{.TotalCount}}' | tr '\n' ' ')" "Images:2 Containers:1 Local Volumes:0 " \
	"du --format with a template: the summary's rows"
is "$(L images --format '{{.Repository}}:{{.Tag}}' | sort)" "$REG/busybox:latest
$REG/nginx:latest" "images --format with a template"
is "$(L images --format 'table {{.Repository}}\t{{.ID}}' | head -1 | sed 's/  */ /g')" "REPOSITORY IMAGE ID" \
	"images' table: IMAGE ID"
is "$(L images --format '{{.Repository}}' "$REG/nginx")" "$REG/nginx" "images REPOSITORY filters"
is "$(L images --format '{{.Repository}}' "$REG/nginx:latest")" "$REG/nginx" "images REPOSITORY:TAG too"
is "$(L images -q "$REG/nosuch")" "" "and an unknown one lists nothing"
rc=0; out=$(L ps --format '{{range .}}x{{end}}' 2>&1) || rc=$?
is "$rc" 1 "an action layerctl does not know is an error (1, as docker's)"
like "$out" "unsupported action '\{\{range \.\}\}'" "naming it"
rc=0; out=$(L images --format '{{.Bogus}}' 2>&1) || rc=$?
is "$rc:$(head -1 <<<"$out")" "0:<no value>" "a missing field is Go's <no value>"

is "$(L help top)" "$(L top --help)" "help VERB prints the verb's help"
rc=0; L help nosuchverb >/dev/null 2>&1 || rc=$?
is "$rc" 1 "help of an unknown topic is an error (1, as docker's)"

rc=0; out=$(L pull --platform arm64 "$REG/busybox" 2>&1) || rc=$?
like "$rc $out" "^1 .*wanted linux/arm64, actual: linux/" "--platform arm64 is linux/arm64 (a platform mismatch, not a bad flag)"
rc=0; out=$(L pull --platform linux "$REG/busybox" 2>&1) || rc=$?
like "$rc $out" "^1 .*invalid platform 'linux'" "an os alone is not a platform"

comp=$(L completion bash)
ok -m "completion bash is valid bash" bash -n <<<"$comp"
is "$(bash -c 'source /dev/stdin; complete -p layerctl' <<<"$comp")" "complete -F _layerctl layerctl" "and registers itself"
like "$comp" "compgen -W 'help version pull images run .* top diff stats completion'" "completing every verb"

rm -rf "$TMPD/man"
ok -m "man pages from the help texts" "$TOP/tools/gen-man.sh" "$LAYERCTL" "$TMPD/man"
like "$(MANWIDTH=100 man -l "$TMPD/man/layerctl-top.1" 2>/dev/null | tr -s ' \n' '  ')" \
	"NAME layerctl-top - Display the running processes.*SYNOPSIS layerctl top CONTAINER" "one per verb, readable by man"

done_testing
