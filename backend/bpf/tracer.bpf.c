// SPDX-License-Identifier: GPL-2.0
/*
 * alps tracer: the invocation records of alps.bpf.c without the scheduler, for
 * "alps-frontend --dry-run" on kernels without sched_ext (backend/tracer).
 *
 * alps.bpf.c gives each task its context in ops.init_task, a sched_ext callback; here
 * the context is created by tracepoints instead: at fork (inheriting the parent's
 * function), at exec and at a cgroup change (for tasks that existed before the tracer
 * was loaded). Classification is the same: by cgroup id (cgroup_fn), then by process
 * name (comm_fn), else the inherited function. One record per finished process, sent
 * when it is freed, with the layout of alps.bpf.c's struct record.
 *
 * Needs BTF, tp_btf (5.5), BPF ring buffers (5.8) and task storage in tracing programs
 * (5.11); no sched_ext, no kfuncs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char _license[] SEC("license") = "GPL";

#define FN_NONE 0xffffffffu
#define COMM_LEN 16

enum cls_src { SRC_NONE, SRC_INHERIT, SRC_CGROUP, SRC_COMM };

struct task_ctx {
	u64 end; /* when the process exited (group leader) */
	u32 fn;	 /* function id or FN_NONE */
	u32 src; /* enum cls_src */
};

enum record_kind { REC_INVOCATION = 1 };

/* The layout of alps.bpf.c's struct record (backend.rawRecord). */
struct record {
	u32 kind;
	u32 fn;
	u32 pid;
	u32 pad;
	u64 start;
	u64 end;
	u64 cpu;
	u64 run_delay;
	u64 nvcsw;
	u64 nivcsw;
};

enum counter {
	CNT_RECORD,	 /* invocation records sent */
	CNT_RECORD_LOST, /* records lost: ring buffer full */
	CNT_CLASSIFY,	 /* classifications that found a function */
	NR_COUNTERS,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, u64); /* cgroup id (cgroup v2 inode number) */
	__type(value, u32);
} cgroup_fn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, char[COMM_LEN]); /* process name, NUL padded */
	__type(value, u32);
} comm_fn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} records SEC(".maps");

static __always_inline void count(u32 c)
{
	u64 *n = bpf_map_lookup_elem(&counters, &c);

	if (n)
		(*n)++;
}

static __always_inline u64 task_cgroup_id(struct task_struct *p)
{
	return BPF_CORE_READ(p, cgroups, dfl_cgrp, kn, id);
}

/* A new context: no function (fork fills in the parent's). */
static __always_inline struct task_ctx *new_ctx(struct task_struct *p)
{
	struct task_ctx *t = bpf_task_storage_get(&task_ctxs, p, 0, 0);

	if (t)
		return t;
	t = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (t) {
		t->fn = FN_NONE;
		t->src = SRC_NONE;
		t->end = 0;
	}
	return t;
}

/* As alps.bpf.c's classify: cgroup, then name, else keep an inherited function. */
static __always_inline void classify(struct task_ctx *t, struct task_struct *p)
{
	char comm[COMM_LEN] = {};
	u64 cgid = task_cgroup_id(p);
	u32 *fn;

	fn = bpf_map_lookup_elem(&cgroup_fn, &cgid);
	if (fn) {
		t->fn = *fn;
		t->src = SRC_CGROUP;
		count(CNT_CLASSIFY);
		return;
	}
	bpf_probe_read_kernel_str(comm, sizeof(comm), p->comm);
	fn = bpf_map_lookup_elem(&comm_fn, comm);
	if (fn) {
		t->fn = *fn;
		t->src = SRC_COMM;
		count(CNT_CLASSIFY);
		return;
	}
	if (t->src != SRC_INHERIT) {
		t->fn = FN_NONE;
		t->src = SRC_NONE;
	}
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(trace_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_ctx *pt = bpf_task_storage_get(&task_ctxs, parent, 0, 0);
	struct task_ctx *t = new_ctx(child);

	if (!t)
		return 0;
	if (pt && pt->fn != FN_NONE) {
		t->fn = pt->fn;
		t->src = SRC_INHERIT;
	}
	classify(t, child);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(trace_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_ctx *t = new_ctx(p);

	if (t)
		classify(t, p);
	return 0;
}

/* A task moved to another cgroup (the tracepoint fires after the move). */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(trace_cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *p, bool threadgroup)
{
	struct task_ctx *t = new_ctx(p);

	if (t)
		classify(t, p);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(trace_exit, struct task_struct *p, bool group_dead)
{
	struct task_ctx *t;

	if (p->pid != p->tgid)
		return 0;
	t = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	if (t && t->fn != FN_NONE)
		t->end = bpf_ktime_get_ns();
	return 0;
}

/* Sent when the process is freed: only then is every thread's CPU time summed. */
SEC("tp_btf/sched_process_free")
int BPF_PROG(trace_free, struct task_struct *p)
{
	struct task_ctx *t;
	struct record *r;

	if (p->pid != p->tgid)
		return 0;
	t = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	if (!t || t->fn == FN_NONE)
		return 0;
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		count(CNT_RECORD_LOST);
		return 0;
	}
	r->kind = REC_INVOCATION;
	r->fn = t->fn;
	r->pid = p->tgid;
	r->pad = 0;
	r->start = p->start_time;
	r->end = t->end ? t->end : bpf_ktime_get_ns();
	r->cpu = BPF_CORE_READ(p, signal, sum_sched_runtime);
	r->run_delay = p->sched_info.run_delay;
	r->nvcsw = BPF_CORE_READ(p, signal, nvcsw);
	r->nivcsw = BPF_CORE_READ(p, signal, nivcsw);
	bpf_ringbuf_submit(r, 0);
	count(CNT_RECORD);
	return 0;
}
