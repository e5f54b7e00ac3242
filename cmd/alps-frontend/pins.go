package main

import (
	"errors"
	"fmt"
	"github.com/alps-sched/alps/configs"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// onBPFFS checks that dir (when it exists) is on a bpffs, where pins live: the kernel refuses
// to open a regular file as a pinned map with EPERM, which reads as missing privileges.
func onBPFFS(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // nothing pinned: the pin reader says so
		}
		return fmt.Errorf("%s: %w", dir, err)
	}
	if st.Type != unix.BPF_FS_MAGIC {
		return fmt.Errorf("%s is not on a bpffs (file system magic %#x): frontend.pin_path must be a directory under a mounted bpffs, such as /sys/fs/bpf/alps", dir, st.Type)
	}
	return nil
}

// checkPinDir refuses a pin directory that another user could have prepared: one that
// exists and is a symlink, is not a directory, is not owned by this user, or is open to
// group or others (mode wider than 0700). The backend creates a missing one with mode 0700.
func checkPinDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("frontend.pin_path %s: %w", dir, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("frontend.pin_path %s is a symbolic link: refused (give the directory itself)", dir)
	case !st.IsDir():
		return fmt.Errorf("frontend.pin_path %s is not a directory", dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("frontend.pin_path %s is owned by uid %d, not this user (uid %d): refused", dir, sys.Uid, os.Geteuid())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("frontend.pin_path %s has mode %#o, wider than 0700: refused (chmod 700 it or remove it)", dir, perm)
	}
	return onBPFFS(dir)
}

// invocationGroup checks frontend.invocation_map (its directory must be on a bpffs, and an
// existing file there must not be a symlink: the backend replaces a stale pin) and resolves
// frontend.invocation_group to a gid, -1 when none is given (root only).
func invocationGroup(f configs.Frontend) (int, error) {
	if f.InvocationMap == "" {
		return -1, nil
	}
	dir := filepath.Dir(f.InvocationMap)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("frontend.invocation_map %s: %w", f.InvocationMap, err)
	}
	if st.Type != unix.BPF_FS_MAGIC {
		return 0, fmt.Errorf("frontend.invocation_map %s: %s is not on a bpffs (file system magic %#x)", f.InvocationMap, dir, st.Type)
	}
	if fi, err := os.Lstat(f.InvocationMap); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return 0, fmt.Errorf("frontend.invocation_map %s is a symbolic link: refused", f.InvocationMap)
	}
	if f.InvocationGroup == "" {
		return -1, nil
	}
	g, err := user.LookupGroup(f.InvocationGroup)
	if err != nil {
		if g, err = user.LookupGroupId(f.InvocationGroup); err != nil {
			return 0, fmt.Errorf("frontend.invocation_group: no group %q", f.InvocationGroup)
		}
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("frontend.invocation_group %q: gid %q: %w", f.InvocationGroup, g.Gid, err)
	}
	return gid, nil
}
