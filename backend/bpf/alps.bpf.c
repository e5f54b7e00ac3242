// SPDX-License-Identifier: GPL-2.0
/*
 * alps: a sched_ext scheduler for serverless hosts.
 *
 * One shared vtime DSQ, as in the kernel's tools/sched_ext/scx_simple.bpf.c, with the
 * alps ordering rule (backend/ORDERING.md, ordering.h): a task whose function has a
 * rank in a fresh policy table is inserted at its vtime plus an offset that grows with
 * the rank (rank 0 runs first; the offset is at most max_penalty, the starvation bound)
 * and runs with its function's slice.
 *
 * Tasks are classified into functions in the kernel, at fork and exec, by cgroup id
 * (map cgroup_fn) or process name (map comm_fn); threads and children inherit their
 * process's function. Every finished invocation (a classified process) is reported on
 * the ring buffer "records". Classification, task contexts, counters and records are
 * shared with the dry-run tracer (classify.h, tracer.bpf.c). The user-space loader is
 * backend/backend.go.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "ordering.h"

char _license[] SEC("license") = "GPL";

/*
 * kfuncs, declared by hand with the exact names this kernel exports. cilium/ebpf
 * matches kfunc names literally, and the ___v2 variants are real kernel symbols
 * since 6.19 (the plain names of those two can resolve ambiguously).
 */
s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags, bool *is_idle) __ksym;
bool scx_bpf_dsq_insert___v2(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym;
void scx_bpf_dsq_insert_vtime(struct task_struct *p, u64 dsq_id, u64 slice, u64 vtime, u64 enq_flags) __ksym;
bool scx_bpf_dsq_move_to_local___v2(u64 dsq_id, u64 enq_flags) __ksym;
void scx_bpf_error_bstr(char *fmt, unsigned long long *data, u32 data__sz) __ksym;
u64 scx_bpf_now(void) __ksym;

#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)
#define ENOMEM 12

#define SHARED_DSQ 0
#define MAX_FUNCTIONS 65536 /* function ids are 0..MAX_FUNCTIONS-1 */

/* Global knobs, written by the loader as one value (Scheduler.SetPolicy, Heartbeat). */
struct knobs {
	u64 rank_step;
	u64 max_penalty;
	u64 wake_lag;
	u64 default_slice;
	u64 heartbeat_stale; /* 0: the heartbeat is never stale */
	u64 heartbeat;	     /* CLOCK_MONOTONIC ns of the loader's last heartbeat */
	u32 gen;	     /* the live half of the policy array (0 or 1) */
	u32 cls_gen;	     /* bumped on every classifier change */
	u64 fault_after;     /* debug: scx_bpf_error() after this many enqueues; 0: off */
};

/* One policy-table row; the array holds two tables, the live one is knobs.gen. */
struct policy {
	u32 rank;
	u32 valid;
	u64 slice;
};

struct task_ctx {
	u64 v;	     /* the task's own vtime, never shifted by rank */
	u64 started; /* when it last started running */
	u64 end;     /* when the process exited (group leader) */
	u32 fn;	     /* function id or FN_NONE */
	u32 src;     /* enum cls_src */
	u32 cls_gen; /* knobs.cls_gen at the last classification */
	u32 pad;
};

/* Why the scheduler stopped, copied out of struct scx_exit_info in ops.exit. */
struct exit_info {
	s32 kind;
	u32 pad;
	s64 code;
	char reason[128];
	char msg[1024];
};

enum counter {
	CNT_ENQUEUE,	/* ops.enqueue calls */
	CNT_DIRECT,	/* wake-ups sent straight to an idle CPU */
	CNT_RANKED,	/* enqueues ordered by a rank */
	CNT_STALE,	/* enqueues of a classified task while the heartbeat was stale */
	CNT_CAPPED,	/* keys capped at vnow + max_penalty */
	CNT_DISPATCH,	/* tasks moved from the shared DSQ to a CPU */
	CNT_RECORD,	/* invocation records sent */
	CNT_RECORD_LOST, /* records lost: ring buffer full */
	CNT_CLASSIFY,	/* classifications that found a function */
	NR_COUNTERS,
};

/* The classifier maps, task contexts, counters and invocation records. */
#include "classify.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct knobs);
} knobs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MAX_FUNCTIONS);
	__type(key, u32);
	__type(value, struct policy);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct exit_info);
} exit_info SEC(".maps");

