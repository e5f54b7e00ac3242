/* SPDX-License-Identifier: MIT */
/*
 * The invocation-boundary area: the ABI between a runtime (alps_invocation.h, the Go package
 * invocation) and the scheduler (boundary.h, backend/bpf). Plain C types and no includes, so
 * that BPF programs and host programs both include it. Its layout never changes without a
 * new magic.
 */
#ifndef ALPS_INV_AREA_H
#define ALPS_INV_AREA_H

#define ALPS_INV_MAGIC 0x31766e6973706c61ULL /* "alpsinv1", little-endian */
#define ALPS_INV_EVENTS 16		     /* events an area keeps (a power of two) */

enum alps_inv_kind {
	ALPS_INV_START = 1,
	ALPS_INV_END = 2,
};

/* One boundary. */
struct alps_inv_event {
	unsigned long long time; /* CLOCK_MONOTONIC ns */
	unsigned int kind;	 /* enum alps_inv_kind */
	unsigned int class;	 /* at a start: the class hint (0: none) */
};

/* A thread's boundaries: event n (counting from 0) is in ev[n % ALPS_INV_EVENTS]. */
struct alps_inv_area {
	unsigned long long magic; /* ALPS_INV_MAGIC */
	unsigned int tid;	  /* the thread that owns the area (gettid) */
	unsigned int nevents;	  /* ALPS_INV_EVENTS */
	unsigned long long seq;	  /* events written so far */
	struct alps_inv_event ev[ALPS_INV_EVENTS];
};

#endif /* ALPS_INV_AREA_H */
