// Package policy is the contract between alps's learner and its kernel scheduler.
//
// It holds what crosses that boundary, written once:
//   - the ordering rule (ORDERING.md), implemented here in Go and in ordering.h for BPF,
//     both checked against the vectors of testdata/ordering_vectors.csv (Vectors);
//   - the policy table the learner produces and the scheduler applies (Table, Entry, Knobs);
//   - the invocation record the scheduler reports back (Record);
//   - why the scheduler stopped (ExitInfo).
//
// The learner (package model) produces Tables, the loader (package backend) installs them in
// the kernel and reports Records, the daemon (package frontend) passes both along, and the
// simulator (package sim) applies the same rule. The package imports nothing of alps and no
// BPF library. All times are int64 nanoseconds.
package policy
