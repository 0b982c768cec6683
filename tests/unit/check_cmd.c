/* SPDX-License-Identifier: MIT */
/*
 * cmd's pure parts: run's options (sizes, --cpus, -p, -v/--mount/--tmpfs) parsed into struct
 * run_opts with docker's messages, the options kept for start and parsed again alike, and a
 * container's state and spec files written and read back.
 */
#include <signal.h>
#include <unistd.h>

#include "unit.h"
#include "../../cmd/cmd.h"

/* run's options from a space-separated line ("run" prepended); the image index, or -1 */
static int parse(const char *line, struct run_opts *o, char ***keep, struct lc_err **err)
{
	cleanup_free char *copy = lc_xstrdup(line);
	char *save = NULL;

	lc_strv_free(*keep);
	*keep = NULL;
	lc_strv_push(keep, "run");
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		lc_strv_push(keep, t);
	return run_opts_parse((int)lc_strv_len(*keep), *keep, o, err);
}

static const struct {
	const char *line;
	int64_t memory, swap, reservation, nano_cpus;
} limits[] = {
	{ "-m 100m img", 100ll << 20, 200ll << 20, 0, 0 },
	{ "--memory 1g --memory-swap -1 img", 1ll << 30, -1, 0, 0 },
	{ "--memory=6m --memory-swap 10m img", 6ll << 20, 10ll << 20, 0, 0 },
	{ "-m 7340032 img", 7ll << 20, 14ll << 20, 0, 0 },
	{ "-m 10m --memory-reservation 8192k img", 10ll << 20, 20ll << 20, 8ll << 20, 0 },
	{ "--memory 1.5g --memory-reservation 64m img", 3ll << 29, 3ll << 30, 64ll << 20, 0 },
	{ "--cpus 0.5 img", 0, 0, 0, 500000000 },
	{ "--cpus 0.01 img", 0, 0, 0, 10000000 },
	{ "--cpus 0 img", 0, 0, 0, 0 },
};

START_TEST(test_limits)
{
	struct run_opts o = { 0 };
	cleanup_strv char **keep = NULL;
	struct lc_err *err = NULL;
	int img = parse(limits[_i].line, &o, &keep, &err);

	ck_assert_msg(img > 0, "'%s': %s", limits[_i].line, err ? err->msg : "?");
	ck_assert_str_eq(keep[img], "img");
	ck_assert_int_eq(o.limits.memory, limits[_i].memory);
	ck_assert_int_eq(o.limits.memory_swap, limits[_i].swap);
	ck_assert_int_eq(o.limits.memory_reservation, limits[_i].reservation);
	ck_assert_int_eq(o.limits.nano_cpus, limits[_i].nano_cpus);
	run_opts_clear(&o);
}
END_TEST

