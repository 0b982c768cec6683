/* SPDX-License-Identifier: MIT */
/* `layerctl help limits`: every bound on hostile input, and the pull flags that raise some. */
#include <limits.h>

#include "cmd.h"

void cmd_help_limits(FILE *out)
{
	char layer[32], image[32], floor[32];

	lc_limit_str(LC_LAYER_MAX_UNPACKED, layer, sizeof(layer));
	lc_limit_str(LC_IMAGE_MAX_UNPACKED, image, sizeof(image));
	lc_limit_str(LC_LAYER_RATIO_FLOOR, floor, sizeof(floor));
	fprintf(out,
		"Limits on what layerctl reads from registries, images and archives. Reaching one\n"
		"fails the pull, load or run with an error that names it; a layer that fails is "
		"discarded\n"
		"whole (nothing half-written stays in the store).\n"
		"\n"
		"LIMIT                              DEFAULT       RAISE WITH\n"
		"unpacked bytes of one layer        %-13s pull --max-layer-size SIZE\n"
		"unpacked bytes of one image        %-13s pull --max-image-size SIZE\n"
		"compression ratio of one layer     %ux%-8s pull --max-compression-ratio N\n"
		"tar entries of one layer           %-13u pull --max-layer-entries N\n"
		"layers of one image                %-13d fixed (overlay's stacking depth)\n"
		"path or link target of an entry    %d bytes    fixed (PATH_MAX)\n"
		"PAX or GNU long-name header        1 MiB         fixed (libarchive)\n"
		"extended attributes of an entry    %-13d fixed\n"
		"size of one extended attribute     %u KiB        fixed (the kernel's)\n"
		"zstd window                        %u MiB       fixed (zstd's default for "
		"untrusted input)\n"
		"manifest or index                  %u MiB         fixed\n"
		"image config                       %u MiB         fixed\n"
		"token answer                       %u MiB         fixed\n"
		"~/.docker/config.json              1 MiB         fixed\n"
		"a registry's hosts.toml            %u KiB       fixed\n"
		"a CA, certificate or key it names  %u MiB         fixed\n"
		"JSON nesting, every document       %d levels     fixed\n"
		"image /etc/passwd, /etc/group      %u MiB        fixed; lines %u KiB\n"
		"supplementary groups of the user   %-13d fixed\n"
		"members of an archive (load)       %-13d fixed\n"
		"JSON document of an archive (load) %u MiB         fixed (manifest.json, "
		"index.json,\n"
		"                                                 manifests, configs)\n"
		"\n"
		"SIZE takes binary units: 512m, 64g, 1t (or bytes). The compression ratio is\n"
		"checked once a layer has inflated past %s; 0 is not a valid value for any flag.\n",
		layer, image, LC_LAYER_MAX_RATIO, "", LC_LAYER_MAX_ENTRIES, LC_MAX_LAYERS,
		PATH_MAX - 1, LC_MAX_XATTRS, LC_MAX_XATTR_SIZE >> 10,
		(1u << LC_ZSTD_WINDOW_LOG_MAX) >> 20, LC_MAX_MANIFEST_SIZE >> 20,
		LC_MAX_CONFIG_SIZE >> 20, LC_MAX_TOKEN_SIZE >> 20, LC_MAX_HOSTS_FILE >> 10,
		LC_MAX_CA_FILE >> 20, LC_JSON_MAX_DEPTH, LC_ENT_MAX_FILE >> 20,
		LC_ENT_MAX_LINE >> 10, LC_MAX_GROUPS, CMD_LOAD_MAX_MEMBERS,
		LC_MAX_MANIFEST_SIZE >> 20, floor);
}
