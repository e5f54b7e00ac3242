package frontend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/rs/zerolog"
)

// CgroupRules names the function of a cgroup from its path relative to the cgroup root.
type CgroupRules struct {
	patterns []*regexp.Regexp
}

// NewCgroupRules compiles patterns (regular expressions); the first capture group of the first
// matching pattern, or its whole match when it has no group, names the function.
func NewCgroupRules(patterns []string) (*CgroupRules, error) {
	r := &CgroupRules{}
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("frontend.cgroup_patterns[%d]: %w", i, err)
		}
		r.patterns = append(r.patterns, re)
	}
	return r, nil
}

// Function returns the function named by the cgroup at rel (slash-separated, relative to the
// root), or "" when no pattern matches.
func (r *CgroupRules) Function(rel string) string {
	for _, re := range r.patterns {
		m := re.FindStringSubmatch(rel)
		if m == nil {
			continue
		}
		if len(m) > 1 && m[1] != "" {
			return m[1]
		}
		return m[0]
	}
	return ""
}

// Empty reports whether there are no patterns.
func (r *CgroupRules) Empty() bool { return len(r.patterns) == 0 }

// ProcessRule is one process-name rule: processes named Comm belong to Function.
type ProcessRule struct {
	Comm, Function string
}

// ParseProcessNames parses "NAME" or "NAME=FUNCTION" rules.
func ParseProcessNames(rules []string) ([]ProcessRule, error) {
	out := make([]ProcessRule, 0, len(rules))
	for i, s := range rules {
		comm, fn, ok := strings.Cut(s, "=")
		if !ok {
			fn = comm
		}
		if comm == "" || len(comm) > 15 || fn == "" {
			return nil, fmt.Errorf("frontend.process_names[%d]: %q is not NAME or NAME=FUNCTION with a 1-15 character NAME", i, s)
		}
		out = append(out, ProcessRule{Comm: comm, Function: fn})
	}
	return out, nil
}

// CgroupID returns the id of the cgroup at dir: the inode number of its directory, which is
// what the kernel's cgroup id is on cgroup v2.
func CgroupID(dir string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// Classifier keeps the kernel's classifier maps in step with the rules: the process names
// once, and the cgroups under the root as they appear and disappear.
type Classifier struct {
	kernel  Kernel
	reg     *Registry
	rules   *CgroupRules
	root    string
	log     zerolog.Logger
	onEvict func(id uint32) // the registry reused id for another function

	mu      sync.Mutex
	cgroups map[string]cgroup              // classified cgroup dir -> its ids
	byFn    map[uint32]map[string]struct{} // function id -> its classified cgroup dirs
}

type cgroup struct {
	id uint64 // the kernel's cgroup id
	fn uint32 // its function
}

// NewClassifier returns a classifier writing to k and naming functions through reg. When
// the registry evicts a function to make room for a new one, the cgroups classified with its
// id are forgotten (in the kernel too: they run unclassified) and onEvict, if not nil, is
// called with the id, so that no state of the old function passes to the new one.
func NewClassifier(k Kernel, reg *Registry, root string, rules *CgroupRules, log zerolog.Logger, onEvict func(id uint32)) *Classifier {
	return &Classifier{kernel: k, reg: reg, rules: rules, root: root, log: log, onEvict: onEvict,
		cgroups: map[string]cgroup{}, byFn: map[uint32]map[string]struct{}{}}
}

// ApplyProcessNames installs the process-name rules. Their functions keep their ids (pinned):
// the kernel's map of process names is written once.
func (c *Classifier) ApplyProcessNames(rules []ProcessRule) error {
	for _, r := range rules {
		id, evicted, err := c.reg.Pin(r.Function)
		if err != nil {
			return fmt.Errorf("frontend.process_names: %w", err)
		}
		c.evicted(id, evicted)
		if err := c.kernel.SetCommFunction(r.Comm, id); err != nil {
			return fmt.Errorf("classify process %q: %w", r.Comm, err)
		}
	}
	return nil
}

// evicted clears the state of the function that lost id ("" if none).
func (c *Classifier) evicted(id uint32, name string) {
	if name == "" {
		return
	}
	c.log.Warn().Str("function", name).Msg("function table full: forgot the least recently used function")
	c.mu.Lock()
	for dir := range c.byFn[id] {
		if err := c.kernel.DeleteCgroup(c.cgroups[dir].id); err != nil {
			c.log.Debug().Err(err).Str("cgroup", dir).Msg("forget cgroup of an evicted function")
		}
		delete(c.cgroups, dir)
	}
	delete(c.byFn, id)
	c.mu.Unlock()
	if c.onEvict != nil {
		c.onEvict(id)
	}
}

// Classified returns how many cgroups are classified.
func (c *Classifier) Classified() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cgroups)
}

