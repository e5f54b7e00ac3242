/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the scheduler (alps.bpf.c) and the dry-run tracer (tracer.bpf.c) share: the
 * classifier maps that name a task's function and the lookup through them, the task
 * contexts, the event counters, and the invocation record with its ring buffer. The
 * loaders (backend/scheduler.go, backend/pinned.go, backend/tracer) open these maps by
 * name, pin them, index the counters and decode the record byte for byte: map names,
 * key and value sizes, counter numbers and struct record are an ABI.
 *
 * Include after vmlinux.h, bpf_helpers.h and bpf_core_read.h, and after defining
 *   struct task_ctx, the per-task context, with at least u32 fn (function id or
 *     FN_NONE), u32 src (enum cls_src) and u64 end (exit time of the group leader);
 *   enum counter, the program's counters (their numbers are the Go side's), with
 *     CNT_CLASSIFY, CNT_RECORD, CNT_RECORD_LOST and last NR_COUNTERS.
 */
#ifndef ALPS_CLASSIFY_H
#define ALPS_CLASSIFY_H

#define FN_NONE 0xffffffffu /* a task of no function */
#define COMM_LEN 16	    /* TASK_COMM_LEN */

/* How a task got its function. */
enum cls_src { SRC_NONE, SRC_INHERIT, SRC_CGROUP, SRC_COMM };

enum record_kind { REC_INVOCATION = 1, REC_EXIT = 2 /* alps.bpf.c only: the scheduler was ejected */ };

/* One finished invocation; mirrored by Record in backend/internal/classify. */
struct record {
	u32 kind;
	u32 fn;
	u32 pid;
	u32 pad;
	u64 start;     /* fork time, CLOCK_MONOTONIC ns */
	u64 end;       /* exit time, CLOCK_MONOTONIC ns */
	u64 cpu;       /* CPU time of all threads (sum_exec_runtime), ns */
	u64 run_delay; /* time runnable but waiting, main thread, ns */
	u64 nvcsw;
	u64 nivcsw;
};

/*
 * The cgroup id is the kernfs node id of the task's cgroup v2 directory, which on 64-bit
 * kernels is that directory's inode number (what user space gets from stat).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, u64); /* cgroup id (cgroup v2 inode number) */
	__type(value, u32);
} cgroup_fn SEC(".maps");

/* Hash keys compare all COMM_LEN bytes: user space must pad names with NULs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, char[COMM_LEN]); /* process name, NUL padded */
	__type(value, u32);
} comm_fn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} records SEC(".maps");

/* Task storage lives and dies with its task: no cleanup at exit is needed. */
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

static __always_inline void count(u32 c)
{
	u64 *n = bpf_map_lookup_elem(&counters, &c);

	if (n)
		(*n)++;
}

/* p's context, or NULL when it has none yet. */
static __always_inline struct task_ctx *get_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

static __always_inline u64 task_cgroup_id(struct task_struct *p)
{
	return BPF_CORE_READ(p, cgroups, dfl_cgrp, kn, id);
}

/*
 * Classifies task p, in the cgroup with id cgid, into t: by its cgroup, then by its
 * name. Without a match a function inherited at fork (SRC_INHERIT) is kept and any
 * other is cleared to FN_NONE.
 */
static __always_inline void classify_task(struct task_ctx *t, struct task_struct *p, u64 cgid)
{
	char comm[COMM_LEN] = {}; /* zeroed: the key is NUL padded past the name */
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

/* For sched_process_exit: the end of an invocation is when its main thread exits. */
static __always_inline void note_exit(struct task_struct *p)
{
	struct task_ctx *t;

	if (p->pid != p->tgid)
		return;
	t = get_ctx(p);
	if (t && t->fn != FN_NONE)
		t->end = bpf_ktime_get_ns();
}

/*
 * For sched_process_free: sends the record of p, if it is a classified process. Only
 * once the process is reaped (its parent's wait4) and freed has the kernel added every
 * thread's CPU time into signal->sum_sched_runtime, so the record's CPU time is what
 * wait4 reported.
 */
static __always_inline void send_invocation(struct task_struct *p)
{
	struct task_ctx *t;
	struct record *r;

	if (p->pid != p->tgid)
		return;
	t = get_ctx(p);
	if (!t || t->fn == FN_NONE)
		return;
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		count(CNT_RECORD_LOST);
		return;
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
}

#endif /* ALPS_CLASSIFY_H */