static const struct {
	const char *line, *msg;
	enum lc_errc code;
} bad[] = {
	{ "-m 100x img",
	  "invalid argument \"100x\" for \"-m, --memory\" flag: invalid size: '100x'",
	  LC_ERR_USAGE },
	{ "-m -1 img", "invalid size: '-1'", LC_ERR_USAGE },
	{ "--memory-swap 1q img", "invalid size: '1q'", LC_ERR_USAGE },
	{ "-m 4m img", "Minimum memory limit allowed is 6MB", LC_ERR_INVALID },
	{ "-m 100m --memory-swap 50m img", "Minimum memoryswap limit should be larger than",
	  LC_ERR_INVALID },
	{ "--cpus abc img", "invalid argument \"abc\" for \"--cpus\" flag", LC_ERR_USAGE },
	{ "--cpus -1 img", "--cpus", LC_ERR_USAGE },
	{ "--cpus 100000 img", "--cpus", LC_ERR_USAGE },
	{ "-c x img", "strconv.ParseInt: parsing \"x\": invalid syntax", LC_ERR_USAGE },
	{ "--pids-limit 99999999999999999999 img", "value out of range", LC_ERR_USAGE },
	{ "-p 99999:80 img", "invalid host port in '99999:80'", LC_ERR_USAGE },
	{ "-p 8080:80/sctp img", "the protocol is tcp or udp", LC_ERR_USAGE },
	{ "-p 80 img", "want [IP:]HOSTPORT:CONTAINERPORT", LC_ERR_USAGE },
	{ "-p ::1:80:80 img", "invalid host IP", LC_ERR_USAGE },
	{ "-v a img", "invalid volume specification: 'a'", LC_ERR_USAGE },
	{ "-v /a: img", "invalid volume specification: '/a:'", LC_ERR_USAGE },
	{ "-v /a:/b:rx img", "invalid volume specification: '/a:/b:rx'", LC_ERR_USAGE },
	{ "-v /a:/b:ro:x img", "invalid volume specification", LC_ERR_USAGE },
	{ "--mount type=bind,target=/b img", "type, source and target are needed", LC_ERR_USAGE },
	{ "--mount type=bind,source=rel,target=/b img", "bind source path must be absolute: 'rel'",
	  LC_ERR_USAGE },
	{ "--mount type=nfs,source=/a,target=/b img", "type bind, volume or tmpfs", LC_ERR_USAGE },
	{ "--mount type=bind,source=/a,target=/b,bogus=1 img", "unexpected key 'bogus'",
	  LC_ERR_USAGE },
	{ "--tmpfs /run:bogus img", "invalid --tmpfs option 'bogus'", LC_ERR_USAGE },
	{ "--network bridge img", "layerctl has no bridge", LC_ERR_USAGE },
	{ "--pid container:x img", "--pid container:x is not supported", LC_ERR_USAGE },
	{ "--cap-add NOPE img", "invalid capability: NOPE", LC_ERR_USAGE },
	{ "-e =x img", "invalid environment variable: '=x'", LC_ERR_USAGE },
	{ "--bogus img", "unknown flag: --bogus", LC_ERR_USAGE },
	{ "--bogus=1 img", "unknown flag: --bogus", LC_ERR_USAGE },
	{ "-Z img", "unknown shorthand flag: 'Z' in -Z", LC_ERR_USAGE },
	{ "--memory", "flag needs an argument: --memory", LC_ERR_USAGE },
	{ "--userns nope img", "invalid --userns 'nope'", LC_ERR_USAGE },
	{ "--userns keep-id img", "keep-id is for rootless runs", LC_ERR_USAGE },
	{ "--userns auto:size=0 img", "size must be a number of ids from 1 to 1000000000",
	  LC_ERR_USAGE },
	{ "--userns auto:size=1000000001 img", "invalid --userns 'auto:size=1000000001': size",
	  LC_ERR_USAGE },
	{ "--userns auto:size=99999999999999999999999 img", "size must be", LC_ERR_USAGE },
	{ "--userns auto:size= img", "size must be", LC_ERR_USAGE },
	{ "--userns auto:size=-5 img", "size must be", LC_ERR_USAGE },
	{ "--userns auto:size=12k img", "size must be", LC_ERR_USAGE },
	{ "--userns auto:size=1,size=2 img", "size must be", LC_ERR_USAGE },
	{ "--userns auto: img", "option '' is not supported", LC_ERR_USAGE },
	{ "--userns auto:uidmapping=0:1:1 img", "option 'uidmapping' is not supported",
	  LC_ERR_USAGE },
	{ "--userns autox img", "invalid --userns 'autox'", LC_ERR_USAGE },
	{ "--uidmap 0:1 img", "invalid ID mapping '0:1'", LC_ERR_USAGE },
	{ "--gidmap 0:1:1 img", "--gidmap needs --uidmap", LC_ERR_USAGE },
	{ "--userns auto --uidmap 0:1:1 img", "cannot be used together", LC_ERR_USAGE },
	{ "--userns auto --privileged img", "--privileged cannot be used with a user namespace",
	  LC_ERR_USAGE },
	{ "--uidmap 0:1:1 --pid host img", "--pid host cannot be used", LC_ERR_USAGE },
	{ "--userns auto --net host img", "--net host cannot be used", LC_ERR_USAGE },
};