// classify matches dir against the rules and installs it when it names a function.
func (c *Classifier) classify(dir string) {
	rel, err := filepath.Rel(c.root, dir)
	if err != nil || rel == "." {
		return
	}
	fn := c.rules.Function(filepath.ToSlash(rel))
	if fn == "" {
		return
	}
	cgid, err := CgroupID(dir)
	if err != nil {
		c.log.Warn().Err(err).Str("cgroup", rel).Msg("cgroup vanished before it was classified")
		return
	}
	id, evicted := c.reg.ID(fn)
	c.evicted(id, evicted)
	if err := c.kernel.SetCgroupFunction(cgid, id); err != nil {
		c.log.Error().Err(err).Str("cgroup", rel).Msg("classify cgroup")
		return
	}
	c.mu.Lock()
	if old, ok := c.cgroups[dir]; ok { // classified again (a rescan)
		delete(c.byFn[old.fn], dir)
	}
	c.cgroups[dir] = cgroup{id: cgid, fn: id}
	if c.byFn[id] == nil {
		c.byFn[id] = map[string]struct{}{}
	}
	c.byFn[id][dir] = struct{}{}
	c.mu.Unlock()
	c.log.Debug().Str("cgroup", rel).Str("function", fn).Uint32("id", id).Uint64("cgroup_id", cgid).Msg("cgroup classified")
}

func (c *Classifier) forget(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, cg := range c.cgroups {
		if d == dir || strings.HasPrefix(d, dir+string(filepath.Separator)) {
			delete(c.cgroups, d)
			delete(c.byFn[cg.fn], d)
			if err := c.kernel.DeleteCgroup(cg.id); err != nil {
				c.log.Debug().Err(err).Str("cgroup", d).Msg("forget cgroup")
			}
		}
	}
}

// scan classifies dir and every cgroup below it, adding each directory to w when w is not nil.
func (c *Classifier) scan(dir string, w *dirWatcher) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		if w != nil {
			if err := w.add(path); err != nil {
				c.log.Debug().Err(err).Str("dir", path).Msg("watch cgroup")
			}
		}
		c.classify(path)
		return nil
	})
}

// Watch classifies the existing cgroups and then every new one as it is created, until ctx
// ends. A root that does not exist is a warning, not an error: the daemon keeps running on its
// process-name rules. ready is closed once the existing cgroups are classified.
func (c *Classifier) Watch(ctx context.Context, ready chan<- struct{}) error {
	signal := sync.OnceFunc(func() { close(ready) })
	defer signal()
	if c.rules.Empty() {
		return nil
	}
	if st, err := os.Stat(c.root); err != nil || !st.IsDir() {
		c.log.Warn().Str("cgroup_root", c.root).Msg("cgroup root does not exist: cgroup patterns are not applied")
		return nil
	}
	w, err := newDirWatcher()
	if err != nil {
		c.log.Warn().Err(err).Msg("cannot watch cgroupfs: only the cgroups present now are classified")
		c.scan(c.root, nil)
		return nil
	}
	defer w.close()
	stop := context.AfterFunc(ctx, func() { w.close() }) // ends the read below
	defer stop()
	c.scan(c.root, w)
	signal()
	buf := make([]byte, 64<<10)
	var evs []dirEvent
	for {
		evs, err = w.read(buf, evs[:0])
		if errors.Is(err, os.ErrClosed) || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.log.Error().Err(err).Msg("cgroupfs watch failed: new cgroups are no longer classified")
			return nil
		}
		for _, ev := range evs {
			switch {
			case ev.overflow:
				c.log.Warn().Msg("cgroupfs watch overflowed: rescanning")
				c.scan(c.root, w)
			case ev.created:
				c.scan(ev.path, w)
			default:
				c.forget(ev.path)
			}
		}
	}
}