/* The scheduler's global virtual clock (vnow in ORDERING.md); user space reads it. */
u64 vtime_now;
/* Enqueues so far, for the fault-injection knob. */
static u64 nr_enqueues;

static __always_inline struct knobs *get_knobs(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&knobs, &zero);
}

/*
 * Classify t's task by its cgroup, then by its name (classify_task); without a match a
 * function inherited at fork is kept. cls_gen is the classifier generation seen.
 */
static __always_inline void classify(struct task_ctx *t, struct task_struct *p, u64 cgid, u32 cls_gen)
{
	t->cls_gen = cls_gen;
	classify_task(t, p, cgid);
}

/* Looks up the rank and slice of t's function; false when t is not ranked. */
static __always_inline bool ranked(struct task_ctx *t, struct knobs *k, struct policy **pol)
{
	u32 idx;

	if (t->fn == FN_NONE || t->fn >= MAX_FUNCTIONS)
		return false;
	if (k->heartbeat_stale && bpf_ktime_get_ns() - k->heartbeat > k->heartbeat_stale) {
		count(CNT_STALE);
		return false;
	}
	idx = (k->gen & 1) * MAX_FUNCTIONS + t->fn;
	*pol = bpf_map_lookup_elem(&policy, &idx);
	return *pol && (*pol)->valid;
}

/*
 * Debug knob: eject the scheduler once fault_after enqueues happened (VM test 4).
 * scx_bpf_error() only marks the scheduler for ejection; later calls are no-ops.
 */
static __always_inline void maybe_fault(struct knobs *k)
{
	u64 n = __sync_fetch_and_add(&nr_enqueues, 1) + 1;
	static char fmt[] = "alps: injected fault after %llu enqueues";
	unsigned long long data[1] = { n };

	if (k->fault_after && n >= k->fault_after)
		scx_bpf_error_bstr(fmt, data, sizeof(data));
}

s32 BPF_STRUCT_OPS(alps_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	struct policy *pol = NULL;
	struct task_ctx *t;
	struct knobs *k;
	bool is_idle = false;
	s32 cpu;

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (!is_idle)
		return cpu;
	/*
	 * An idle CPU: run the waking task there at once (ops.enqueue is skipped), but
	 * still apply the lag clamp of rule step 2 and the function's slice.
	 */
	k = get_knobs();
	t = get_ctx(p);
	if (!k || !t)
		return cpu;
	t->v = alps_clamp_lag(t->v, vtime_now, k->wake_lag);
	scx_bpf_dsq_insert___v2(p, SCX_DSQ_LOCAL,
				ranked(t, k, &pol) && pol ? alps_slice(1, pol->slice, k->default_slice)
							  : k->default_slice,
				0);
	count(CNT_DIRECT);
	return cpu;
}

void BPF_STRUCT_OPS(alps_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct policy *pol = NULL;
	struct task_ctx *t;
	struct knobs *k;
	u64 key, slice, off = 0;
	bool r;

	count(CNT_ENQUEUE);
	k = get_knobs();
	t = get_ctx(p);
	if (!k || !t) {
		scx_bpf_dsq_insert_vtime(p, SHARED_DSQ, SCX_SLICE_DFL, vtime_now, enq_flags);
		return;
	}
	maybe_fault(k);
	if (t->cls_gen != k->cls_gen)
		classify(t, p, task_cgroup_id(p), k->cls_gen);
	/*
	 * Rule step 2 on every enqueue (wake-up, slice expiry, preemption): at most
	 * wake_lag of credit. The rank offset is added after the clamp, in the key only,
	 * so the clamp never erases a rank boost.
	 */
	t->v = alps_clamp_lag(t->v, vtime_now, k->wake_lag);
	r = ranked(t, k, &pol) && pol;
	key = alps_key(t->v, vtime_now, r, r ? pol->rank : 0, k->rank_step, k->max_penalty);
	slice = alps_slice(r, r ? pol->slice : 0, k->default_slice);
	if (r) {
		count(CNT_RANKED);
		off = alps_key(0, 0, 1, pol->rank, k->rank_step, k->max_penalty);
	}
	if (key != t->v + off)
		count(CNT_CAPPED);
	scx_bpf_dsq_insert_vtime(p, SHARED_DSQ, slice, key, enq_flags);
}

void BPF_STRUCT_OPS(alps_dispatch, s32 cpu, struct task_struct *prev)
{
	if (scx_bpf_dsq_move_to_local___v2(SHARED_DSQ, 0))
		count(CNT_DISPATCH);
}

