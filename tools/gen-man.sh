#!/bin/bash
# make man: one man page per verb (layerctl-VERB.1) and layerctl.1, generated from the help
# texts the binary prints, so that they never disagree with it.
#   tools/gen-man.sh LAYERCTL OUTDIR
set -euo pipefail
LC=$1 OUT=$2
mkdir -p "$OUT"
version=$("$LC" --version | awk '{print $NF}')

# roff-safe text: backslashes, and lines that would start a request
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# page NAME TITLE HELP_TEXT
page() {
	local name=$1 summary=$2 help=$3 upper
	upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
	{
		printf '.TH %s 1 "" "layerctl %s" "layerctl manual"\n' "$upper" "$version"
		printf '.SH NAME\n%s \\- %s\n' "$name" "$(esc <<<"$summary")"
		printf '.SH SYNOPSIS\n.nf\n'
		grep -E '^(Usage: | {8}layerctl )' <<<"$help" | sed -E 's/^Usage: +//; s/^ +//' | esc
		printf '.fi\n.SH DESCRIPTION\n.nf\n'
		grep -vE '^(Usage: | {8}layerctl )' <<<"$help" | sed '1{/^$/d}' | esc
		printf '.fi\n'
		[[ $name == layerctl ]] || printf '.SH SEE ALSO\nlayerctl(1)\n'
	} >"$OUT/$name.1"
}

main_help=$("$LC" --help)
page layerctl "pull OCI images into a content-addressable store and run them" "$main_help"
# the verbs, from the Commands list of the main help
sed -n '/^Commands:/,/^$/p' <<<"$main_help" | grep -E '^  [a-z]' | while read -r verb summary; do
	help=$("$LC" "$verb" --help 2>&1) || help=$("$LC" help "$verb" 2>&1) || true
	page "layerctl-$verb" "$summary" "$help"
done
echo "man pages in $OUT: $(ls "$OUT" | wc -l)"
