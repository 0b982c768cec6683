/* SPDX-License-Identifier: MIT */
/*
 * seccomp: docker's default syscall policy (REFERENCE.md §3C 27, moby/profiles default.json)
 * as a hand-written classic BPF program, without libseccomp.
 *
 * docker's profile is an allowlist; this is the equivalent denylist for a container with
 * docker's 14 default capabilities: everything docker admits only with a capability a
 * container does not get (CAP_SYS_ADMIN, _MODULE, _BOOT, _PTRACE, _TIME, _NICE, ...) or never
 * admits is EPERM, the rest is allowed. A denylist cannot know what future kernels add, so
 * syscall numbers above the last one this table was written against are ENOSYS, as runc
 * answers for syscalls its profile does not know: programs take that as "old kernel" and fall
 * back. The few newer syscalls docker does allow are let through by number.
 *
 * The program is a flat list: check the ABI, then one "jeq nr; ret" pair per denied syscall,
 * and a short block for each syscall whose argument matters (clone, socket, personality).
 * Every block returns, so the accumulator always holds the syscall number between blocks.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "mount-int.h"

#if defined(__x86_64__) && !defined(__ILP32__)
#define LC_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && !defined(__ILP32__)
#define LC_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/*
 * Since Linux 5.1 every architecture numbers new syscalls alike (424 on); these came after the
 * 6.1 headers this builds with. 450 (set_mempolicy_home_node) is the last number our tables
 * know by name: anything above it that is not listed here as allowed or denied is ENOSYS.
 */
#define LC_NR_KNOWN_LAST	450
#define LC_NR_cachestat		451
#define LC_NR_fchmodat2		452
#define LC_NR_map_shadow_stack	453
#define LC_NR_futex_wake	454
#define LC_NR_futex_wait	455
#define LC_NR_futex_requeue	456
#define LC_NR_statmount		457
#define LC_NR_listmount		458
#define LC_NR_lsm_get_self_attr 459
#define LC_NR_lsm_set_self_attr 460
#define LC_NR_lsm_list_modules	461
#define LC_NR_mseal		462
#define LC_NR_setxattrat	463
#define LC_NR_getxattrat	464
#define LC_NR_listxattrat	465
#define LC_NR_removexattrat	466

#ifdef LC_AUDIT_ARCH

/* Syscalls docker's default profile refuses a container with its default capabilities. */
/* clang-format off: grouped by reason, one reason a line */
static const unsigned int denied[] = {
	/* kernel keyrings are not namespaced */
	__NR_add_key,
	__NR_keyctl,
	__NR_request_key,
	/* loading code into the kernel, rebooting into another one */
	__NR_init_module,
	__NR_finit_module,
	__NR_delete_module,
	__NR_kexec_load,
#ifdef __NR_kexec_file_load
	__NR_kexec_file_load,
#endif
#ifdef __NR_create_module
	__NR_create_module,
	__NR_get_kernel_syms,
	__NR_query_module,
#endif
	__NR_bpf,
	__NR_perf_event_open,
#ifdef __NR_lookup_dcookie
	__NR_lookup_dcookie,
#endif
	/* io_uring bypasses this very filter (its operations are not syscalls); userfaultfd
	 * stretches kernel races */
	__NR_io_uring_setup,
	__NR_io_uring_enter,
	__NR_io_uring_register,
	__NR_userfaultfd,
	/* new namespaces and mounts: CAP_SYS_ADMIN only (clone is filtered by its flags) */
	__NR_unshare,
	__NR_setns,
	__NR_mount,
	__NR_umount2,
	__NR_pivot_root,
	__NR_fsopen,
	__NR_fsconfig,
	__NR_fsmount,
	__NR_fspick,
	__NR_move_mount,
	__NR_open_tree,
	__NR_mount_setattr,
	/* open_by_handle_at walks out of any mount (the "shocker" escape) */
	__NR_open_by_handle_at,
	/* the host's clock, swap, accounting, quotas, kernel log, NUMA policy */
	__NR_settimeofday,
	__NR_clock_settime,
	__NR_swapon,
	__NR_swapoff,
	__NR_reboot,
	__NR_acct,
	__NR_quotactl,
	__NR_quotactl_fd,
	__NR_syslog,
	__NR_sethostname,
	__NR_setdomainname,
	__NR_vhangup,
	__NR_get_mempolicy,
	__NR_set_mempolicy,
	__NR_set_mempolicy_home_node,
	__NR_mbind,
	__NR_migrate_pages,
	__NR_move_pages,
	__NR_fanotify_init,
	/* other processes' memory and fds: CAP_SYS_PTRACE only */
	__NR_kcmp,
	__NR_pidfd_getfd,
	__NR_process_madvise,
	LC_NR_lsm_get_self_attr,
	LC_NR_lsm_set_self_attr,
	LC_NR_lsm_list_modules,
	/* obsolete or unimplemented, refused by docker all the same */
	__NR_nfsservctl,
#ifdef __NR_uselib
	__NR_uselib,
#endif
#ifdef __NR_ustat
	__NR_ustat,
#endif
#ifdef __NR_sysfs
	__NR_sysfs,
#endif
#ifdef __NR__sysctl
	__NR__sysctl,
#endif
#ifdef __NR_iopl
	__NR_iopl,
	__NR_ioperm,
#endif
#ifdef __NR_afs_syscall
	__NR_afs_syscall,
	__NR_getpmsg,
	__NR_putpmsg,
	__NR_security,
	__NR_tuxcall,
	__NR_vserver,
#endif
};

