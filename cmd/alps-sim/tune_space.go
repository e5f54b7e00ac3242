package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/alps-sched/alps/configs"
)

// A param is one tunable config key and the values a trial may give it.
type param struct {
	key      string
	line     int
	min, max float64
	log, int bool
	choices  []any // non-nil for a list of values
}

// maxChoices bounds the list of values of one key in a space file.
const maxChoices = 64

// space is the search space of alps-sim tune (configs/tune.yaml documents the format).
type space []param

// tunableSections are the sections whose keys a space may name.
var tunableSections = []string{"learner.", "policy."}

// loadSpace reads and checks a space file ("" for the built-in one). Every error names the
// file, the line and the key.
func loadSpace(path string) (space, error) {
	if path == "" {
		return parseSpace("configs/tune.yaml (built in)", configs.DefaultTuneSpace())
	}
	data, err := configs.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("space %s: %w", path, err)
	}
	return parseSpace(path, data)
}

func parseSpace(path string, data []byte) (space, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("space %s: %s", path, configs.YAMLError(err))
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode || len(root.Content[0].Content) == 0 {
		return nil, fmt.Errorf("space %s: empty: want a mapping of config keys to ranges", path)
	}
	doc := root.Content[0]
	var sp space
	seen := map[string]bool{}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		p, err := parseParam(k.Value, v)
		if err != nil {
			return nil, fmt.Errorf("space %s:%d: %s: %w", path, k.Line, keyName(k.Value), err)
		}
		if seen[p.key] {
			return nil, fmt.Errorf("space %s:%d: %s: listed twice", path, k.Line, keyName(k.Value))
		}
		seen[p.key] = true
		p.line = k.Line
		// Both ends of a range, and every choice, must be valid values of the key.
		for _, val := range p.extremes() {
			if err := checkValue(p.key, val); err != nil {
				return nil, fmt.Errorf("space %s:%d: %w", path, k.Line, err)
			}
		}
		sp = append(sp, p)
	}
	return sp, nil
}

// keyName is a key as an error shows it: quoted when it holds a space or a control
// character (a quoted YAML key may hold a line break; the error stays one line).
func keyName(k string) string {
	if strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f || !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(k)
	}
	return k
}

func parseParam(key string, v *yaml.Node) (param, error) {
	p := param{key: strings.ToLower(key)}
	tunable := false
	for _, s := range tunableSections {
		tunable = tunable || strings.HasPrefix(p.key, s)
	}
	if !tunable {
		return p, fmt.Errorf("not a learner.* or policy.* key")
	}
	switch v.Kind {
	case yaml.SequenceNode:
		switch {
		case len(v.Content) == 0:
			return p, fmt.Errorf("empty range: the list of values is empty")
		case len(v.Content) > maxChoices:
			// Each value is checked against the whole configuration up front.
			return p, fmt.Errorf("%d values, more than %d (use a {min, max} range)", len(v.Content), maxChoices)
		}
		for _, c := range v.Content {
			var x any
			if err := c.Decode(&x); err != nil {
				return p, err
			}
			p.choices = append(p.choices, x)
		}
		return p, nil
	case yaml.MappingNode:
		var r struct {
			Min *float64 `yaml:"min"`
			Max *float64 `yaml:"max"`
			Log bool     `yaml:"log"`
			Int bool     `yaml:"int"`
		}
		if err := v.Decode(&r); err != nil {
			return p, fmt.Errorf("want {min, max[, log][, int]}: %s", configs.YAMLError(err))
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			switch v.Content[i].Value {
			case "min", "max", "log", "int":
			default:
				return p, fmt.Errorf("unknown field %q (want min, max, log, int)", v.Content[i].Value)
			}
		}
		switch {
		case r.Min == nil || r.Max == nil:
			return p, fmt.Errorf("a range needs both min and max")
		case math.IsNaN(*r.Min) || math.IsNaN(*r.Max) || math.IsInf(*r.Min, 0) || math.IsInf(*r.Max, 0):
			return p, fmt.Errorf("min and max must be finite")
		case *r.Min > *r.Max:
			return p, fmt.Errorf("empty range: min %g > max %g", *r.Min, *r.Max)
		case r.Int && math.Ceil(*r.Min) > math.Floor(*r.Max):
			return p, fmt.Errorf("empty range: no integer in [%g, %g]", *r.Min, *r.Max)
		case r.Log && *r.Min <= 0:
			return p, fmt.Errorf("a log range needs min > 0, got %g", *r.Min)
		}
		p.min, p.max, p.log, p.int = *r.Min, *r.Max, r.Log, r.Int
		return p, nil
	}
	return p, fmt.Errorf("want a list of values or {min, max}")
}

// extremes are the values checked up front: the ends of a range, or every choice.
func (p param) extremes() []any {
	if p.choices != nil {
		return p.choices
	}
	if p.int {
		return []any{int64(math.Ceil(p.min)), int64(math.Floor(p.max))}
	}
	return []any{p.min, p.max}
}

// sample draws a value: a choice uniformly, a range value uniformly in its (log) scale.
func (p param) sample(r *rand.Rand) any {
	if p.choices != nil {
		return p.choices[r.IntN(len(p.choices))]
	}
	return p.value(r.Float64())
}

// checkValue loads the defaults with key set to val and returns the validation error, if
// any. An unknown key is reported as such.
func checkValue(key string, val any) error {
	_, err := configWith(configFile{}, map[string]any{key: val})
	return err
}

// configFile is a config file's name and contents (the zero value: no file).
type configFile struct {
	name string
	data []byte
}

// configWith returns the configuration: defaults, then the file base (if any), then the
// overrides. An unknown key is an error naming it.
func configWith(base configFile, over map[string]any) (configs.Config, error) {
	l, err := configs.NewLoader()
	if err != nil {
		return configs.Config{}, err
	}
	if base.name != "" {
		if err := l.ReadYAML(base.name, base.data); err != nil {
			return configs.Config{}, err
		}
	}
	known := defaultKeys()
	for k, v := range over {
		if !known[k] {
			return configs.Config{}, fmt.Errorf("%s: unknown config key", keyName(k))
		}
		l.Set(k, v)
	}
	c, err := l.Load()
	if err != nil {
		return c, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "config: "))
	}
	return c, nil
}

// defaultKeys are the keys of the embedded defaults, "section.key".
func defaultKeys() map[string]bool {
	var m map[string]map[string]any
	_ = yaml.Unmarshal(configs.DefaultYAML(), &m)
	keys := map[string]bool{}
	for s, kv := range m {
		for k := range kv {
			keys[s+"."+k] = true
		}
	}
	return keys
}
