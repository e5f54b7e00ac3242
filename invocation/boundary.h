/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How the scheduler reads a thread's invocation boundaries (area.h), step for step the same
 * as observe.go. Plain C with no kernel headers, so that the host-side harness
 * (testdata/boundary_harness.c, run by boundary_c_test.go against observe.go) includes it
 * as the BPF scheduler does.
 *
 * The scheduler observes a thread's area when the thread stops running, while it is the
 * current task (so the area was read from the thread's own memory), with the run that just
 * ended: [run_start, now], CLOCK_MONOTONIC ns, and the CPU time the task clock charged for
 * it (run_cpu). Everything in the area is untrusted: an area that is not the thread's is
 * ignored, event times are clamped into the part of the run not yet accounted for, a start
 * inside an invocation and an end outside one are counted and ignored. The CPU an invocation
 * used is the part of its runs between its start and its end, each part charged at its run's
 * rate of CPU per ns (run_cpu over the run's length), so a run wholly inside an invocation
 * counts what the task clock (sum_exec_runtime) counts.
 */
#ifndef ALPS_INV_BOUNDARY_H
#define ALPS_INV_BOUNDARY_H

#include "area.h"

#define ALPS_INV_DONE (ALPS_INV_EVENTS / 2) /* invocations one observation can finish */

/* A thread's invocation state, kept by the scheduler. */
struct alps_inv_state {
	unsigned long long seen;  /* events of the area consumed */
	unsigned long long start; /* inside: the invocation's start */
	unsigned long long cpu;	  /* inside: CPU it used up to the last observation */
	unsigned int inside;	  /* 1 inside an invocation */
	unsigned int class;	  /* inside: its class hint */
};

/* One finished invocation. */
struct alps_inv_done {
	unsigned long long start;
	unsigned long long end;
	unsigned long long cpu;
	unsigned int class;
	unsigned int carried; /* 1: it started before this observation */
};

/* What one observation found. */
struct alps_inv_obs {
	struct alps_inv_done done[ALPS_INV_DONE];
	unsigned int ndone;
	unsigned int started;	/* starts honoured */
	unsigned int nested;	/* starts inside an invocation, ignored */
	unsigned int unmatched; /* ends outside an invocation, ignored */
	unsigned int lost;	/* events overwritten before they were read */
	unsigned int bad;	/* the area is not the thread's or went back (1), or events of no known kind */
	unsigned int marked;	/* 1: a boundary was honoured; the invocation's attained CPU runs from last */
	unsigned int fresh;	/* 1: the invocation in progress started in this observation */
	unsigned long long last; /* when the last boundary honoured was */
};

#define ALPS_INV_RUN_MAX (1ULL << 40)	/* longest run length and CPU scaled exactly, ns (18 min) */
#define ALPS_INV_RATE_ONE (1ULL << 20)	/* the rate of CPU per ns 1, in fixed point */

/* The rate of CPU per ns of a run of length wall that was charged cpu, in fixed point. */
static inline unsigned long long alps_inv_rate(unsigned long long wall, unsigned long long cpu)
{
	if (wall > ALPS_INV_RUN_MAX)
		wall = ALPS_INV_RUN_MAX;
	if (cpu > wall)
		cpu = wall; /* a task is charged no more than it ran */
	return wall ? (cpu << 20) / wall : ALPS_INV_RATE_ONE;
}

/*
 * The CPU a run of length wall was charged beyond its length. The kernel charges a task from
 * the rq clock it read before the pick that started the run (ops.dispatch included), while
 * the run is timed from ops.running: that excess was spent before the run, so it goes to the
 * invocation the thread was in when the run began.
 */
static inline unsigned long long alps_inv_early(unsigned long long wall, unsigned long long cpu)
{
	if (wall > ALPS_INV_RUN_MAX)
		wall = ALPS_INV_RUN_MAX;
	if (cpu > ALPS_INV_RUN_MAX)
		cpu = ALPS_INV_RUN_MAX;
	return cpu > wall ? cpu - wall : 0;
}

/* The CPU of a part of length d of a run at rate. */
static inline unsigned long long alps_inv_part(unsigned long long d, unsigned long long rate)
{
	if (d > ALPS_INV_RUN_MAX)
		d = ALPS_INV_RUN_MAX;
	return (d * rate) >> 20;
}

/* t clamped to [lo, hi]. */
static inline unsigned long long alps_inv_clamp(unsigned long long t, unsigned long long lo, unsigned long long hi)
{
	return t < lo ? lo : t > hi ? hi : t;
}

/*
 * Observes area a of thread tid at the end of its run [run_start, now] of run_cpu: consumes the events
 * written since s->seen, updates s and fills o (zeroed first). With a not the thread's (magic,
 * tid or size wrong) no event is read, and the run still counts towards an invocation in
 * progress. An area whose seq went back was registered again: the invocation in progress is
 * dropped and its events are read from the first.
 */
static inline void alps_inv_observe(struct alps_inv_state *s, const struct alps_inv_area *a, unsigned int tid,
				    unsigned long long run_start, unsigned long long now, unsigned long long run_cpu,
				    struct alps_inv_obs *o)
{
	unsigned long long n = 0, first = 0, cursor, t, rate, early;
	const struct alps_inv_event *e;
	struct alps_inv_done *d;
	unsigned int i;

	__builtin_memset(o, 0, sizeof(*o));
	if (run_start > now)
		run_start = now;
	rate = alps_inv_rate(now - run_start, run_cpu);
	early = alps_inv_early(now - run_start, run_cpu);
	cursor = run_start; /* the run is accounted for up to here */
	if (a->magic != ALPS_INV_MAGIC || a->tid != tid || a->nevents != ALPS_INV_EVENTS) {
		o->bad = 1;
	} else {
		if (a->seq < s->seen) {
			o->bad = 1;
			s->seen = 0;
			s->inside = 0;
			s->start = 0;
			s->cpu = 0;
			s->class = 0;
		}
		n = a->seq - s->seen;
		first = s->seen;
		if (n > ALPS_INV_EVENTS) {
			o->lost = (unsigned int)(n - ALPS_INV_EVENTS < 0xffffffffULL ? n - ALPS_INV_EVENTS : 0xffffffffULL);
			first = a->seq - ALPS_INV_EVENTS;
			n = ALPS_INV_EVENTS;
		}
		s->seen = a->seq;
	}
	if (s->inside)
		s->cpu += early;
	for (i = 0; i < ALPS_INV_EVENTS; i++) {
		/*
		 * The counts stay in o, not in registers: the BPF verifier would see each count
		 * as a different constant on each path and could merge none of them.
		 */
		__asm__ volatile("" ::: "memory");
		if (i >= n)
			break;
		e = &a->ev[(first + i) & (ALPS_INV_EVENTS - 1)];
		t = alps_inv_clamp(e->time, cursor, now);
		if (e->kind == ALPS_INV_START) {
			if (s->inside) {
				o->nested++;
				continue;
			}
			s->inside = 1;
			s->start = t;
			s->cpu = 0;
			s->class = e->class;
			o->started++;
			o->fresh = 1;
		} else if (e->kind == ALPS_INV_END) {
			if (!s->inside) {
				o->unmatched++;
				continue;
			}
			if (o->ndone < ALPS_INV_DONE) {
				d = &o->done[o->ndone & (ALPS_INV_DONE - 1)];
				d->start = s->start;
				d->end = t;
				d->cpu = s->cpu + alps_inv_part(t - cursor, rate);
				d->class = s->class;
				d->carried = !o->fresh;
				o->ndone++;
			}
			s->inside = 0;
			s->start = 0;
			s->cpu = 0;
			s->class = 0;
			o->fresh = 0;
		} else {
			o->bad++;
			continue;
		}
		cursor = t;
		o->marked = 1;
		o->last = t;
	}
	if (s->inside)
		s->cpu += alps_inv_part(now - cursor, rate);
}

#endif /* ALPS_INV_BOUNDARY_H */
