/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The alps ordering rule (ORDERING.md beside this file), step for step the same
 * as ordering.go. Plain C with no kernel headers, so the host-side harness
 * (testdata/ordering_harness.c, run by ordering_c_test.go over ordering_vectors.csv)
 * includes it too.
 *
 * vtimes are unsigned 64-bit and compared through signed differences, so they may
 * wrap around like the kernel's; a queue key holds the level in its top bits and the
 * vtime modulo 2^56 below.
 */
#ifndef ALPS_ORDERING_H
#define ALPS_ORDERING_H

#define ALPS_NICE0_WEIGHT 100
#define ALPS_MAX_LEVELS 32	       /* policy.MaxLevels */
#define ALPS_MAX_STEPS 8	       /* policy.MaxSteps */
#define ALPS_MIN_QUANTUM 1000000ULL    /* policy.MinQuantum, ns */
#define ALPS_LEVEL_SHIFT 56

/* A function's row of the policy table (policy.Entry), as the rule reads it. */
struct alps_steps {
	unsigned long long slice;
	unsigned long long step_at[ALPS_MAX_STEPS];
	unsigned int step_rank[ALPS_MAX_STEPS];
	unsigned int rank;
	unsigned char nsteps;
};

/* True when vtime a is before vtime b. */
static inline int alps_before(unsigned long long a, unsigned long long b)
{
	return (long long)(a - b) < 0;
}

/* Step 2, on every enqueue: a task keeps at most lag of credit. */
static inline unsigned long long alps_clamp_lag(unsigned long long v, unsigned long long vnow,
						 unsigned long long lag)
{
	unsigned long long floor = vnow - lag;

	return alps_before(v, floor) ? floor : v;
}

/*
 * Step 3: the level of a task that has used attained ns in its invocation: the last step
 * it reached (the rank without steps), 0 when unranked; past the last step (at > 0) one
 * level lower per doubling of attained beyond it; at most the last level.
 */
static inline unsigned int alps_level(const struct alps_steps *e, int ranked, unsigned long long attained)
{
	unsigned long long last = 0, x;
	unsigned int r;
	int i;

	if (!ranked)
		return 0;
	r = e->rank;
	if (e->nsteps) {
		r = e->step_rank[0];
		for (i = 1; i < ALPS_MAX_STEPS; i++) {
			if (i >= e->nsteps)
				break;
			last = e->step_at[i];
			if (attained < last)
				break;
			r = e->step_rank[i];
		}
		if (e->nsteps > 1 && i >= e->nsteps && last && attained >= 2 * last) {
			x = attained / last;
			for (i = 0; i < 64 && x >= 2; i++) {
				x >>= 1;
				r++;
			}
		}
	}
	return r < ALPS_MAX_LEVELS ? r : ALPS_MAX_LEVELS - 1;
}

/* Step 4: the queue key, levels in strict order and the vtime within a level. */
static inline unsigned long long alps_key(unsigned int level, unsigned long long v)
{
	if (level >= ALPS_MAX_LEVELS)
		level = ALPS_MAX_LEVELS - 1;
	return (unsigned long long)level << ALPS_LEVEL_SHIFT | (v & ((1ULL << ALPS_LEVEL_SHIFT) - 1));
}

/*
 * Step 5: the quantum: the function's slice (the default without an entry or a slice), cut
 * at the next step so that the task is queued again at its new level, at least
 * ALPS_MIN_QUANTUM.
 */
static inline unsigned long long alps_quantum(const struct alps_steps *e, int ranked,
					      unsigned long long attained, unsigned long long default_slice)
{
	unsigned long long q = default_slice, left;
	int i;

	if (!ranked)
		return q;
	if (e->slice)
		q = e->slice;
	for (i = 1; i < ALPS_MAX_STEPS; i++) {
		if (i >= e->nsteps)
			break;
		if (attained < e->step_at[i]) {
			left = e->step_at[i] - attained;
			if (left < ALPS_MIN_QUANTUM)
				left = ALPS_MIN_QUANTUM;
			return left < q ? left : q;
		}
	}
	return q;
}

/* Step 7: charge used ns of run time, scaled by the task's weight (100 = nice 0). */
static inline unsigned long long alps_charge(unsigned long long v, unsigned long long used,
					     unsigned int weight)
{
	if (!weight)
		weight = ALPS_NICE0_WEIGHT;
	return v + used * ALPS_NICE0_WEIGHT / weight;
}

/* Steps 6 and 7: the global vtime never goes back. */
static inline unsigned long long alps_advance_now(unsigned long long vnow, unsigned long long v)
{
	return alps_before(vnow, v) ? v : vnow;
}

/* Step 8: a task queued at enq has waited max_wait (0: never) by now. */
static inline int alps_aged(unsigned long long enq, unsigned long long now, unsigned long long max_wait)
{
	return max_wait && now - enq >= max_wait;
}

#endif /* ALPS_ORDERING_H */
