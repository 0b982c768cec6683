/* SPDX-License-Identifier: MIT */
/*
 * seccomp-profile: docker's JSON seccomp profile format (--security-opt seccomp=FILE) compiled
 * into a classic BPF program, without libseccomp. Fields: defaultAction, defaultErrnoRet,
 * architectures (must name this machine's, or be empty), syscalls[] with names, action,
 * errnoRet, args [{index, value, valueTwo, op}], and includes/excludes by caps, arches and
 * minKernel, which decide (from the container's capabilities, this machine's architecture
 * and kernel) whether a rule is in the program at all. Rules are tried in the profile's
 * order: the first whose syscall and arguments all match decides; none: defaultAction. Only
 * the native ABI's syscalls are judged by the profile; another ABI's (i386 and x32 on x86_64,
 * arm32 on arm64) are EPERM. A name this machine has no syscall for is skipped (as docker's
 * libseccomp does).
 */
#include <errno.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "mount-int.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

#if defined(__x86_64__) && !defined(__ILP32__)
#define NATIVE_ARCH   AUDIT_ARCH_X86_64
#define NATIVE_SCMP   "SCMP_ARCH_X86_64"
#define NATIVE_GOARCH "amd64"
#elif defined(__aarch64__) && !defined(__ILP32__)
#define NATIVE_ARCH   AUDIT_ARCH_AARCH64
#define NATIVE_SCMP   "SCMP_ARCH_AARCH64"
#define NATIVE_GOARCH "arm64"
#endif

static const struct {
	const char *name;
	int nr;
} syscall_names[] = {
#include "syscall-names.h"
};

int lc_syscall_number(const char *name)
{
	for (size_t i = 0; i < LC_ARRAY_SIZE(syscall_names); i++)
		if (!strcmp(syscall_names[i].name, name))
			return syscall_names[i].nr;
	return -1;
}

/* a classic BPF program is at most BPF_MAXINSNS (4096) instructions */
#define MAX_INSNS 4096

struct insn {
	struct sock_filter f;
	size_t jt, jf; /* labels (0: the next instruction) */
};

struct lc_seccomp_prog {
	size_t n, n_labels;
	bool too_long;
	struct insn insn[MAX_INSNS];
	size_t label_at[MAX_INSNS + 1];
	struct sock_filter out[MAX_INSNS];
};

static size_t new_label(struct lc_seccomp_prog *p)
{
	if (p->n_labels >= MAX_INSNS) {
		p->too_long = true;
		return 0;
	}
	p->label_at[++p->n_labels] = (size_t)-1;
	return p->n_labels;
}

static void place(struct lc_seccomp_prog *p, size_t label)
{
	if (label)
		p->label_at[label] = p->n;
}

static void emit(struct lc_seccomp_prog *p, uint16_t code, uint32_t k, size_t jt, size_t jf)
{
	if (p->n >= MAX_INSNS) {
		p->too_long = true;
		return;
	}
	p->insn[p->n++] = (struct insn){ .f = { .code = code, .k = k }, .jt = jt, .jf = jf };
}

static void ld(struct lc_seccomp_prog *p, size_t off)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, (uint32_t)off, 0, 0);
}

static void jmp(struct lc_seccomp_prog *p, uint16_t op, uint32_t k, size_t jt, size_t jf)
{
	emit(p, BPF_JMP | op | BPF_K, k, jt, jf);
}

static void ret(struct lc_seccomp_prog *p, uint32_t v)
{
	emit(p, BPF_RET | BPF_K, v, 0, 0);
}

static size_t arg_off(unsigned int i, bool hi)
{
	size_t off = offsetof(struct seccomp_data, args) + i * sizeof(uint64_t);

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	hi = !hi;
#endif
	return off + (hi ? sizeof(uint32_t) : 0);
}

/* Resolve labels into jump offsets; each must fit a byte (a rule of at most 255 insns). */
static int resolve(struct lc_seccomp_prog *p, struct lc_err **err)
{
	if (p->too_long)
		return lc_err_set(err, LC_ERR_LIMIT, 0,
				  "seccomp profile: more than %d instructions", MAX_INSNS);
	for (size_t i = 0; i < p->n; i++) {
		size_t t[2] = { p->insn[i].jt, p->insn[i].jf };
		uint8_t o[2] = { 0, 0 };

		for (int k = 0; k < 2; k++) {
			size_t at;

			if (!t[k])
				continue;
			at = p->label_at[t[k]];
			if (at == (size_t)-1 || at <= i || at - i - 1 > 255)
				return lc_err_set(err, LC_ERR_LIMIT, 0,
						  "seccomp profile: a rule too long to jump over");
			o[k] = (uint8_t)(at - i - 1);
		}
		p->out[i] = p->insn[i].f;
		p->out[i].jt = o[0];
		p->out[i].jf = o[1];
	}
	return 0;
}

