// SPDX-License-Identifier: GPL-2.0
/*
 * alps tracer: the invocation records of alps.bpf.c without the scheduler, for
 * "alps-frontend --dry-run" on kernels without sched_ext (backend/tracer).
 *
 * alps.bpf.c gives each task its context in ops.init_task, a sched_ext callback; here
 * the context is created by tracepoints instead: at fork (inheriting the parent's
 * function), at exec and at a cgroup change (for tasks that existed before the tracer
 * was loaded). Classification, the classifier maps and the record are alps.bpf.c's
 * (classify.h): by cgroup id (cgroup_fn), then by process name (comm_fn), else the
 * inherited function; one record per finished process, sent when it is freed.
 *
 * Needs BTF, tp_btf (5.5), BPF ring buffers (5.8) and task storage in tracing programs
 * (5.11); no sched_ext, no kfuncs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char _license[] SEC("license") = "GPL";

struct task_ctx {
	u64 end; /* when the process exited (group leader) */
	u32 fn;	 /* function id or FN_NONE */
	u32 src; /* enum cls_src */
};

enum counter {
	CNT_RECORD,	 /* invocation records sent */
	CNT_RECORD_LOST, /* records lost: ring buffer full */
	CNT_CLASSIFY,	 /* classifications that found a function */
	NR_COUNTERS,
};

/* alps.bpf.c's classifier maps, task contexts, counters and invocation records. */
#include "classify.h"

/* A new context: no function (fork fills in the parent's). */
static __always_inline struct task_ctx *new_ctx(struct task_struct *p)
{
	struct task_ctx *t = get_ctx(p);

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

/* As alps.bpf.c's classify (classify_task), at the task's current cgroup. */
static __always_inline void classify(struct task_ctx *t, struct task_struct *p)
{
	classify_task(t, p, task_cgroup_id(p));
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(trace_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_ctx *pt = get_ctx(parent);
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
	note_exit(p);
	return 0;
}

/* Sent when the process is freed: only then is every thread's CPU time summed. */
SEC("tp_btf/sched_process_free")
int BPF_PROG(trace_free, struct task_struct *p)
{
	send_invocation(p);
	return 0;
}
