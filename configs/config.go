// Package configs loads the alps configuration: the documented defaults in alps.yaml
// (embedded), an optional YAML file, ALPS_* environment variables and command-line flags,
// in increasing order of precedence.
package configs

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

//go:embed alps.yaml
var defaultYAML []byte

//go:embed tune.yaml
var tuneYAML []byte

// DefaultYAML returns the documented default configuration file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// DefaultTuneSpace returns the documented search space of alps-sim tune (tune.yaml).
func DefaultTuneSpace() []byte { return bytes.Clone(tuneYAML) }

// Config is the whole alps configuration.
type Config struct {
	Log      Log      `mapstructure:"log"`
	Learner  Learner  `mapstructure:"learner"`
	Policy   Policy   `mapstructure:"policy"`
	Frontend Frontend `mapstructure:"frontend"`
	Sim      Sim      `mapstructure:"sim"`
}

// Log configures logging.
type Log struct {
	Level string `mapstructure:"level"`
}

// Loader builds a Config from defaults, a file, the environment and flags.
type Loader struct {
	v     *viper.Viper
	file  string
	known map[string]bool
	// Where the file, the flags and Set give keys: an error names the source of the value.
	lines map[string]int // key -> line in the file
	flags map[string]*pflag.Flag
	set   map[string]bool
}

// NewLoader returns a Loader holding the embedded defaults.
func NewLoader() (*Loader, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(defaultYAML)); err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	v.SetEnvPrefix("ALPS")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	known := make(map[string]bool)
	for _, k := range v.AllKeys() {
		known[k] = true
	}
	return &Loader{v: v, known: known, lines: map[string]int{}, flags: map[string]*pflag.Flag{}, set: map[string]bool{}}, nil
}

// MaxFileBytes is the largest config or tune space file read.
const MaxFileBytes = 1 << 20

// ReadFile returns the contents of a config or space file of at most MaxFileBytes; the error
// names neither the file nor its kind (the caller does).
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, errors.New("is a directory")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	switch {
	case err != nil:
		return nil, unwrapPathError(err)
	case len(data) > MaxFileBytes:
		return nil, fmt.Errorf("larger than %d bytes (the limit)", MaxFileBytes)
	}
	return data, nil
}

// ReadFile merges the YAML file at path over the defaults. A key the defaults do not have is
// an error naming the file, the line and the key.
func (l *Loader) ReadFile(path string) error {
	data, err := ReadFile(path)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return l.ReadYAML(path, data)
}

// ReadYAML merges a config file's contents over the defaults; name is the file's name in
// errors. The file must hold one YAML document with at least one section: an empty file,
// or one of comments only, is an error (a truncated write is not a valid configuration).
func (l *Loader) ReadYAML(name string, data []byte) error {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if err == io.EOF {
			return fmt.Errorf("config %s: empty file: want a mapping of sections (see configs/alps.yaml)", name)
		}
		return fmt.Errorf("config %s: %s", name, YAMLError(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		line := 0
		if err == nil {
			line = extra.Line
		}
		return fmt.Errorf("config %s:%d: a second YAML document: a config file holds one", name, line)
	}
	if err := l.checkKeys(name, &root); err != nil {
		return err
	}
	if err := l.v.MergeConfig(bytes.NewReader(data)); err != nil {
		// viper's messages can span lines; the contract is one line naming the file.
		return fmt.Errorf("config %s: %s", name, strings.Join(strings.Fields(err.Error()), " "))
	}
	l.file = name
	return nil
}

// BindFlag makes a command-line flag, when set, override the config key.
func (l *Loader) BindFlag(key string, f *pflag.Flag) error {
	if !l.known[key] {
		return fmt.Errorf("flag --%s: unknown config key %q", f.Name, key)
	}
	l.flags[key] = f
	return l.v.BindPFlag(key, f)
}

// Set overrides a key (used for values computed by a command, never from user input).
func (l *Loader) Set(key string, value any) {
	l.set[key] = true
	l.v.Set(key, value)
}

// Load decodes and validates the configuration.
func (l *Loader) Load() (Config, error) {
	var c Config
	dc := &mapstructure.DecoderConfig{
		Result:           &c,
		DecodeHook:       strictHook,
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		TagName:          "mapstructure",
	}
	dec, err := mapstructure.NewDecoder(dc)
	if err != nil {
		return c, err
	}
	if err := dec.Decode(l.v.AllSettings()); err != nil {
		return c, l.wrap(decodeError(err))
	}
	if err := c.Validate(); err != nil {
		return c, l.wrap(err)
	}
	return c, nil
}

// EnvVar is the environment variable that sets key ("learner.window_size":
// ALPS_LEARNER_WINDOW_SIZE).
func EnvVar(key string) string {
	return "ALPS_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Validate checks every section; the error names the first bad key.
func (c Config) Validate() error {
	if err := checkNumbers(c); err != nil {
		return err
	}
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of trace, debug, info, warn, error", c.Log.Level)
	}
	// The learner's and the ordering rule's ranges are model.Config's and policy.Knobs's
	// (learner.cores 0 means a CPU count decided later: any count validates the same).
	lc := learnerConfig(c)
	if lc.Cores == 0 {
		lc.Cores = 1
	}
	if err := lc.Validate(); err != nil {
		return err
	}
	if c.Learner.UpdateIntervalMs < 1 { // a period here (model.Config also takes 0: never)
		return fmt.Errorf("learner.update_interval_ms: must be at least 1, got %d", c.Learner.UpdateIntervalMs)
	}
	if err := SFSParams(c.Sim).Validate(); err != nil { // and the cfs knobs
		return err
	}
	if err := SimParams(c, 1).V1.Validate(); err != nil {
		return err
	}
	return c.Frontend.Validate()
}

// Refuse is the error for a valid value of key that a command cannot use (why says what it
// lacks), naming where the value came from as Load's errors do.
func (l *Loader) Refuse(key, why string) error { return l.wrap(fmt.Errorf("%s: %s", key, why)) }

// wrap names where the bad value of an error "key: message" came from, by precedence: a
// flag given on the command line, the environment, the file (with its line), Set.
func (l *Loader) wrap(err error) error {
	key, _, _ := strings.Cut(err.Error(), ": ")
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i] // frontend.cgroup_patterns[2]
	}
	if f := l.flags[key]; f != nil && f.Changed {
		return fmt.Errorf("--%s: %w", f.Name, err)
	}
	if _, ok := os.LookupEnv(EnvVar(key)); ok && l.known[key] {
		return fmt.Errorf("environment %s: %w", EnvVar(key), err)
	}
	if line, ok := l.lines[key]; ok && !l.set[key] {
		return fmt.Errorf("config %s:%d: %w", l.file, line, err)
	}
	if l.file != "" && !l.set[key] {
		return fmt.Errorf("config %s: %w", l.file, err)
	}
	return fmt.Errorf("config: %w", err)
}