START_TEST(test_bad)
{
	struct run_opts o = { 0 };
	cleanup_strv char **keep = NULL;
	struct lc_err *err = NULL;

	ck_assert_msg(parse(bad[_i].line, &o, &keep, &err) < 0, "'%s' was accepted", bad[_i].line);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err->msg, bad[_i].msg), "'%s': got '%s'", bad[_i].line, err->msg);
	ck_assert_int_eq(err->code, bad[_i].code);
	lc_err_free(err);
	run_opts_clear(&o);
}
END_TEST

START_TEST(test_ports)
{
	struct run_opts o = { 0 };
	cleanup_strv char **keep = NULL;
	struct lc_err *err = NULL;

	ck_assert_ok(parse("-p 8080:80 -p 127.0.0.2:5353:53/udp --publish=0.0.0.0:1:2/tcp img", &o,
			   &keep, &err),
		     &err);
	ck_assert_uint_eq(o.n_ports, 3);
	ck_assert_str_eq(o.ports[0].host_ip, "127.0.0.1");
	ck_assert_uint_eq(o.ports[0].host_port, 8080);
	ck_assert_uint_eq(o.ports[0].ctr_port, 80);
	ck_assert(!o.ports[0].udp);
	ck_assert_str_eq(o.ports[1].host_ip, "127.0.0.2");
	ck_assert_uint_eq(o.ports[1].host_port, 5353);
	ck_assert_uint_eq(o.ports[1].ctr_port, 53);
	ck_assert(o.ports[1].udp);
	ck_assert_str_eq(o.ports[2].host_ip, "0.0.0.0");
	ck_assert(!o.ports[2].udp);
	run_opts_clear(&o);
}
END_TEST

START_TEST(test_mounts)
{
	struct run_opts o = { 0 };
	cleanup_strv char **keep = NULL;
	struct lc_err *err = NULL;

	ck_assert_ok(parse("-v /srv/a:/a:ro -v data:/data -v /b:/b:rw "
			   "--mount type=bind,source=/c,target=/c,readonly "
			   "--mount type=volume,src=vol,dst=/v "
			   "--mount type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=700 "
			   "--tmpfs /run:size=64k,mode=755,exec --tmpfs /scratch --read-only img",
			   &o, &keep, &err),
		     &err);
	ck_assert_uint_eq(o.n_mounts, 8);
	ck_assert(o.read_only);
	/* -v HOST:PATH:ro */
	ck_assert_int_eq(o.mounts[0].kind, LC_MOUNT_BIND);
	ck_assert_str_eq(o.mounts[0].source, "/srv/a");
	ck_assert_str_eq(o.mounts[0].target, "/a");
	ck_assert(o.mounts[0].readonly && !o.is_volume[0]);
	/* -v NAME:PATH: a named volume */
	ck_assert_str_eq(o.mounts[1].source, "data");
	ck_assert(o.is_volume[1] && !o.mounts[1].readonly);
	ck_assert(!o.mounts[2].readonly && !o.is_volume[2]);
	/* --mount */
	ck_assert_str_eq(o.mounts[3].source, "/c");
	ck_assert(o.mounts[3].readonly && !o.is_volume[3]);
	ck_assert_str_eq(o.mounts[4].source, "vol");
	ck_assert_str_eq(o.mounts[4].target, "/v");
	ck_assert(o.is_volume[4]);
	ck_assert_int_eq(o.mounts[5].kind, LC_MOUNT_TMPFS);
	ck_assert_str_eq(o.mounts[5].target, "/t");
	ck_assert_str_eq(o.mounts[5].size, "1m");
	ck_assert_str_eq(o.mounts[5].mode, "700");
	/* --tmpfs: noexec unless exec */
	ck_assert_int_eq(o.mounts[6].kind, LC_MOUNT_TMPFS);
	ck_assert_str_eq(o.mounts[6].target, "/run");
	ck_assert_str_eq(o.mounts[6].size, "64k");
	ck_assert_str_eq(o.mounts[6].mode, "755");
	ck_assert(o.mounts[6].exec);
	ck_assert_str_eq(o.mounts[7].target, "/scratch");
	ck_assert(!o.mounts[7].exec && !o.mounts[7].size && !o.mounts[7].mode);
	run_opts_clear(&o);
}
END_TEST

