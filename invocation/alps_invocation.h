/* SPDX-License-Identifier: MIT */
/*
 * alps_invocation.h: the invocation-boundary interface of alps for C runtimes (the Go
 * package github.com/alps-sched/alps/invocation is the same interface for Go).
 *
 * A warm worker serves many invocations from one long-lived thread. It tells the scheduler
 * where each invocation starts and ends on that thread, so that the scheduler orders the
 * thread by the CPU the current invocation has used and reports one record per invocation:
 *
 *	static __thread struct alps_inv_area inv;
 *
 *	alps_inv_register(&inv, ALPS_INV_MAP);	// once per thread
 *	for (;;) {
 *		read_request(...);
 *		alps_inv_start(&inv, class);	// class: a platform-chosen hint, 0 for none
 *		handle(...);
 *		alps_inv_end(&inv);
 *		write_reply(...);
 *	}
 *
 * A boundary is a few plain stores into the thread's own area (no system call). The scheduler
 * reads the area of a thread only while that thread is the current task of its CPU (when it
 * stops running), with bpf_probe_read_user, and trusts it only if it carries ALPS_INV_MAGIC
 * and the thread's own id: only the thread's process can write its memory, so a thread can
 * only ever affect its own invocation state. Registration (once per thread) stores the area's
 * address in a pinned BPF task-storage map, keyed by a pidfd of the thread.
 *
 * The area (area.h, which this header includes) is the ABI shared with the scheduler.
 */
#ifndef ALPS_INVOCATION_H
#define ALPS_INVOCATION_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#include "area.h"

/* Where alps-frontend pins the registration map by default (frontend.invocation_map). */
#define ALPS_INV_MAP "/sys/fs/bpf/alps-invocations"

static inline unsigned long long alps_inv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/*
 * Appends one boundary. The event is written before seq is published; the scheduler reads
 * the area only while this thread is in the kernel, so a release store is all it needs.
 */
static inline void alps_inv_mark(struct alps_inv_area *a, unsigned int kind, unsigned int class)
{
	unsigned long long n = a->seq;
	struct alps_inv_event *e = &a->ev[n % ALPS_INV_EVENTS];

	e->time = alps_inv_now();
	e->kind = kind;
	e->class = class;
	__atomic_store_n(&a->seq, n + 1, __ATOMIC_RELEASE);
}

/* An invocation starts on this thread; class is the platform's hint (0: none). */
static inline void alps_inv_start(struct alps_inv_area *a, unsigned int class)
{
	alps_inv_mark(a, ALPS_INV_START, class);
}

/* The invocation started last on this thread ends. */
static inline void alps_inv_end(struct alps_inv_area *a)
{
	alps_inv_mark(a, ALPS_INV_END, 0);
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static inline long alps_inv_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/*
 * Initialises a (the calling thread's area, which must stay valid and at this address for
 * the thread's life, e.g. a __thread variable) and registers it in the map pinned at
 * map_path. Returns 0, or -1 with errno set (ENOENT: no scheduler pinned the map; EACCES:
 * this process may not use it). Marks on an unregistered area are harmless and unread.
 */
static inline int alps_inv_register(struct alps_inv_area *a, const char *map_path)
{
	union bpf_attr attr;
	uint64_t addr = (uint64_t)(uintptr_t)a;
	int map, pidfd, err, saved;

	memset(a, 0, sizeof(*a));
	a->tid = (unsigned int)syscall(SYS_gettid);
	a->nevents = ALPS_INV_EVENTS;
	a->magic = ALPS_INV_MAGIC;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uint64_t)(uintptr_t)map_path;
	map = (int)alps_inv_bpf(BPF_OBJ_GET, &attr);
	if (map < 0)
		return -1;
	pidfd = (int)syscall(SYS_pidfd_open, a->tid, PIDFD_THREAD);
	if (pidfd < 0) {
		saved = errno;
		close(map);
		errno = saved;
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map;
	attr.key = (uint64_t)(uintptr_t)&pidfd;
	attr.value = (uint64_t)(uintptr_t)&addr;
	attr.flags = BPF_ANY;
	err = (int)alps_inv_bpf(BPF_MAP_UPDATE_ELEM, &attr);
	saved = errno;
	close(pidfd);
	close(map);
	errno = saved;
	return err < 0 ? -1 : 0;
}

#endif /* ALPS_INVOCATION_H */
