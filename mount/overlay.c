/* SPDX-License-Identifier: MIT */
/*
 * overlay: stack a container's layers. Overlay takes its options as one page of text, so the
 * lower dirs are named by short paths relative to the store root (l/<id>) and the mount is
 * done by a thread whose cwd is the store root. Kernels with fsconfig("lowerdir+") (6.8+)
 * get the layers one at a time, without any length limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "mount-int.h"

#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_FLAG   0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#endif
#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_SYMLINKS
#define MOVE_MOUNT_T_SYMLINKS 0x00000010
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
/* linux/mount.h's struct mount_attr (MOUNT_ATTR_SIZE_VER0) */
struct lc_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static bool ovl_path_ok(const char *p)
{
	return p[0] && !strpbrk(p, ":,\\");
}

int lc_overlay_legacy_opts(const char *const *lowers, size_t n_lowers, const char *upper,
			   const char *work, bool index_off, size_t max_len, char **ret,
			   struct lc_err **err)
{
	size_t len, off = 0;
	cleanup_free char *s = NULL;

	if (n_lowers == 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "overlay needs at least one layer");
	if (upper && (!ovl_path_ok(upper) || !ovl_path_ok(work)))
		return lc_err_set(
			err, LC_ERR_UNSAFE, 0,
			"overlay upper/work path '%s' is empty or contains ':', ',' or '\\'",
			ovl_path_ok(upper) ? work : upper);
	len = strlen("lowerdir=") + (index_off ? strlen(",index=off") : 0);
	if (upper)
		len += strlen(",upperdir=") + strlen(upper) + strlen(",workdir=") + strlen(work);
	for (size_t i = 0; i < n_lowers; i++) {
		if (!ovl_path_ok(lowers[i]))
			return lc_err_set(err, LC_ERR_UNSAFE, 0,
					  "layer path '%s' is empty or contains ':', ',' or '\\'",
					  lowers[i]);
		len += strlen(lowers[i]) + (i ? 1 : 0);
	}
	if (len > max_len)
		return lc_err_set(
			err, LC_ERR_LIMIT, 0,
			"%zu layers need %zu bytes of overlay options, the kernel takes at "
			"most %zu (kernels >= 6.8 lift this limit)",
			n_lowers, len, max_len);
	s = lc_xmalloc(len + 1);
	off += (size_t)snprintf(s + off, len + 1 - off, "lowerdir=");
	for (size_t i = 0; i < n_lowers; i++)
		off += (size_t)snprintf(s + off, len + 1 - off, "%s%s", i ? ":" : "", lowers[i]);
	if (upper)
		off += (size_t)snprintf(s + off, len + 1 - off, ",upperdir=%s,workdir=%s", upper,
					work);
	off += (size_t)snprintf(s + off, len + 1 - off, "%s", index_off ? ",index=off" : "");
	if (off != len)
		return lc_err_set(err, LC_ERR_SYS, 0, "overlay options: length mismatch (bug)");
	*ret = TAKE_PTR(s);
	return 0;
}

/* What overlay's errno means for a container's mount (bubblewrap explains its errors too). */
static const char *ovl_errno_meaning(int e)
{
	switch (e) {
	case EINVAL:
		return "overlay refused the options (too many layers, or an upper dir reused?)";
	case ENODEV:
		return "this kernel has no overlay filesystem (modprobe overlay)";
	case EPERM:
		return "not permitted to mount overlay (run needs root)";
	case ENOENT:
		return "a layer or the container's upper/work/merged dir is missing";
	case ENOTDIR:
		return "a layer or the container's upper/work/merged path is not a directory";
	case EBUSY:
		return "the upper or work dir is in use by another overlay mount";
	case ELOOP:
		return "too many levels of symbolic links in a layer path";
	case ENOMEM:
		return "out of kernel memory (too many layers for the kernel stack?)";
	default:
		return NULL;
	}
}

