/* SPDX-License-Identifier: MIT */
/* completion: `layerctl completion bash`, a bash completion script (source it, or install it). */
#include <string.h>

#include "cmd.h"

static const char bash_script[] =
	"# bash completion for layerctl: source <(layerctl completion bash)\n"
	"_layerctl() {\n"
	"\tlocal cur prev words cword i verb='' root=()\n"
	"\t_init_completion 2>/dev/null || {\n"
	"\t\tcur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	"\t\twords=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD\n"
	"\t}\n"
	"\tfor ((i = 1; i < cword; i++)); do\n"
	"\t\tcase ${words[i]} in\n"
	"\t\t--root) root=(--root \"${words[i+1]}\"); i=$((i + 1)) ;;\n"
	"\t\t-*) ;;\n"
	"\t\t*) verb=${words[i]}; break ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tif [[ -z $verb ]]; then\n"
	"\t\tif [[ $cur == -* ]]; then\n"
	"\t\t\tCOMPREPLY=($(compgen -W '--root --trace --debug --help --version' -- \"$cur\"))\n"
	"\t\telif [[ $prev == --root ]]; then\n"
	"\t\t\tCOMPREPLY=($(compgen -d -- \"$cur\"))\n"
	"\t\telse\n"
	"\t\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n"
	"\t\tfi\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ $cur == -* ]]; then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$(layerctl \"$verb\" --help 2>/dev/null |"
	" grep -oE -- '--[a-z][a-z-]*' | sort -u)\" -- \"$cur\"))\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tcase $verb in\n"
	"\texec|logs|stop|kill|wait|rm|top|diff|stats)\n"
	"\t\tCOMPREPLY=($(compgen -W \"$(layerctl \"${root[@]}\" ps -a --format "
	"'{{.Names}}' 2>/dev/null)\" -- \"$cur\")) ;;\n"
	"\tsave)\n"
	"\t\tif [[ $prev == -o || $prev == --output ]]; then COMPREPLY=($(compgen -f -- \"$cur\"));"
	" else COMPREPLY=($(compgen -W \"$(layerctl \"${root[@]}\" images --format "
	"'{{.Repository}}:{{.Tag}}' 2>/dev/null)\" -- \"$cur\")); fi ;;\n"
	"\trun|rmi|history|tag|mount)\n"
	"\t\tCOMPREPLY=($(compgen -W \"$(layerctl \"${root[@]}\" images --format "
	"'{{.Repository}}:{{.Tag}}' 2>/dev/null)\" -- \"$cur\")) ;;\n"
	"\tinspect)\n"
	"\t\tCOMPREPLY=($(compgen -W \"$(layerctl \"${root[@]}\" ps -a --format "
	"'{{.Names}}' 2>/dev/null; layerctl \"${root[@]}\" images --format "
	"'{{.Repository}}:{{.Tag}}' 2>/dev/null)\" -- \"$cur\")) ;;\n"
	"\tload)\n"
	"\t\t[[ $prev == -i || $prev == --input ]] && COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	"\thelp)\n"
	"\t\tCOMPREPLY=($(compgen -W '%s limits' -- \"$cur\")) ;;\n"
	"\tesac\n"
	"}\n"
	"complete -F _layerctl layerctl\n";

static const char completion_usage[] =
	"Usage:  layerctl completion bash\n\n"
	"Print a bash completion script: source <(layerctl completion bash), or\n"
	"save it as /etc/bash_completion.d/layerctl.\n";

int cmd_completion(int argc, char **argv, const struct lc_global *g)
{
	(void)g;
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(completion_usage, stdout);
		return EXIT_OK;
	}
	if (argc != 2 || strcmp(argv[1], "bash") != 0)
		return cmd_usage_error(completion_usage, "want 'bash' (the only shell supported)");
	{
		cleanup_free char *verbs = cmd_verb_names();

		printf(bash_script, verbs, verbs);
	}
	return EXIT_OK;
}
