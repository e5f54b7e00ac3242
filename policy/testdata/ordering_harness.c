/*
 * Host-side harness for ordering.h: reads the rows of ordering_vectors.csv
 * (without the name column) on stdin, applies the rule as the scheduler does for one
 * enqueue-run cycle, and prints "v_enq key v_done vnow_done" per row.
 */
#include <stdio.h>
#include "ordering.h"

int main(void)
{
	unsigned long long v, vnow, used, step, pen, lag, key;
	unsigned int weight, rank;
	int ranked;

	while (scanf("%llu %llu %u %d %u %llu %llu %llu %llu", &v, &vnow, &weight, &ranked,
		     &rank, &used, &step, &pen, &lag) == 9) {
		v = alps_clamp_lag(v, vnow, lag); /* every enqueue */
		key = alps_key(v, vnow, ranked, rank, step, pen);
		printf("%llu %llu ", v, key);
		vnow = alps_advance_now(vnow, v); /* running */
		v = alps_charge(v, used, weight); /* stopping */
		vnow = alps_advance_now(vnow, v);
		printf("%llu %llu\n", v, vnow);
	}
	return 0;
}