struct ovl_job {
	int rootfd;
	const char *const *lowers;
	size_t n_lowers;
	const char *upper, *work, *merged;
	const char *legacy_opts; /* NULL: not built (too long) */
	bool index_off;
	bool ephemeral; /* volatile: no sync of the upper at unmount (lc_overlay_mount) */
	bool rdonly;	/* an image view: no upper, read-only, nosuid, nodev */
	enum lc_ovl_api api;
	int userns_fd; /* >= 0: each lower an idmapped mount of this user namespace's mapping */
	int home_ns;   /* with userns_fd: our mount namespace, where the overlay is attached */
	/* results */
	int err_no;
	const char *stage;
	const char *bad; /* the path a fsconfig failed on */
	char klog[512];	 /* the kernel's explanation (fs_context log), if any */
};

static void ovl_read_log(int fsfd, char *buf, size_t bufsz)
{
	char line[256];
	size_t off = 0;
	ssize_t n;

	buf[0] = 0;
	/* each read returns one message: "e overlay: ..." */
	while ((n = read(fsfd, line, sizeof(line) - 1)) > 0 && off + 3 < bufsz) {
		line[n] = 0;
		off += (size_t)snprintf(buf + off, bufsz - off, "%s%s", off ? "; " : "",
					n > 2 && line[1] == ' ' ? line + 2 : line);
		if (off >= bufsz)
			break;
	}
}

static bool kernel_at_least(unsigned int want_major, unsigned int want_minor)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return true;
	return major > want_major || (major == want_major && minor >= want_minor);
}

/* Every lower in one "lowerdir" (kernels before 6.8, no "lowerdir+"). */
static int ovl_lowerdir_string(int fsfd, struct ovl_job *j)
{
	size_t len = 1, off = 0;
	cleanup_free char *s = NULL;

	for (size_t i = 0; i < j->n_lowers; i++)
		len += strlen(j->lowers[i]) + 1;
	s = lc_xcalloc(len, 1);
	for (size_t i = 0; i < j->n_lowers; i++)
		off += (size_t)snprintf(s + off, len - off, "%s%s", i ? ":" : "", j->lowers[i]);
	if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir", s, 0) < 0) {
		j->err_no = errno;
		j->stage = "set lowerdir";
		return -1;
	}
	lc_trace("fsconfig(%d, FSCONFIG_SET_STRING, \"lowerdir\", \"%s\") = 0", fsfd, s);
	return 0;
}

/*
 * In a mount namespace of this thread's own (private: nothing propagates to the host),
 * mount an idmapped clone of each lower over itself: open_tree(OPEN_TREE_CLONE), then
 * mount_setattr(MOUNT_ATTR_IDMAP) with the userns's mapping. The layer paths stay as they
 * are; the overlay made next holds its own clones of these mounts.
 */
static int ovl_idmap_lowers(struct ovl_job *j)
{
	j->home_ns = open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (j->home_ns < 0) {
		j->err_no = errno;
		j->stage = "open our mount namespace";
		return -1;
	}
	if (unshare(CLONE_NEWNS) < 0) {
		j->err_no = errno;
		j->stage = "unshare(CLONE_NEWNS) for the idmapped layers";
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		j->err_no = errno;
		j->stage = "make the idmapped layers' namespace private";
		return -1;
	}
	for (size_t i = 0; i < j->n_lowers; i++) {
		struct lc_mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP,
					   .userns_fd = (uint64_t)j->userns_fd };
		cleanup_close int t = (int)syscall(SYS_open_tree, AT_FDCWD, j->lowers[i],
						   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

		j->bad = j->lowers[i];
		if (t < 0) {
			j->err_no = errno;
			j->stage = "open_tree(OPEN_TREE_CLONE)";
			return -1;
		}
		if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
			j->err_no = errno;
			j->stage = errno == EINVAL ? "mount_setattr(MOUNT_ATTR_IDMAP) (the store's "
						     "filesystem cannot be idmapped?)"
						   : "mount_setattr(MOUNT_ATTR_IDMAP)";
			return -1;
		}
		if (syscall(SYS_move_mount, t, "", AT_FDCWD, j->lowers[i],
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0) {
			j->err_no = errno;
			j->stage = "move_mount the idmapped layer";
			return -1;
		}
		lc_trace("open_tree(\"%s\", OPEN_TREE_CLONE), mount_setattr(MOUNT_ATTR_IDMAP, "
			 "userns fd %d), move_mount over itself = 0: an idmapped lower",
			 j->lowers[i], j->userns_fd);
	}
	j->bad = NULL;
	return 0;
}