void BPF_STRUCT_OPS(alps_running, struct task_struct *p)
{
	struct task_ctx *t = get_ctx(p);

	if (!t)
		return;
	t->started = scx_bpf_now();
	vtime_now = alps_advance_now(vtime_now, t->v); /* step 5 */
}

void BPF_STRUCT_OPS(alps_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *t = get_ctx(p);

	if (!t)
		return;
	/* Step 6: charge the run time scaled by weight, and let vnow follow. */
	t->v = alps_charge(t->v, scx_bpf_now() - t->started, p->scx.weight);
	vtime_now = alps_advance_now(vtime_now, t->v);
}

void BPF_STRUCT_OPS(alps_enable, struct task_struct *p)
{
	struct task_ctx *t = get_ctx(p);

	if (t)
		t->v = vtime_now; /* step 1: join at the global vtime */
}

s32 BPF_STRUCT_OPS(alps_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	struct task_ctx *t, *parent;
	struct knobs *k = get_knobs();
	u64 cgid = 0;

	t = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return -ENOMEM;
	t->fn = FN_NONE;
	t->src = SRC_NONE;
	/*
	 * At fork the parent is current: a new thread or child process inherits the
	 * function of the one that created it (threads of a function are the function).
	 */
	if (args->fork) {
		parent = bpf_task_storage_get(&task_ctxs, bpf_get_current_task_btf(), 0, 0);
		if (parent && parent->fn != FN_NONE) {
			t->fn = parent->fn;
			t->src = SRC_INHERIT;
		}
	}
	/* p->cgroups is not set up yet at fork: the kernel passes the cgroup it will join. */
	if (args->cgroup)
		cgid = BPF_CORE_READ(args->cgroup, kn, id);
	else
		cgid = task_cgroup_id(p);
	classify(t, p, cgid, k ? k->cls_gen : 0);
	return 0;
}

void BPF_STRUCT_OPS(alps_cgroup_move, struct task_struct *p, struct cgroup *from, struct cgroup *to)
{
	struct task_ctx *t = get_ctx(p);
	struct knobs *k = get_knobs();

	if (t)
		classify(t, p, BPF_CORE_READ(to, kn, id), k ? k->cls_gen : 0);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(alps_init)
{
	return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

void BPF_STRUCT_OPS(alps_exit, struct scx_exit_info *ei)
{
	u32 zero = 0;
	struct exit_info *e = bpf_map_lookup_elem(&exit_info, &zero);
	struct record *r;

	if (e) {
		e->kind = ei->kind;
		e->code = ei->exit_code;
		bpf_probe_read_kernel_str(e->reason, sizeof(e->reason), ei->reason);
		bpf_probe_read_kernel_str(e->msg, sizeof(e->msg), ei->msg);
	}
	/* Wake the loader: it learns of the ejection from the ring buffer. */
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (r) {
		__builtin_memset(r, 0, sizeof(*r));
		r->kind = REC_EXIT;
		bpf_ringbuf_submit(r, 0);
	}
}

/* exec changes the process name: classify again (the new name may be a function). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(alps_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_ctx *t = get_ctx(p);
	struct knobs *k = get_knobs();

	if (t)
		classify(t, p, task_cgroup_id(p), k ? k->cls_gen : 0);
	return 0;
}

/* The end of an invocation is when its main thread exits. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(alps_proc_exit, struct task_struct *p, bool group_dead)
{
	note_exit(p);
	return 0;
}

/* The record is sent when the process is freed (after its parent reaped it). */
SEC("tp_btf/sched_process_free")
int BPF_PROG(alps_proc_free, struct task_struct *p)
{
	send_invocation(p);
	return 0;
}

SEC(".struct_ops.link")
struct sched_ext_ops alps_ops = {
	.select_cpu = (void *)alps_select_cpu,
	.enqueue = (void *)alps_enqueue,
	.dispatch = (void *)alps_dispatch,
	.running = (void *)alps_running,
	.stopping = (void *)alps_stopping,
	.enable = (void *)alps_enable,
	.init_task = (void *)alps_init_task,
	.cgroup_move = (void *)alps_cgroup_move,
	.init = (void *)alps_init,
	.exit = (void *)alps_exit,
	/* The kernel ejects us if a runnable task waits this long (the watchdog). */
	.timeout_ms = 5000,
	.name = "alps",
};
