// harness: exercises alps_invocation.h for invocation's tests. It prints the area's layout,
// registers its area in the map pinned at argv[1] (if given; "-" skips), marks the
// boundaries read from stdin ("s CLASS" or "e", one a line), then prints its tid, the area's
// address and the area's bytes in hex, and waits for a line on stdin before exiting.
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include "../alps_invocation.h"

static __thread struct alps_inv_area inv;

int main(int argc, char **argv)
{
	char line[64];
	unsigned char *b = (unsigned char *)&inv;
	size_t i;
	int reg = 0;

	printf("layout %zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(struct alps_inv_area),
	       offsetof(struct alps_inv_area, magic), offsetof(struct alps_inv_area, tid),
	       offsetof(struct alps_inv_area, nevents), offsetof(struct alps_inv_area, seq),
	       offsetof(struct alps_inv_area, ev), sizeof(struct alps_inv_event),
	       offsetof(struct alps_inv_event, class));
	if (argc > 1 && strcmp(argv[1], "-") != 0) {
		reg = alps_inv_register(&inv, argv[1]);
		printf("register %d %d\n", reg, reg ? errno : 0);
	} else {
		memset(&inv, 0, sizeof(inv));
		inv.magic = ALPS_INV_MAGIC;
		inv.tid = (uint32_t)syscall(SYS_gettid);
		inv.nevents = ALPS_INV_EVENTS;
	}
	while (fgets(line, sizeof(line), stdin) && line[0] != '.') {
		unsigned class = 0;

		if (sscanf(line, "s %u", &class) == 1)
			alps_inv_start(&inv, class);
		else if (line[0] == 'e')
			alps_inv_end(&inv);
	}
	printf("tid %u addr %llu\narea ", inv.tid, (unsigned long long)(uintptr_t)&inv);
	for (i = 0; i < sizeof(inv); i++)
		printf("%02x", b[i]);
	printf("\n");
	fflush(stdout);
	fgets(line, sizeof(line), stdin);
	return 0;
}