/* Returns 0 done, 1 "use the legacy path", -1 failed (job->err_no, stage set). */
static int ovl_mount_fsconfig(struct ovl_job *j)
{
	cleanup_close int fsfd = -1;
	cleanup_close int mfd = -1;

	fsfd = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		if (errno == ENOSYS || errno == EPERM)
			return 1; /* old kernel, or a seccomp filter that hides it */
		j->err_no = errno;
		j->stage = "fsopen overlay";
		return -1;
	}
	lc_trace("fsopen(\"overlay\", FSOPEN_CLOEXEC) = %d", fsfd);
	/*
	 * Idmapped lowers before 6.8: the one "lowerdir" string (before 6.5 overlay's options
	 * go through the legacy context, which would take "lowerdir+" and fail only at create).
	 */
	if (j->userns_fd >= 0 && !kernel_at_least(6, 8)) {
		if (ovl_lowerdir_string(fsfd, j) < 0)
			goto fail;
	} else
		for (size_t i = 0; i < j->n_lowers; i++) {
			if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "lowerdir+",
				    j->lowers[i], 0) < 0) {
				/* "Unknown parameter" on 6.5..6.7: fall back before anything else */
				if (i == 0 && errno == EINVAL && j->userns_fd < 0)
					return 1;
				/* idmapped lowers are ours in this namespace only: the one string */
				if (i == 0 && errno == EINVAL) {
					if (ovl_lowerdir_string(fsfd, j) < 0)
						goto fail;
					break;
				}
				j->err_no = errno;
				j->stage = "add layer";
				j->bad = j->lowers[i];
				goto fail;
			}
			lc_trace("fsconfig(%d, FSCONFIG_SET_STRING, \"lowerdir+\", \"%s\") = 0",
				 fsfd, j->lowers[i]);
		}
	if (j->upper &&
	    syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "upperdir", j->upper, 0) < 0) {
		j->stage = "set upperdir";
		j->bad = j->upper;
		goto fail_errno;
	}
	if (j->upper)
		lc_trace("fsconfig(%d, FSCONFIG_SET_STRING, \"upperdir\", \"%s\") = 0", fsfd,
			 j->upper);
	if (j->work &&
	    syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "workdir", j->work, 0) < 0) {
		j->stage = "set workdir";
		j->bad = j->work;
		goto fail_errno;
	}
	if (j->work)
		lc_trace("fsconfig(%d, FSCONFIG_SET_STRING, \"workdir\", \"%s\") = 0", fsfd,
			 j->work);
	if (j->index_off &&
	    syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "index", "off", 0) < 0) {
		j->stage = "set index=off";
		goto fail_errno;
	}
	/* an upper thrown away after the run: no sync of its whole filesystem at unmount */
	if (j->ephemeral) {
		if (syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) == 0)
			lc_trace("fsconfig(%d, FSCONFIG_SET_FLAG, \"volatile\") = 0", fsfd);
		else
			j->ephemeral = false; /* before 5.10: synced, as any other */
	}
	/* rootless: no trusted.* xattrs in a user namespace; overlay keeps its own in user.* */
	if (lc_userns_nested() &&
	    syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) {
		j->stage = "set userxattr (Linux 5.11 or later)";
		goto fail_errno;
	}
	if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		j->stage = "create overlay";
		goto fail_errno;
	}
	lc_trace("fsconfig(%d, FSCONFIG_CMD_CREATE) = 0%s", fsfd,
		 j->index_off ? " (index=off)" : "");
	/* nodev: a device node made in the container (CAP_MKNOD) or shipped in a layer opens
	 * nothing; an image view is read-only and nosuid as well */
	mfd = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC,
			   MOUNT_ATTR_NODEV |
				   (j->rdonly ? MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID : 0));
	if (mfd < 0) {
		j->stage = "fsmount overlay";
		goto fail_errno;
	}
	lc_trace("fsmount(%d, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV%s) = %d", fsfd,
		 j->rdonly ? "|MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID" : "", mfd);
	/* idmapped lowers: back to our mount namespace (and the store root) to attach it */
	if (j->home_ns >= 0 && (setns(j->home_ns, CLONE_NEWNS) < 0 || fchdir(j->rootfd) < 0)) {
		j->stage = "return to our mount namespace";
		goto fail_errno;
	}
	if (syscall(SYS_move_mount, mfd, "", AT_FDCWD, j->merged, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		j->stage = "attach overlay";
		j->bad = j->merged;
		goto fail_errno;
	}
	lc_trace("move_mount(%d, \"\", AT_FDCWD, \"%s\", MOVE_MOUNT_F_EMPTY_PATH) = 0", mfd,
		 j->merged);
	return 0;
fail_errno:
	j->err_no = errno;
fail:
	ovl_read_log(fsfd, j->klog, sizeof(j->klog));
	return -1;
}

