package main

// start is the entry point of the runtime-free build (start_amd64.s).
func start()

var _ = start // referenced only as the linker's entry symbol