// checkKeys walks the YAML mapping and rejects keys the defaults do not define.
func (l *Loader) checkKeys(path string, root *yaml.Node) error {
	if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
		return fmt.Errorf("config %s: empty file: want a mapping of sections (see configs/alps.yaml)", path)
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return fmt.Errorf("config %s:%d: the top level must be a mapping of sections", path, doc.Line)
	}
	return l.walk(path, "", doc)
}

func (l *Loader) walk(path, prefix string, n *yaml.Node) error {
	seen := make(map[string]int) // keys are case-insensitive, as viper reads them
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := strings.ToLower(k.Value)
		if prefix != "" {
			key = prefix + "." + key
		}
		if first, dup := seen[key]; dup {
			return fmt.Errorf("config %s:%d: %s is already given at line %d", path, k.Line, key, first)
		}
		seen[key] = k.Line
		if l.known[key] {
			if val.Kind == yaml.MappingNode {
				return fmt.Errorf("config %s:%d: %s takes a value, not a mapping", path, val.Line, key)
			}
			l.lines[key] = val.Line
			continue
		}
		if l.isSection(key) {
			if val.Kind != yaml.MappingNode {
				if val.Tag == "!!null" {
					continue
				}
				return fmt.Errorf("config %s:%d: %s is a section and takes a mapping", path, val.Line, key)
			}
			if err := l.walk(path, key, val); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("config %s:%d: unknown key %q%s", path, k.Line, key, l.suggest(key))
	}
	return nil
}

func (l *Loader) isSection(key string) bool {
	for k := range l.known {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// suggest names the known keys of the same section.
func (l *Loader) suggest(key string) string {
	sec := key
	if i := strings.LastIndex(key, "."); i >= 0 {
		sec = key[:i]
	} else {
		var secs []string
		seen := map[string]bool{}
		for k := range l.known {
			s := strings.SplitN(k, ".", 2)[0]
			if !seen[s] {
				seen[s] = true
				secs = append(secs, s)
			}
		}
		sort.Strings(secs)
		return " (sections: " + strings.Join(secs, ", ") + ")"
	}
	var keys []string
	for k := range l.known {
		if strings.HasPrefix(k, sec+".") {
			keys = append(keys, strings.TrimPrefix(k, sec+"."))
		}
	}
	sort.Strings(keys)
	return fmt.Sprintf(" (known keys of %s: %s)", sec, strings.Join(keys, ", "))
}

// decodeError turns mapstructure's multi-line error into one line naming the key.
func decodeError(err error) error {
	var de *mapstructure.DecodeError
	if errors.As(err, &de) {
		return fmt.Errorf("%s: %v", de.Name(), de.Unwrap())
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	msg = strings.ReplaceAll(msg, "* ", "")
	return errors.New(msg)
}

// YAMLError is a YAML parser's error as one line: without the "yaml: " prefix, and the
// unmarshal errors of a yaml.TypeError (one per line) joined.
func YAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = strings.Join(te.Errors, "; ")
	}
	// A quoted value may hold line breaks; the message stays one line.
	return strings.Join(strings.Fields(msg), " ")
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