/* "SCMP_ACT_ERRNO" and its errno -> a SECCOMP_RET_* value; errno_ret < 0: default (EPERM) */
static int action_of(const char *a, json_int_t errno_ret, uint32_t *ret_v, struct lc_err **err)
{
	uint32_t e = errno_ret >= 0 ? (uint32_t)errno_ret & SECCOMP_RET_DATA : EPERM;

	if (!a)
		return lc_err_set(err, LC_ERR_INVALID, 0, "seccomp profile: missing action");
	if (!strcmp(a, "SCMP_ACT_ALLOW"))
		*ret_v = SECCOMP_RET_ALLOW;
	else if (!strcmp(a, "SCMP_ACT_ERRNO"))
		*ret_v = SECCOMP_RET_ERRNO | e;
	else if (!strcmp(a, "SCMP_ACT_KILL") || !strcmp(a, "SCMP_ACT_KILL_THREAD"))
		*ret_v = SECCOMP_RET_KILL_THREAD;
	else if (!strcmp(a, "SCMP_ACT_KILL_PROCESS"))
		*ret_v = SECCOMP_RET_KILL_PROCESS;
	else if (!strcmp(a, "SCMP_ACT_TRAP"))
		*ret_v = SECCOMP_RET_TRAP;
	else if (!strcmp(a, "SCMP_ACT_LOG"))
		*ret_v = SECCOMP_RET_LOG;
	else if (!strcmp(a, "SCMP_ACT_TRACE"))
		*ret_v = SECCOMP_RET_TRACE | e; /* no tracer: the caller sees ENOSYS */
	else
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "seccomp profile: action '%.40s' is not supported", a);
	return 0;
}

static uint32_t kernel_version(void)
{
	struct utsname u;
	unsigned int a = 0, b = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &a, &b) < 1)
		return 0;
	return a << 16 | b;
}

static bool strv_json_has(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) if (json_is_string(v) &&
					  !strcmp(json_string_value(v), s)) return true;
	return false;
}

/* includes (all must hold) and excludes (none may): caps, arches, minKernel */
static int rule_applies(json_t *rule, uint64_t caps, bool *ret, struct lc_err **err)
{
	json_t *inc = json_object_get(rule, "includes"), *exc = json_object_get(rule, "excludes");
	json_t *v;
	size_t i;

	*ret = true;
	for (int pass = 0; pass < 2; pass++) {
		json_t *o = pass ? exc : inc;
		json_t *cl, *al, *mk;

		if (!json_is_object(o))
			continue;
		cl = json_object_get(o, "caps");
		al = json_object_get(o, "arches");
		mk = json_object_get(o, "minKernel");
		json_array_foreach(cl, i, v)
		{
			int cap = json_is_string(v) ? lc_cap_number(json_string_value(v)) : -1;
			bool has = cap >= 0 && (caps & (1ULL << cap));

			if (cap < 0)
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "seccomp profile: unknown capability in %s",
						  pass ? "excludes" : "includes");
			if (pass ? has : !has)
				*ret = false;
		}
		if (json_is_array(al) && json_array_size(al) > 0) {
#ifdef NATIVE_GOARCH
			bool here = strv_json_has(al, NATIVE_GOARCH);
#else
			bool here = false;
#endif
			if (pass ? here : !here)
				*ret = false;
		}
		if (json_is_string(mk)) {
			unsigned int a = 0, b = 0;

			if (sscanf(json_string_value(mk), "%u.%u", &a, &b) < 1)
				return lc_err_set(err, LC_ERR_INVALID, 0,
						  "seccomp profile: bad minKernel '%.20s'",
						  json_string_value(mk));
			if ((kernel_version() >= (a << 16 | b)) == (pass != 0))
				*ret = false;
		}
	}
	return 0;
}