/* mount(2) with the one-page option string (kernels without fsconfig's "lowerdir+"). */
static void ovl_mount_legacy(struct ovl_job *j)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t max = page > 0 ? (size_t)page - 1 : 4095;
	/* rootless and volatile: see ovl_mount_fsconfig; the page-long limit applies to it all */
	bool user = lc_userns_nested();
	bool vol = j->ephemeral && strlen(j->legacy_opts) + strlen(",volatile") +
						   (user ? strlen(",userxattr") : 0) <=
					   max;
	cleanup_free char *o = lc_xasprintf("%s%s%s", j->legacy_opts, user ? ",userxattr" : "",
					    vol ? ",volatile" : "");
	unsigned long fl = MS_NODEV | (j->rdonly ? MS_RDONLY | MS_NOSUID : 0);
	int r = mount("overlay", j->merged, "overlay", fl, o);

	if (r < 0 && vol && errno == EINVAL) {
		/* a kernel without "volatile" (before 5.10): the same without it */
		o[strlen(o) - strlen(",volatile")] = '\0';
		vol = false;
		r = mount("overlay", j->merged, "overlay", fl, o);
	}
	if (r < 0) {
		j->err_no = errno;
		j->stage = user ? "mount overlay (userxattr)" : "mount overlay";
		return;
	}
	j->ephemeral = vol;
	lc_trace_mount("overlay", j->merged, "overlay", fl, o);
}

static void *ovl_thread(void *arg)
{
	struct ovl_job *j = arg;
	int r = 1;

	/*
	 * A private cwd for this thread only: the relative layer paths resolve from the store
	 * root while the rest of the process keeps its own cwd.
	 */
	if (unshare(CLONE_FS) < 0) {
		j->err_no = errno;
		j->stage = "unshare(CLONE_FS)";
		return NULL;
	}
	if (fchdir(j->rootfd) < 0) {
		j->err_no = errno;
		j->stage = "chdir to the store root";
		return NULL;
	}
	if (j->userns_fd >= 0) {
		/* the legacy mount(2) cannot attach it to our namespace from this one */
		if (ovl_idmap_lowers(j) == 0 && ovl_mount_fsconfig(j) > 0) {
			j->err_no = ENOSYS;
			j->stage = "fsopen overlay (needed for idmapped layers)";
		}
		return NULL;
	}
	if (j->api == LC_OVL_API_AUTO)
		r = ovl_mount_fsconfig(j);
	if (r <= 0)
		return NULL;
	j->err_no = 0;
	j->stage = NULL;
	j->klog[0] = 0;
	if (!j->legacy_opts) {
		j->err_no = E2BIG;
		j->stage = "legacy";
		return NULL;
	}
	ovl_mount_legacy(j);
	return NULL;
}

