/* SPDX-License-Identifier: MIT */
/*
 * ctrinspect: a container as `docker inspect` shows it (docker's field names where docker has
 * the field), plus what layerctl can show of the kernel's side: its namespaces with their
 * inodes, its cgroup with what it uses now. Read from containers/<id>/ and, while it runs,
 * from the host's /proc.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"

/* "127.0.0.1:8080->80/tcp" -> NetworkSettings.Ports {"80/tcp": [{HostIp, HostPort}]} */
static json_t *ports_json(char *const *ports)
{
	json_t *o = json_object();

	for (size_t i = 0; ports && ports[i]; i++) {
		const char *arrow = strstr(ports[i], "->"), *colon;
		json_t *a;

		if (!arrow)
			continue;
		colon = memrchr(ports[i], ':', (size_t)(arrow - ports[i]));
		if (!colon)
			continue;
		a = json_object_get(o, arrow + 2);
		if (!a) {
			a = json_array();
			json_object_set_new(o, arrow + 2, a);
		}
		json_array_append_new(a, json_pack("{s:s%, s:s%}", "HostIp", ports[i],
						   (size_t)(colon - ports[i]), "HostPort",
						   colon + 1, (size_t)(arrow - colon - 1)));
	}
	return o;
}

static bool standard_mount(const char *target)
{
	static const char *const prefixes[] = { "/proc", "/dev", "/sys" };
	static const char *const exact[] = { "/", "/etc/hostname", "/etc/hosts",
					     "/etc/resolv.conf" };

	for (size_t i = 0; i < LC_ARRAY_SIZE(exact); i++)
		if (!strcmp(target, exact[i]))
			return true;
	for (size_t i = 0; i < LC_ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i]);

		if (!strncmp(target, prefixes[i], n) && (!target[n] || target[n] == '/'))
			return true;
	}
	return false;
}

/* mountinfo's octal escapes (\040 for a space) undone, in place */
static void unoctal(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = 0;
}

/*
 * Mounts: what the running container has mounted beyond its own root, /proc, /dev, /sys and
 * /etc files (its -v, --mount and --tmpfs), read from its mount table; a named volume is
 * recognized by its dir in the store. A container that does not run lists its volumes only.
 */
static json_t *mounts_json(struct lc_store *s, pid_t pid, char *const *volumes)
{
	json_t *a = json_array();
	cleanup_free char *path = NULL, *text = NULL;
	struct lc_err *e = NULL;
	const char *root = lc_store_root(s);

	if (pid <= 0) {
		for (size_t i = 0; volumes && volumes[i]; i++)
			json_array_append_new(
				a, json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:b}", "Type",
					     "volume", "Name", volumes[i], "Source",
					     json_sprintf("%s/volumes/%s/_data", root, volumes[i]),
					     "Destination", "", "Driver", "local", "Mode", "", "RW",
					     true));
		return a;
	}
	path = lc_xasprintf("/proc/%d/mountinfo", (int)pid);
	if (lc_read_file_at(AT_FDCWD, path, 4u << 20, &text, NULL, &e) < 0) {
		lc_err_free(e);
		return a;
	}
	/* "ID PARENT MAJ:MIN ROOT TARGET OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS" */
	for (char *line = text, *nl; line && *line; line = nl) {
		char *f[6] = { 0 }, *dash, *fstype, *p = line;
		cleanup_free char *source = NULL;
		const char *type = "bind", *name = NULL;
		bool rw;

		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		for (int i = 0; i < 6 && p; i++) {
			f[i] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = 0;
		}
		dash = p ? strstr(p, "- ") : NULL;
		if (!f[5] || !dash)
			continue;
		fstype = dash + 2;
		p = strchr(fstype, ' ');
		if (p)
			*p = 0;
		unoctal(f[3]);
		unoctal(f[4]);
		if (standard_mount(f[4]))
			continue;
		rw = !strncmp(f[5], "rw", 2);
		if (!strcmp(fstype, "tmpfs")) {
			type = "tmpfs";
			source = lc_xstrdup("");
		} else {
			/* a bind shows the path inside its filesystem: the host path when that
			 * filesystem is mounted at / (the usual case) */
			source = lc_xstrdup(f[3]);
			for (size_t i = 0; volumes && volumes[i]; i++) {
				cleanup_free char *vol =
					lc_xasprintf("/volumes/%s/_data", volumes[i]);
				size_t vl = strlen(vol), sl = strlen(source);

				if (sl >= vl && !strcmp(source + sl - vl, vol)) {
					type = "volume";
					name = volumes[i];
					free(source);
					source = lc_xasprintf("%s%s", root, vol);
				}
			}
		}
		json_array_append_new(a, json_pack("{s:s, s:s?, s:s, s:s, s:s, s:b, s:s}", "Type",
						   type, "Name", name, "Source", source,
						   "Destination", f[4], "Mode", rw ? "" : "ro",
						   "RW", rw, "Propagation", "rprivate"));
	}
	return a;
}

