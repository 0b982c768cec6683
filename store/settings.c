/* SPDX-License-Identifier: MIT */
/*
 * store: the store's own settings, <root>/settings.json, read when the store is opened:
 *
 *   {"dedup": false}
 *
 * A missing file means the defaults. Like docker's daemon.json, a file that does not parse, an
 * unknown key or a value of the wrong type is an error: a typo must not silently mean "default".
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "store-int.h"

#define SETTINGS_FILE "settings.json"
#define SETTINGS_MAX  (64u << 10)

int lc_store_settings_load(int rootfd, struct lc_store_settings *ret, struct lc_err **err)
{
	struct lc_store_settings set = { .dedup = LC_STORE_DEDUP_DEFAULT };
	cleanup_free char *buf = NULL;
	json_auto_t *j = NULL;
	struct lc_err *e = NULL;
	const char *key;
	json_t *val;
	size_t len;

	if (lc_read_file_at(rootfd, SETTINGS_FILE, SETTINGS_MAX, &buf, &len, &e) < 0) {
		if (e->code != LC_ERR_NOTFOUND) {
			lc_err_move(err, &e);
			return lc_err_prefix(err, "store settings");
		}
		lc_err_free(e);
		*ret = set;
		return 0;
	}
	j = lc_json_parse(buf, len, SETTINGS_FILE, err);
	if (!j)
		return lc_err_prefix(err, "store settings");
	if (!json_is_object(j))
		return lc_err_set(err, LC_ERR_PROTO, 0,
				  "store settings: '" SETTINGS_FILE "' is not a JSON object");
	json_object_foreach(j, key, val)
	{
		if (!strcmp(key, "dedup")) {
			if (!json_is_boolean(val))
				return lc_err_set(err, LC_ERR_PROTO, 0,
						  "store settings: 'dedup' must be true or false");
			set.dedup = json_is_true(val);
		} else {
			return lc_err_set(err, LC_ERR_PROTO, 0,
					  "store settings: unknown key '%s' in '" SETTINGS_FILE
					  "' (known: dedup)",
					  key);
		}
	}
	*ret = set;
	return 0;
}
