// SPDX-License-Identifier: GPL-2.0
/*
 * ordering.h compiled for BPF and run in the kernel (BPF_PROG_RUN of a syscall
 * program): one enqueue-run cycle of backend/testdata/ordering_vectors.csv per run, the
 * same steps as backend/testdata/ordering_harness.c. The VM suite checks every vector.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ordering.h"

char _license[] SEC("license") = "GPL";

/* One vector; the layout is mirrored by orderingcheck.Vector. */
struct vector {
	unsigned long long v, vnow, used, rank_step, max_penalty, wake_lag;
	unsigned int weight, rank, ranked, pad;
	/* outputs */
	unsigned long long v_enq, key, v_done, vnow_done;
};

SEC("syscall")
int ordering_cycle(struct vector *x)
{
	unsigned long long v = x->v, vnow = x->vnow;

	v = alps_clamp_lag(v, vnow, x->wake_lag); /* every enqueue */
	x->v_enq = v;
	x->key = alps_key(v, vnow, x->ranked, x->rank, x->rank_step, x->max_penalty);
	vnow = alps_advance_now(vnow, v);
	v = alps_charge(v, x->used, x->weight);
	x->v_done = v;
	x->vnow_done = alps_advance_now(vnow, v);
	return 0;
}