/* what start does: the options kept (up to the image) parse again into the same container */
START_TEST(test_reparse)
{
	struct run_opts a = { 0 }, b = { 0 };
	cleanup_strv char **keep = NULL, **again = NULL;
	struct lc_err *err = NULL;
	int img;

	img = parse("-d --name web --init -e A=1 -m 64m -p 8080:80 -v data:/d --cap-drop ALL "
		    "--pid host img sh -c true",
		    &a, &keep, &err);
	ck_assert_msg(img > 0, "%s", err ? err->msg : "?");
	ck_assert_str_eq(keep[img], "img");
	ck_assert_uint_eq(lc_strv_len(a.raw), (size_t)img - 1);
	lc_strv_push(&again, "run");
	for (size_t i = 0; a.raw[i]; i++)
		lc_strv_push(&again, a.raw[i]);
	ck_assert_int_eq(run_opts_parse((int)lc_strv_len(again), again, &b, &err),
			 (int)lc_strv_len(again));
	ck_assert(b.detach && b.init && b.host_pid);
	ck_assert_str_eq(b.name, "web");
	ck_assert_str_eq(b.env[0], "A=1");
	ck_assert_int_eq(b.limits.memory, a.limits.memory);
	ck_assert_int_eq(b.limits.memory_swap, a.limits.memory_swap);
	ck_assert_uint_eq(b.n_ports, 1);
	ck_assert_uint_eq(b.ports[0].host_port, 8080);
	ck_assert_uint_eq(b.n_mounts, 1);
	ck_assert(b.is_volume[0]);
	ck_assert_uint_eq(b.caps, 0);
	ck_assert_uint_eq(a.caps, 0);
	run_opts_clear(&a);
	run_opts_clear(&b);
}
END_TEST

/* a store with one container, for the state and spec files */
static struct lc_store *store_with_container(char *dir, char **ret_id)
{
	struct lc_store *s = NULL;
	struct lc_err *err = NULL;
	cleanup_free char *cdir = NULL;

	ck_assert_ok(lc_store_open(dir, &s, &err), &err);
	ck_assert_ok(lc_store_container_create(s, ret_id, &cdir, &err), &err);
	return s;
}