/* One argument's comparison; falls through when it holds, jumps to fail when not. */
static int emit_arg(struct lc_seccomp_prog *p, json_t *arg, size_t fail, struct lc_err **err)
{
	json_t *ji = json_object_get(arg, "index"), *jv = json_object_get(arg, "value"),
	       *jv2 = json_object_get(arg, "valueTwo"), *jop = json_object_get(arg, "op");
	const char *op = json_string_value(jop);
	uint64_t v = json_is_integer(jv) ? (uint64_t)json_integer_value(jv) : 0;
	uint64_t v2 = json_is_integer(jv2) ? (uint64_t)json_integer_value(jv2) : 0;
	uint32_t vhi = (uint32_t)(v >> 32), vlo = (uint32_t)v;
	json_int_t idx = json_is_integer(ji) ? json_integer_value(ji) : -1;
	size_t ok = new_label(p);

	if (idx < 0 || idx > 5 || !op)
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "seccomp profile: an argument needs an index 0-5 and an op");
	if (!strcmp(op, "SCMP_CMP_EQ")) {
		ld(p, arg_off((unsigned)idx, true));
		jmp(p, BPF_JEQ, vhi, 0, fail);
		ld(p, arg_off((unsigned)idx, false));
		jmp(p, BPF_JEQ, vlo, 0, fail);
	} else if (!strcmp(op, "SCMP_CMP_NE")) {
		ld(p, arg_off((unsigned)idx, true));
		jmp(p, BPF_JEQ, vhi, 0, ok);
		ld(p, arg_off((unsigned)idx, false));
		jmp(p, BPF_JEQ, vlo, fail, 0);
	} else if (!strcmp(op, "SCMP_CMP_MASKED_EQ")) {
		/* docker's value is the mask, valueTwo what the masked argument must equal */
		ld(p, arg_off((unsigned)idx, true));
		emit(p, BPF_ALU | BPF_AND | BPF_K, (uint32_t)(v >> 32), 0, 0);
		jmp(p, BPF_JEQ, (uint32_t)(v2 >> 32), 0, fail);
		ld(p, arg_off((unsigned)idx, false));
		emit(p, BPF_ALU | BPF_AND | BPF_K, (uint32_t)v, 0, 0);
		jmp(p, BPF_JEQ, (uint32_t)v2, 0, fail);
	} else if (!strcmp(op, "SCMP_CMP_GT") || !strcmp(op, "SCMP_CMP_GE")) {
		ld(p, arg_off((unsigned)idx, true));
		jmp(p, BPF_JGT, vhi, ok, 0);
		jmp(p, BPF_JEQ, vhi, 0, fail);
		ld(p, arg_off((unsigned)idx, false));
		jmp(p, !strcmp(op, "SCMP_CMP_GT") ? BPF_JGT : BPF_JGE, vlo, ok, fail);
	} else if (!strcmp(op, "SCMP_CMP_LT") || !strcmp(op, "SCMP_CMP_LE")) {
		ld(p, arg_off((unsigned)idx, true));
		jmp(p, BPF_JGT, vhi, fail, 0);
		jmp(p, BPF_JEQ, vhi, 0, ok);
		ld(p, arg_off((unsigned)idx, false));
		/* LT: lo >= v fails; LE: lo > v fails */
		jmp(p, !strcmp(op, "SCMP_CMP_LT") ? BPF_JGE : BPF_JGT, vlo, fail, ok);
	} else {
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "seccomp profile: comparison '%.40s' is not supported", op);
	}
	place(p, ok);
	return 0;
}

/* The rule for one syscall number: leaves the number in A for the next one. */
static int emit_rule(struct lc_seccomp_prog *p, int nr, json_t *args, uint32_t action,
		     struct lc_err **err)
{
	size_t next = new_label(p), reload = json_array_size(args) ? new_label(p) : next;
	json_t *a;
	size_t i;

	jmp(p, BPF_JEQ, (uint32_t)nr, 0, next);
	json_array_foreach(args, i, a) if (emit_arg(p, a, reload, err) < 0) return -1;
	ret(p, action);
	if (reload != next) {
		place(p, reload);
		ld(p, offsetof(struct seccomp_data, nr));
	}
	place(p, next);
	return 0;
}