/* Namespaces: {"pid": {"Inode": N, "Path": "/proc/<pid>/ns/pid"}, ...}, docker has none */
static json_t *ns_json(pid_t pid)
{
	struct lc_ns_inode ns[LC_NS_MAX];
	size_t n = 0;
	struct lc_err *e = NULL;
	json_t *o = json_object();

	if (pid <= 0 || lc_ns_inodes(pid, ns, &n, &e) < 0) {
		lc_err_free(e);
		return o;
	}
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *path = lc_xasprintf("/proc/%d/ns/%s", (int)pid, ns[i].name);

		json_object_set_new(
			o, ns[i].name,
			json_pack("{s:I, s:s}", "Inode", (json_int_t)ns[i].inode, "Path", path));
	}
	return o;
}

/* Cgroup: its path and current usage (docker has only HostConfig's limits) */
static json_t *cgroup_json(pid_t pid, const char *id, struct lc_cgroup_usage *u)
{
	struct lc_err *e = NULL;

	if (pid <= 0 || lc_cgroup_usage_read(pid, id, u, &e) < 0) {
		lc_err_free(e);
		return json_null();
	}
	if (!u->path)
		return json_null();
	return json_pack("{s:s, s:{s:I, s:I, s:I}, s:{s:I}, s:{s:I, s:I}, s:{s:I, s:I}}", "Path",
			 u->path, "Memory", "Usage", (json_int_t)u->mem_usage, "Limit",
			 (json_int_t)u->mem_limit, "OOMKills", (json_int_t)u->oom_kills, "CPU",
			 "UsageNanoseconds", (json_int_t)u->cpu_ns, "Pids", "Current",
			 (json_int_t)u->pids, "Limit", (json_int_t)u->pids_limit, "BlkIO",
			 "ReadBytes", (json_int_t)u->blk_read, "WriteBytes",
			 (json_int_t)u->blk_write);
}