START_TEST(test_state_roundtrip)
{
	cleanup_free char *dir = unit_tmpdir(), *id = NULL;
	struct lc_store *s = store_with_container(dir, &id);
	struct lc_err *err = NULL;
	struct ctr_state st = { .status = "running", .exit_code = 0 }, got;

	/* running as this very process: believed as long as its start time matches */
	st.pid = getpid();
	st.pid_start = ctr_pid_start(getpid());
	ck_assert_uint_ne(st.pid_start, 0);
	snprintf(st.started_at, sizeof(st.started_at), "2026-12-02T22:00:00.123456789Z");
	snprintf(st.error, sizeof(st.error), "a \"quoted\"\nline");
	ck_assert_ok(ctr_state_write(s, id, &st, &err), &err);
	ck_assert_ok(ctr_state_read(s, id, &got, &err), &err);
	ck_assert_str_eq(got.status, "running");
	ck_assert_int_eq(got.pid, st.pid);
	ck_assert_uint_eq(got.pid_start, st.pid_start);
	ck_assert_str_eq(got.started_at, st.started_at);
	ck_assert_str_eq(got.finished_at, "");
	ck_assert_str_eq(got.error, st.error);
	ck_assert(ctr_running(&got));

	/* exited, OOM-killed */
	st = (struct ctr_state){ .status = "exited", .exit_code = 137, .oom_killed = true };
	snprintf(st.finished_at, sizeof(st.finished_at), "2026-12-02T22:00:01Z");
	ck_assert_ok(ctr_state_write(s, id, &st, &err), &err);
	ck_assert_ok(ctr_state_read(s, id, &got, &err), &err);
	ck_assert_str_eq(got.status, "exited");
	ck_assert_int_eq(got.exit_code, 137);
	ck_assert(got.oom_killed);
	ck_assert_str_eq(got.finished_at, st.finished_at);
	ck_assert(!ctr_running(&got));

	/* a reused pid (its start time differs) is not the container's */
	st = (struct ctr_state){ .status = "running", .pid = getpid(), .pid_start = 1 };
	ck_assert_ok(ctr_state_write(s, id, &st, &err), &err);
	ck_assert_ok(ctr_state_read(s, id, &got, &err), &err);
	ck_assert(!ctr_running(&got));
	/* we hold the container: its end is ours to record, it still reads running */
	ck_assert_str_eq(got.status, "running");
	/* nobody holds it: whoever ran it was killed, and the init with it (137, recorded) */
	lc_store_container_release(s, id);
	ck_assert_ok(ctr_state_read(s, id, &got, &err), &err);
	ck_assert_str_eq(got.status, "exited");
	ck_assert_int_eq(got.exit_code, 128 + SIGKILL);
	ck_assert_str_ne(got.finished_at, "");
	ck_assert_ok(ctr_state_read(s, id, &st, &err), &err);
	ck_assert_str_eq(st.finished_at, got.finished_at);
	lc_store_close(s);
	unit_tmpdir_free(TAKE_PTR(dir));
}
END_TEST

START_TEST(test_spec_roundtrip)
{
	cleanup_free char *dir = unit_tmpdir(), *id = NULL;
	struct lc_store *s = store_with_container(dir, &id);
	struct lc_err *err = NULL;
	char *args[] = { (char *)"sh", (char *)"-c", (char *)"echo 'a b'", NULL };
	char *env[] = { (char *)"A=1", (char *)"PATH=/bin", NULL };
	char *opts[] = { (char *)"-d", (char *)"--name",  (char *)"web",
			 (char *)"-p", (char *)"8080:80", NULL };
	char *ports[] = { (char *)"127.0.0.1:8080->80/tcp", NULL };
	struct ctr_spec sp = { .args = args,
			       .env = env,
			       .run_options = opts,
			       .ports = ports,
			       .cwd = (char *)"/srv",
			       .user = (char *)"1000:1000",
			       .hostname = (char *)"web1",
			       .stop_signal = (char *)"SIGQUIT",
			       .cgroup_parent = (char *)"layerctl",
			       .caps = 0x20,
			       .auto_remove = true },
			got;

	ck_assert_ok(ctr_spec_write(s, id, &sp, &err), &err);
	ck_assert_ok(ctr_spec_read(s, id, &got, &err), &err);
	for (size_t i = 0; args[i]; i++)
		ck_assert_str_eq(got.args[i], args[i]);
	ck_assert_ptr_null(got.args[3]);
	ck_assert_str_eq(got.env[1], "PATH=/bin");
	ck_assert_uint_eq(lc_strv_len(got.run_options), 5);
	ck_assert_str_eq(got.run_options[4], "8080:80");
	ck_assert_str_eq(got.ports[0], ports[0]);
	ck_assert_uint_eq(lc_strv_len(got.volumes), 0);
	ck_assert_str_eq(got.cwd, "/srv");
	ck_assert_str_eq(got.user, "1000:1000");
	ck_assert_str_eq(got.hostname, "web1");
	ck_assert_str_eq(got.stop_signal, "SIGQUIT");
	ck_assert_str_eq(got.cgroup_parent, "layerctl");
	ck_assert_uint_eq(got.caps, 0x20);
	ck_assert(got.auto_remove && !got.no_seccomp);
	ctr_spec_clear(&got);
	lc_store_close(s);
	unit_tmpdir_free(TAKE_PTR(dir));
}
END_TEST

