#include "textflag.h"

// start is the payload's ELF entry point when it is linked with -ldflags=-E=main.start
// (workload.PayloadLDFlags): it does what main does (the same arguments, the same xorshift
// work unit of workload.Burn, the same bursts and sleeps) without starting the Go runtime,
// whose sysmon thread wakes every 10 ms in each live process; under emulation those wake-ups
// cost the guest more than the work as soon as tens of payloads are alive.
//
// At entry SP points at argc, then argv[0], argv[1], ...
TEXT ·start(SB), NOSPLIT|NOFRAME, $0
	MOVQ	SP, R12 // argc, argv[0], ...
	// sched_setscheduler(0, SCHED_OTHER, &{0}): leave the real-time class of the load
	// generator (main.go says why).
	SUBQ	$16, SP
	MOVQ	$0, 0(SP)
	XORQ	DI, DI
	XORQ	SI, SI
	MOVQ	SP, DX
	MOVQ	$144, AX
	SYSCALL
	ADDQ	$16, SP
	XORQ	R13, R13 // blocks
	XORQ	R14, R14 // sleep, µs
	MOVQ	0(R12), CX
	CMPQ	CX, $2
	JEQ	units
	CMPQ	CX, $4
	JNE	usage
	MOVQ	24(R12), SI // argv[2]: BLOCKS
	CALL	parse<>(SB)
	TESTQ	DX, DX
	JNZ	usage
	MOVQ	AX, R13
	MOVQ	32(R12), SI // argv[3]: SLEEP_US
	CALL	parse<>(SB)
	TESTQ	DX, DX
	JNZ	usage
	MOVQ	AX, R14

units:
	MOVQ	16(R12), SI // argv[1]: UNITS
	CALL	parse<>(SB)
	TESTQ	DX, DX
	JNZ	usage
	LEAQ	1(R13), R15 // bursts
	XORQ	DX, DX
	DIVQ	R15 // AX = units per burst, DX = bursts that do one more
	MOVQ	AX, R8
	MOVQ	DX, R9
	XORQ	R10, R10 // burst index
	MOVQ	$88172645463325252, BX
	SUBQ	$16, SP // the timespec of nanosleep

burst:
	MOVQ	R8, R11
	CMPQ	R10, R9
	JAE	sized
	INCQ	R11

sized:
	TESTQ	R11, R11
	JZ	burnt

unit:
	MOVQ	$2000, CX // workload.unitIterations

step:
	MOVQ	BX, AX
	SHLQ	$13, AX
	XORQ	AX, BX
	MOVQ	BX, AX
	SHRQ	$7, AX
	XORQ	AX, BX
	MOVQ	BX, AX
	SHLQ	$17, AX
	XORQ	AX, BX
	DECQ	CX
	JNZ	step
	DECQ	R11
	JNZ	unit

burnt:
	INCQ	R10
	CMPQ	R10, R15
	JAE	done
	TESTQ	R14, R14
	JZ	burst
	MOVQ	R14, AX
	XORQ	DX, DX
	MOVQ	$1000000, CX
	DIVQ	CX
	MOVQ	AX, 0(SP) // tv_sec
	IMULQ	$1000, DX
	MOVQ	DX, 8(SP) // tv_nsec
	MOVQ	SP, DI
	XORQ	SI, SI
	MOVQ	$35, AX // nanosleep (SYSCALL clobbers CX and R11 only)
	SYSCALL
	JMP	burst

done:
	XORQ	DI, DI
	MOVQ	$231, AX // exit_group(0)
	SYSCALL

usage:
	MOVQ	$2, DI
	LEAQ	usage<>(SB), SI
	MOVQ	$44, DX
	MOVQ	$1, AX // write(2, usage, 44)
	SYSCALL
	MOVQ	$2, DI
	MOVQ	$231, AX // exit_group(2)
	SYSCALL

// parse returns in AX the decimal number at SI (NUL-terminated); DX is 1 if it is empty or
// not a number.
TEXT parse<>(SB), NOSPLIT|NOFRAME, $0
	XORQ	AX, AX
	XORQ	DX, DX
	MOVBQZX	(SI), CX
	TESTQ	CX, CX
	JZ	bad

digit:
	MOVBQZX	(SI), CX
	TESTQ	CX, CX
	JZ	ok
	SUBQ	$48, CX
	CMPQ	CX, $9
	JHI	bad
	IMULQ	$10, AX
	ADDQ	CX, AX
	INCQ	SI
	JMP	digit

bad:
	MOVQ	$1, DX

ok:
	RET

DATA	usage<>+0(SB)/8, $"usage: a"
DATA	usage<>+8(SB)/8, $"lps-payl"
DATA	usage<>+16(SB)/8, $"oad UNIT"
DATA	usage<>+24(SB)/8, $"S [BLOCK"
DATA	usage<>+32(SB)/8, $"S SLEEP_"
DATA	usage<>+40(SB)/8, $"US]\n\x00\x00\x00\x00"
GLOBL	usage<>(SB), RODATA, $48