json_t *ctr_inspect_json(struct lc_store *s, const char *id, struct lc_err **err)
{
	struct lc_container_config *cc = NULL;
	struct ctr_spec sp = { 0 };
	struct ctr_state st;
	struct lc_cgroup_usage u = { 0 };
	const char *root = lc_store_root(s);
	cleanup_free char *cdir = lc_xasprintf("%s/containers/%s", root, id);
	cleanup_free char *lower = lc_xstrdup(""), *name = NULL;
	json_t *args, *o = NULL, *cgroup;
	bool running;
	pid_t pid;

	if (ctr_state_read(s, id, &st, err) < 0 ||
	    lc_store_container_config_read(s, id, &cc, err) < 0 ||
	    ctr_spec_read(s, id, &sp, err) < 0)
		goto out;
	running = ctr_running(&st);
	pid = running ? st.pid : 0;
	for (size_t i = 0; i < cc->n_layers; i++) {
		char *next = lc_xasprintf("%s%s%s/layers/sha256/%s", lower, *lower ? ":" : "", root,
					  lc_digest_hex(cc->layers[i]));

		free(lower);
		lower = next;
	}
	args = json_array();
	for (size_t i = 1; sp.args && sp.args[0] && sp.args[i]; i++)
		json_array_append_new(args, json_string(sp.args[i]));
	name = lc_xasprintf("/%s", cc->name && *cc->name ? cc->name : "");
	cgroup = cgroup_json(pid, id, &u);
	o = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, "
		      "s:s}, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
		      "Id", id, "Created", cc->created ? cc->created : "", "Path",
		      sp.args && sp.args[0] ? sp.args[0] : "", "Args", args, "State", "Status",
		      running ? "running" : st.status, "Running", running, "Paused", false,
		      "Restarting", false, "OOMKilled", st.oom_killed, "Dead", false, "Pid",
		      (int)pid, "ExitCode", running ? 0 : st.exit_code, "Error", st.error,
		      "StartedAt", st.started_at[0] ? st.started_at : "0001-01-01T00:00:00Z",
		      "FinishedAt", st.finished_at[0] ? st.finished_at : "0001-01-01T00:00:00Z",
		      "Image", cc->image_id ? cc->image_id : "", "ResolvConfPath", "",
		      "HostnamePath", "", "HostsPath", "", "LogPath", "", "Name", name,
		      "RestartCount", 0, "Driver", "overlay", "Platform", "linux");
	if (!o) {
		json_decref(cgroup);
		lc_err_set(err, LC_ERR_PROTO, 0, "container '%.12s': cannot represent it", id);
		goto out;
	}
	json_object_set_new(o, "ResolvConfPath", json_sprintf("%s/resolv.conf", cdir));
	json_object_set_new(o, "HostnamePath", json_sprintf("%s/hostname", cdir));
	json_object_set_new(o, "HostsPath", json_sprintf("%s/hosts", cdir));
	json_object_set_new(o, "LogPath", json_sprintf("%s/ctr.log", cdir));
	json_object_set_new(
		o, "HostConfig",
		json_pack("{s:b, s:s, s:I, s:I, s:s}", "AutoRemove", sp.auto_remove, "CgroupParent",
			  sp.cgroup_parent ? sp.cgroup_parent : "", "Memory",
			  (json_int_t)(u.path && u.mem_limit > 0 ? u.mem_limit : 0), "PidsLimit",
			  (json_int_t)(u.path && u.pids_limit > 0 ? u.pids_limit : 0),
			  "NetworkMode", "none"));
	json_object_set_new(o, "GraphDriver",
			    json_pack("{s:{s:s, s:s, s:s, s:s}, s:s}", "Data", "LowerDir", lower,
				      "MergedDir", "", "UpperDir", "", "WorkDir", "", "Name",
				      "overlay"));
	{
		json_t *data = json_object_get(json_object_get(o, "GraphDriver"), "Data");

		json_object_set_new(data, "MergedDir", json_sprintf("%s/merged", cdir));
		json_object_set_new(data, "UpperDir", json_sprintf("%s/upper", cdir));
		json_object_set_new(data, "WorkDir", json_sprintf("%s/work", cdir));
	}
	json_object_set_new(o, "Mounts", mounts_json(s, pid, sp.volumes));
	{
		json_t *cmd = json_array(), *env = json_array();

		for (size_t i = 0; sp.args && sp.args[i]; i++)
			json_array_append_new(cmd, json_string(sp.args[i]));
		for (size_t i = 0; sp.env && sp.env[i]; i++)
			json_array_append_new(env, json_string(sp.env[i]));
		json_object_set_new(
			o, "Config",
			json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s}", "Hostname",
				  sp.hostname ? sp.hostname : "", "User", sp.user ? sp.user : "",
				  "Env", env, "Cmd", cmd, "Image", cc->image ? cc->image : "",
				  "WorkingDir", sp.cwd ? sp.cwd : "", "StopSignal",
				  sp.stop_signal && *sp.stop_signal ? sp.stop_signal : "SIGTERM"));
	}
	json_object_set_new(
		o, "NetworkSettings",
		json_pack("{s:o, s:s}", "Ports", ports_json(sp.ports), "SandboxKey", ""));
	if (pid > 0)
		json_object_set_new(json_object_get(o, "NetworkSettings"), "SandboxKey",
				    json_sprintf("/proc/%d/ns/net", (int)pid));
	json_object_set_new(o, "Namespaces", ns_json(pid));
	json_object_set_new(o, "Cgroup", cgroup);
out:
	lc_cgroup_usage_clear(&u);
	lc_container_config_free(cc);
	ctr_spec_clear(&sp);
	return o;
}