/* --userns and --uidmap/--gidmap, and the maps a container keeps (its "idmap" document) */
START_TEST(test_userns)
{
	__attribute__((cleanup(run_opts_clear))) struct run_opts o = { 0 };
	cleanup_strv char **keep = NULL;
	struct lc_err *err = NULL;
	struct ctr_idmaps m = { 0 }, back;
	cleanup_free char *text = NULL;

	ck_assert_int_eq(parse("img", &o, &keep, &err), 1);
	ck_assert_int_eq(o.userns, RUN_USERNS_HOST);
	run_opts_clear(&o);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse("--userns=auto img", &o, &keep, &err), 2);
	ck_assert_int_eq(o.userns, RUN_USERNS_AUTO);
	ck_assert_uint_eq(o.userns_size, 0); /* LC_USERNS_AUTO_SIZE */
	run_opts_clear(&o);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse("--userns=auto:size=1024 img", &o, &keep, &err), 2);
	ck_assert_int_eq(o.userns, RUN_USERNS_AUTO);
	ck_assert_uint_eq(o.userns_size, 1024);
	run_opts_clear(&o);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse("--userns auto:size=1 img", &o, &keep, &err), 3);
	ck_assert_uint_eq(o.userns_size, 1);
	run_opts_clear(&o);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse("--userns auto:size=1000000000 img", &o, &keep, &err), 3);
	ck_assert_uint_eq(o.userns_size, 1000000000);
	run_opts_clear(&o);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(parse("--uidmap 0:100000:10 --uidmap 10:200000:5 --gidmap 0:300000:1 img",
			       &o, &keep, &err),
			 7);
	ck_assert_int_eq(o.userns, RUN_USERNS_MAP);
	ck_assert_uint_eq(o.n_uidmap, 2);
	ck_assert_uint_eq(o.uidmap[1].host, 200000);
	ck_assert_uint_eq(o.n_gidmap, 1);
	ck_assert_uint_eq(o.gidmap[0].host, 300000);

	m.uid[0] = (struct lc_idmap){ 0, 100000, 65536 };
	m.uid[1] = (struct lc_idmap){ 65536, 1000, 1 };
	m.gid[0] = (struct lc_idmap){ 0, 200000, 65536 };
	m.n_uid = 2;
	m.n_gid = 1;
	text = ctr_idmaps_text(&m);
	ck_assert_str_eq(text, "u 0:100000:65536\nu 65536:1000:1\ng 0:200000:65536\n");
	ck_assert_ok(ctr_idmaps_parse(text, &back, &err), &err);
	ck_assert_uint_eq(back.n_uid, 2);
	ck_assert_uint_eq(back.n_gid, 1);
	ck_assert(memcmp(back.uid, m.uid, 2 * sizeof(m.uid[0])) == 0);
	ck_assert(memcmp(back.gid, m.gid, sizeof(m.gid[0])) == 0);
	ck_assert_int_eq(ctr_idmaps_parse("u 0:1:1\n", &back, &err), -1); /* no gid map */
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(ctr_idmaps_parse("x 0:1:1\ng 0:1:1\n", &back, &err), -1);
	lc_err_free(err);
	err = NULL;
	ck_assert_int_eq(ctr_idmaps_parse("u 0:1:10\nu 5:100:1\ng 0:1:1\n", &back, &err), -1);
	lc_err_free(err);
}
END_TEST

static Suite *cmd_suite(void)
{
	Suite *s = suite_create("cmd");
	TCase *tc = tcase_create("runopts");

	tcase_add_loop_test(tc, test_limits, 0, LC_ARRAY_SIZE(limits));
	tcase_add_loop_test(tc, test_bad, 0, LC_ARRAY_SIZE(bad));
	tcase_add_test(tc, test_ports);
	tcase_add_test(tc, test_mounts);
	tcase_add_test(tc, test_reparse);
	tcase_add_test(tc, test_userns);
	suite_add_tcase(s, tc);
	tc = tcase_create("container");
	tcase_add_test(tc, test_state_roundtrip);
	tcase_add_test(tc, test_spec_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(cmd_suite());
}
