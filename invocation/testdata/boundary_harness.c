// Host-side harness for boundary.h: each input line is one observation of one thread (the
// state carries over from line to line): "TID RUN_START NOW RUN_CPU MAGIC ATID NEVENTS SEQ" and the
// area's ALPS_INV_EVENTS events as "TIME KIND CLASS". It prints the state and what was found,
// "SEEN START CPU INSIDE CLASS NDONE STARTED NESTED UNMATCHED LOST BAD MARKED FRESH LAST", then
// "START END CPU CLASS CARRIED" per finished invocation.
#include <stdio.h>
#include "../boundary.h"

int main(void)
{
	struct alps_inv_state s = { 0 };
	struct alps_inv_area a;
	struct alps_inv_obs o;
	unsigned long long run_start, now, run_cpu;
	unsigned int tid, i;

	while (scanf("%u %llu %llu %llu %llu %u %u %llu", &tid, &run_start, &now, &run_cpu, &a.magic, &a.tid, &a.nevents,
		     &a.seq) == 8) {
		for (i = 0; i < ALPS_INV_EVENTS; i++)
			if (scanf("%llu %u %u", &a.ev[i].time, &a.ev[i].kind, &a.ev[i].class) != 3)
				return 1;
		alps_inv_observe(&s, &a, tid, run_start, now, run_cpu, &o);
		printf("%llu %llu %llu %u %u %u %u %u %u %u %u %u %u %llu", s.seen, s.start, s.cpu, s.inside, s.class,
		       o.ndone, o.started, o.nested, o.unmatched, o.lost, o.bad, o.marked, o.fresh, o.last);
		for (i = 0; i < o.ndone && i < ALPS_INV_DONE; i++)
			printf(" %llu %llu %llu %u %u", o.done[i].start, o.done[i].end, o.done[i].cpu, o.done[i].class,
			       o.done[i].carried);
		printf("\n");
	}
	return 0;
}