/* Syscalls above LC_NR_KNOWN_LAST that docker's current profile allows. */
static const unsigned int newer_allowed[] = {
	LC_NR_cachestat,     LC_NR_fchmodat2,	  LC_NR_map_shadow_stack, LC_NR_futex_wake,
	LC_NR_futex_wait,    LC_NR_futex_requeue, LC_NR_statmount,	  LC_NR_listmount,
	LC_NR_mseal,	     LC_NR_setxattrat,	  LC_NR_getxattrat,	  LC_NR_listxattrat,
	LC_NR_removexattrat,
};

/* personality(2) values docker allows: PER_LINUX, PER_LINUX32, their UNAME26, and a query */
/* clang-format on */
static const unsigned int personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

/* clone flags that would create namespaces (CLONE_NEWTIME only exists for unshare/clone3) */
#define NS_FLAGS                                                                                   \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
	 CLONE_NEWCGROUP)

/* Cheap upper bound on the program: ABI check, the three argument blocks, the tables. */
#define PROG_MAX (32 + 2 * LC_ARRAY_SIZE(denied) + 2 * LC_ARRAY_SIZE(newer_allowed))

struct prog {
	struct sock_filter insn[PROG_MAX];
	size_t n;
};

static void emit(struct prog *p, __u16 code, __u32 k, __u8 jt, __u8 jf)
{
	if (p->n < PROG_MAX)
		p->insn[p->n] = (struct sock_filter){ .code = code, .jt = jt, .jf = jf, .k = k };
	p->n++; /* counted past the end: lc_seccomp_install reports the overflow */
}

static void ret(struct prog *p, __u32 action)
{
	emit(p, BPF_RET | BPF_K, action, 0, 0);
}

static void ret_errno(struct prog *p, int e)
{
	ret(p, SECCOMP_RET_ERRNO | ((__u32)e & SECCOMP_RET_DATA));
}

/* if (A op k) skip jt instructions, else skip jf */
static void jump(struct prog *p, __u16 op, __u32 k, size_t jt, size_t jf)
{
	emit(p, BPF_JMP | op | BPF_K, k, (__u8)jt, (__u8)jf);
}

static void load(struct prog *p, size_t off)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, (__u32)off, 0, 0);
}

/*
 * Load the low 32 bits of argument i. Enough for every argument checked here: the kernel
 * reads clone's flags through lower_32_bits() and socket's family and personality's persona
 * are ints, so the upper half cannot change what the syscall does.
 */
static void load_arg_lo(struct prog *p, size_t i)
{
	size_t off = offsetof(struct seccomp_data, args) + i * sizeof(__u64);

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	off += sizeof(__u32);
#endif
	load(p, off);
}

