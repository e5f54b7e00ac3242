/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The alps ordering rule (ORDERING.md beside this file), step for step the same
 * as ordering.go. Plain C with no kernel headers, so the host-side harness
 * (testdata/ordering_harness.c, run by ordering_c_test.go over ordering_vectors.csv)
 * includes it too.
 *
 * vtimes are unsigned 64-bit and compared through signed differences, so they may
 * wrap around like the kernel's.
 */
#ifndef ALPS_ORDERING_H
#define ALPS_ORDERING_H

#define ALPS_NICE0_WEIGHT 100

/* True when vtime a is before vtime b. */
static inline int alps_before(unsigned long long a, unsigned long long b)
{
	return (long long)(a - b) < 0;
}

/* Step 2, on every enqueue: a task keeps at most lag of credit behind vnow. */
static inline unsigned long long alps_clamp_lag(unsigned long long v, unsigned long long vnow,
						 unsigned long long lag)
{
	unsigned long long floor = vnow - lag;

	return alps_before(v, floor) ? floor : v;
}

/*
 * Step 3: the DSQ key. A ranked task is pushed back by rank * rank_step, at most
 * max_penalty; no key is ever more than max_penalty ahead of vnow (the starvation bound).
 */
static inline unsigned long long alps_key(unsigned long long v, unsigned long long vnow, int ranked,
					  unsigned int rank, unsigned long long rank_step,
					  unsigned long long max_penalty)
{
	unsigned long long off = 0, key, cap;

	if (ranked) {
		off = (unsigned long long)rank * rank_step;
		if (off > max_penalty)
			off = max_penalty;
	}
	key = v + off;
	cap = vnow + max_penalty;
	return alps_before(cap, key) ? cap : key;
}

/* Step 4: the slice, the function's when ranked (and set), else the default. */
static inline unsigned long long alps_slice(int ranked, unsigned long long slice,
					    unsigned long long default_slice)
{
	return ranked && slice ? slice : default_slice;
}

/* Step 6: charge used ns of run time, scaled by the task's weight (100 = nice 0). */
static inline unsigned long long alps_charge(unsigned long long v, unsigned long long used,
					     unsigned int weight)
{
	if (!weight)
		weight = ALPS_NICE0_WEIGHT;
	return v + used * ALPS_NICE0_WEIGHT / weight;
}

/* Steps 5 and 6: the global vtime never goes back. */
static inline unsigned long long alps_advance_now(unsigned long long vnow, unsigned long long v)
{
	return alps_before(vnow, v) ? v : vnow;
}

#endif /* ALPS_ORDERING_H */
