/*
 * Host-side harness for ordering.h: reads one vector per line on stdin (the numbers
 * ordering_c_test.go writes), applies the rule as the scheduler does for one enqueue-run
 * cycle, and prints "v_enq level key quantum v_done vnow_done attained_done" per line.
 */
#include <stdio.h>
#include "ordering.h"

int main(void)
{
	unsigned long long v, vnow, attained, used, lag, dflt, key, q;
	unsigned int weight, level, nsteps;
	struct alps_steps e;
	int ranked, i;

	while (scanf("%llu %llu %u %d %llu %llu %u %u %llu %llu %llu", &v, &vnow, &weight, &ranked, &attained,
		     &e.slice, &e.rank, &nsteps, &used, &lag, &dflt) == 11) {
		e.nsteps = (unsigned char)nsteps;
		for (i = 0; i < ALPS_MAX_STEPS; i++)
			if (scanf("%llu %u", &e.step_at[i], &e.step_rank[i]) != 2)
				return 1;
		v = alps_clamp_lag(v, vnow, lag); /* every enqueue */
		level = alps_level(&e, ranked, attained);
		key = alps_key(level, v);
		q = alps_quantum(&e, ranked, attained, dflt);
		printf("%llu %u %llu %llu ", v, level, key, q);
		vnow = alps_advance_now(vnow, v); /* running */
		v = alps_charge(v, used, weight); /* stopping */
		vnow = alps_advance_now(vnow, v);
		printf("%llu %llu %llu\n", v, vnow, attained + used);
	}
	return 0;
}