static void build(struct prog *p)
{
	size_t k = LC_ARRAY_SIZE(personalities);

	/*
	 * The syscall numbers below mean something only in the native ABI: an i386 int 0x80
	 * from an x86_64 process, or an arm32 task on arm64, numbers them differently and would
	 * walk past the list. Refuse every foreign-ABI syscall.
	 */
	load(p, offsetof(struct seccomp_data, arch));
	jump(p, BPF_JEQ, LC_AUDIT_ARCH, 1, 0);
	ret_errno(p, EPERM);
	load(p, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	/* x32 syscalls come in with AUDIT_ARCH_X86_64 and this bit set: same reason */
	jump(p, BPF_JGE, __X32_SYSCALL_BIT, 0, 1);
	ret_errno(p, EPERM);
#endif

	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes glibc use clone */
	jump(p, BPF_JEQ, __NR_clone3, 0, 1);
	ret_errno(p, ENOSYS);

	/* clone(flags, ...) on x86_64 and arm64 alike: no new namespaces */
	jump(p, BPF_JEQ, __NR_clone, 0, 4);
	load_arg_lo(p, 0);
	jump(p, BPF_JSET, NS_FLAGS, 0, 1);
	ret_errno(p, EPERM);
	ret(p, SECCOMP_RET_ALLOW);

	/* socket(family, ...): no host vsock, no kernel crypto API */
	jump(p, BPF_JEQ, __NR_socket, 0, 5);
	load_arg_lo(p, 0);
	jump(p, BPF_JEQ, AF_VSOCK, 1, 0);
	jump(p, BPF_JEQ, AF_ALG, 0, 1);
	ret_errno(p, EPERM);
	ret(p, SECCOMP_RET_ALLOW);

	/* personality(persona): only the values in the table (no ADDR_NO_RANDOMIZE, ...) */
	jump(p, BPF_JEQ, __NR_personality, 0, k + 3);
	load_arg_lo(p, 0);
	for (size_t i = 0; i < k; i++)
		jump(p, BPF_JEQ, personalities[i], k - i, 0);
	ret_errno(p, EPERM);
	ret(p, SECCOMP_RET_ALLOW);

	for (size_t i = 0; i < LC_ARRAY_SIZE(denied); i++) {
		jump(p, BPF_JEQ, denied[i], 0, 1);
		ret_errno(p, EPERM);
	}
	for (size_t i = 0; i < LC_ARRAY_SIZE(newer_allowed); i++) {
		jump(p, BPF_JEQ, newer_allowed[i], 0, 1);
		ret(p, SECCOMP_RET_ALLOW);
	}
	jump(p, BPF_JGT, LC_NR_KNOWN_LAST, 0, 1);
	ret_errno(p, ENOSYS);
	ret(p, SECCOMP_RET_ALLOW);
}

int lc_seccomp_install(struct lc_err **err)
{
	struct prog p = { .n = 0 };
	struct sock_fprog fprog;

	build(&p);
	if (p.n > PROG_MAX) /* a bug in PROG_MAX, not an input */
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "seccomp filter: %zu instructions, room for %zu", p.n,
				  (size_t)PROG_MAX);
	fprog = (struct sock_fprog){ .len = (unsigned short)p.n, .filter = p.insn };
	/*
	 * Unprivileged callers need no_new_privs first (EACCES otherwise). EINVAL: a kernel
	 * built without CONFIG_SECCOMP_FILTER. Either way the container must not start
	 * without the filter it was promised.
	 */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno,
				  errno == EINVAL ? "install seccomp filter (kernel without "
						    "CONFIG_SECCOMP_FILTER?)"
						  : "install seccomp filter");
	lc_trace("prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, {len=%zu}) = 0: docker's default "
		 "policy, %zu BPF instructions",
		 p.n, p.n);
	return 0;
}

#else /* !LC_AUDIT_ARCH */

int lc_seccomp_install(struct lc_err **err)
{
	return lc_err_set(err, LC_ERR_SYS, ENOSYS,
			  "install seccomp filter: no filter written for this architecture");
}

#endif