static int compile(json_t *j, uint64_t caps, struct lc_seccomp_prog *p, struct lc_err **err)
{
	json_t *rules = json_object_get(j, "syscalls"),
	       *arches = json_object_get(j, "architectures");
	json_t *jer = json_object_get(j, "defaultErrnoRet");
	size_t native = new_label(p), not_x32 = new_label(p);
	uint32_t def;
	json_t *rule;
	size_t i;

	if (!json_is_object(j))
		return lc_err_set(err, LC_ERR_INVALID, 0, "seccomp profile: not a JSON object");
	if (action_of(json_string_value(json_object_get(j, "defaultAction")),
		      json_is_integer(jer) ? json_integer_value(jer) : -1, &def, err) < 0)
		return lc_err_prefix(err, "defaultAction");
#ifdef NATIVE_SCMP
	if (json_is_array(arches) && json_array_size(arches) > 0 &&
	    !strv_json_has(arches, NATIVE_SCMP))
		return lc_err_set(err, LC_ERR_INVALID, 0,
				  "seccomp profile: its architectures do not include %s",
				  NATIVE_SCMP);
	/* the numbers below mean something in the native ABI only: refuse the others */
	ld(p, offsetof(struct seccomp_data, arch));
	jmp(p, BPF_JEQ, NATIVE_ARCH, native, 0);
	ret(p, SECCOMP_RET_ERRNO | EPERM);
	place(p, native);
	ld(p, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	jmp(p, BPF_JGE, __X32_SYSCALL_BIT, 0, not_x32);
	ret(p, SECCOMP_RET_ERRNO | EPERM);
#endif
	place(p, not_x32);
#else
	(void)arches;
	(void)native;
	(void)not_x32;
	return lc_err_set(err, LC_ERR_INVALID, 0,
			  "seccomp profile: no seccomp support for this architecture");
#endif
	json_array_foreach(rules, i, rule)
	{
		json_t *names = json_object_get(rule, "names"),
		       *args = json_object_get(rule, "args");
		json_t *one = json_object_get(rule, "name"),
		       *ret_j = json_object_get(rule, "errnoRet");
		uint32_t action;
		bool applies;
		size_t k;
		json_t *n;

		if (!json_is_object(rule))
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "seccomp profile: syscalls[%zu] is not an object", i);
		if (action_of(json_string_value(json_object_get(rule, "action")),
			      json_is_integer(ret_j) ? json_integer_value(ret_j) : -1, &action,
			      err) < 0)
			return lc_err_prefix(err, "syscalls[%zu]", i);
		if (rule_applies(rule, caps, &applies, err) < 0)
			return -1;
		if (!applies)
			continue;
		/* null is no args, as docker's Go decoder reads it (podman's seccomp.json has it) */
		if (args && !json_is_array(args) && !json_is_null(args))
			return lc_err_set(err, LC_ERR_INVALID, 0,
					  "seccomp profile: syscalls[%zu].args is not a list", i);
		/* a name this machine has no number for is skipped, as libseccomp does */
		if (json_is_string(one) && lc_syscall_number(json_string_value(one)) >= 0 &&
		    emit_rule(p, lc_syscall_number(json_string_value(one)), args, action, err) < 0)
			return -1;
		json_array_foreach(names, k, n)
		{
			int nr = json_is_string(n) ? lc_syscall_number(json_string_value(n)) : -1;

			if (nr >= 0 && emit_rule(p, nr, args, action, err) < 0)
				return -1;
		}
	}
	ret(p, def);
	return resolve(p, err);
}

int lc_seccomp_profile_compile(const char *json, size_t len, uint64_t caps,
			       struct lc_seccomp_prog **ret_prog, struct lc_err **err)
{
	json_t *j = lc_json_parse(json, len, "seccomp profile", err);
	struct lc_seccomp_prog *p;

	if (!j)
		return -1;
	p = lc_xcalloc(1, sizeof(*p));
	if (compile(j, caps, p, err) < 0) {
		json_decref(j);
		free(p);
		return -1;
	}
	json_decref(j);
	*ret_prog = p;
	return 0;
}

int lc_seccomp_prog_install(const struct lc_seccomp_prog *p, struct lc_err **err)
{
	struct sock_fprog f = { .len = (unsigned short)p->n,
				.filter = (struct sock_filter *)p->out };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &f, 0, 0) < 0)
		return lc_err_set(err, LC_ERR_SYS, errno, "install the seccomp profile");
	return 0;
}

void lc_seccomp_prog_free(struct lc_seccomp_prog *p)
{
	free(p);
}

/* the compiler's build, in the cache's key: a new layerctl never loads an older one's output */
const char lc_seccomp_compiler_id[] = "seccomp-profile.c " __DATE__ " " __TIME__;

struct lc_seccomp_prog *lc_seccomp_prog_from(const struct sock_filter *f, size_t n)
{
	struct lc_seccomp_prog *p;

	if (n == 0 || n > MAX_INSNS)
		return NULL;
	p = lc_xcalloc(1, sizeof(*p));
	memcpy(p->out, f, n * sizeof(*f));
	p->n = n;
	return p;
}

const struct sock_filter *lc_seccomp_prog_filter(const struct lc_seccomp_prog *p, size_t *ret_n)
{
	*ret_n = p->n;
	return p->out;
}