/* One line: what failed, on which path, what the errno means here, what the kernel said. */
static int ovl_fail(const struct ovl_job *j, const char *root_name, size_t n_lowers,
		    struct lc_err **err)
{
	const char *meaning = ovl_errno_meaning(j->err_no);
	cleanup_free char *what = lc_xasprintf(
		"mount overlay on '%s%s%s' (%zu layers): %s%s%s%s",
		j->merged[0] == '/' ? "" : root_name, j->merged[0] == '/' ? "" : "/", j->merged,
		n_lowers, j->stage, j->bad ? " '" : "", j->bad ? j->bad : "", j->bad ? "'" : "");

	if (meaning && j->klog[0])
		lc_err_set(err, LC_ERR_SYS, 0, "%s: %s (kernel: %s)", what, meaning, j->klog);
	else if (meaning)
		lc_err_set(err, LC_ERR_SYS, 0, "%s: %s", what, meaning);
	else if (j->klog[0])
		lc_err_set(err, LC_ERR_SYS, 0, "%s: %s (kernel: %s)", what, strerror(j->err_no),
			   j->klog);
	else
		return lc_err_set(err, LC_ERR_SYS, j->err_no, "%s", what);
	if (err && *err)
		(*err)->sys_errno = j->err_no;
	return -1;
}

/* Mount lowers (+ upper and work, or none: read-only) on merged. */
static int ovl_mount(int rootfd, const char *root_name, const char *const *lowers, size_t n_lowers,
		     const char *upper, const char *work, const char *merged, enum lc_ovl_api api,
		     int userns_fd, bool ephemeral, struct lc_err **err)
{
	struct lc_err *optserr = NULL;
	cleanup_free char *opts = NULL;
	struct ovl_job j = { 0 };
	pthread_t th;
	long page = sysconf(_SC_PAGESIZE);
	int r;

	if (n_lowers == 0)
		return lc_err_set(err, LC_ERR_INVALID, 0, "overlay needs at least one layer");
	if (n_lowers > LC_MAX_LAYERS)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "image has %zu layers, at most %d are supported", n_lowers,
				  LC_MAX_LAYERS);
	j.rdonly = !upper;
	j.index_off = access("/sys/module/overlay/parameters/index", F_OK) == 0;
	/* The legacy string is needed only as a fallback, but its checks (':' ',' '\') apply to
	 * both paths: lowerdir+ takes any name, yet a layer link never has these. */
	if (lc_overlay_legacy_opts(lowers, n_lowers, upper, work, j.index_off,
				   page > 0 ? (size_t)page - 1 : 4095, &opts, &optserr) < 0) {
		if (optserr->code != LC_ERR_LIMIT) {
			lc_err_move(err, &optserr);
			return lc_err_prefix(err, "mount overlay on '%s'", merged);
		}
	}
	j.rootfd = rootfd;
	j.lowers = lowers;
	j.n_lowers = n_lowers;
	j.upper = upper;
	j.work = work;
	j.merged = merged;
	j.legacy_opts = opts;
	j.api = api;
	j.userns_fd = userns_fd;
	j.ephemeral = ephemeral && upper;
	j.home_ns = -1;
	r = pthread_create(&th, NULL, ovl_thread, &j);
	if (r != 0) {
		lc_err_free(optserr);
		return lc_err_set(err, LC_ERR_SYS, r, "mount overlay: start mount thread");
	}
	pthread_join(th, NULL);
	if (j.home_ns >= 0)
		close(j.home_ns);
	if (!j.stage) {
		lc_err_free(optserr);
		return 0;
	}
	if (j.err_no == E2BIG && optserr) {
		lc_err_move(err, &optserr);
		return lc_err_prefix(err, "mount overlay on '%s/%s'", root_name, merged);
	}
	lc_err_free(optserr);
	return ovl_fail(&j, root_name, n_lowers, err);
}

int lc_overlay_mount_links(int rootfd, const char *root_name, const char *const *lowers,
			   size_t n_lowers, const char *cdir, enum lc_ovl_api api, bool ephemeral,
			   struct lc_err **err)
{
	cleanup_free char *upper = lc_xasprintf("%s/upper", cdir);
	cleanup_free char *work = lc_xasprintf("%s/work", cdir);
	cleanup_free char *merged = lc_xasprintf("%s/merged", cdir);

	return ovl_mount(rootfd, root_name, lowers, n_lowers, upper, work, merged, api, -1,
			 ephemeral, err);
}

int lc_overlay_mount_links_idmapped(int rootfd, const char *root_name, const char *const *lowers,
				    size_t n_lowers, const char *cdir, int userns_fd,
				    bool ephemeral, struct lc_err **err)
{
	cleanup_free char *upper = lc_xasprintf("%s/upper", cdir);
	cleanup_free char *work = lc_xasprintf("%s/work", cdir);
	cleanup_free char *merged = lc_xasprintf("%s/merged", cdir);

	return ovl_mount(rootfd, root_name, lowers, n_lowers, upper, work, merged, LC_OVL_API_AUTO,
			 userns_fd, ephemeral, err);
}

int lc_overlay_mount_links_ro(int rootfd, const char *root_name, const char *const *lowers,
			      size_t n_lowers, const char *target, enum lc_ovl_api api,
			      struct lc_err **err)
{
	return ovl_mount(rootfd, root_name, lowers, n_lowers, NULL, NULL, target, api, -1, false,
			 err);
}

int lc_overlay_umount(const char *cdir, struct lc_err **err)
{
	cleanup_free char *merged = lc_xasprintf("%s/merged", cdir);
	cleanup_free char *marker = lc_xasprintf("%s/work/work/incompat/volatile/dirty", cdir);

	if (lc_overlay_umount_dir(merged, err) < 0)
		return -1;
	/*
	 * A volatile mount leaves work/work/incompat/volatile/dirty, and overlay refuses to mount
	 * that upper again (it may have lost writes in a crash). Unmounted cleanly here, it has
	 * not: the marker goes (the kernel's documented way), so a restart mounts it again.
	 */
	if (unlink(marker) == 0)
		for (int i = 0; i < 2; i++) {
			*strrchr(marker, '/') = '\0';
			if (rmdir(marker) < 0)
				break;
		}
	return 0;
}

int lc_overlay_umount_dir(const char *merged, struct lc_err **err)
{
	for (int i = 0;; i++) {
		if (umount2(merged, UMOUNT_NOFOLLOW) == 0) {
			lc_trace("umount2(\"%s\", UMOUNT_NOFOLLOW) = 0", merged);
			return 0;
		}
		if (errno == EINVAL || errno == ENOENT)
			return 0; /* not mounted (any more), or no container dir: nothing to do */
		if (errno == EINTR)
			continue;
		if (errno != EBUSY)
			return lc_err_set(err, LC_ERR_SYS, errno, "unmount '%s'", merged);
		if (i == 10)
			break;
		/* a process of the container may still be exiting; give it a moment */
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	}
	/* still busy (someone has a file open in it): detach now, the kernel frees it later */
	if (umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return lc_err_set(err, LC_ERR_SYS, errno, "unmount '%s' (busy, lazily)", merged);
	return 0;
}
