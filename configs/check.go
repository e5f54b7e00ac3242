package configs

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/alps-sched/alps/internal/csvin"
)

// MaxDurationMs is the largest magnitude of any duration key (keys ending in _ms, or _us at
// 1000 times the value), checked before a value is converted to nanoseconds: 1e9 ms is
// about 11.6 days, and its nanoseconds stay far from int64's limit in any sum the
// scheduler makes. Each key's sane range, narrower, is checked by its section.
const MaxDurationMs = 1e9

// strictHook is the decoder's hook: a value meant for a number must be one exactly. Floats
// must be finite; integers must be integral and fit int64 (2.7 or 9.3e18 for an int key is
// an error, not a truncation); strings (from the environment or flags) are parsed as plain
// decimals.
func strictHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	switch to.Kind() {
	case reflect.Float32, reflect.Float64:
		f, ok, err := number(data)
		if err != nil || !ok {
			return data, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v is not a finite number", data)
		}
		return f, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if s, ok := data.(string); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				return n, nil
			}
		}
		f, ok, err := number(data)
		if err != nil || !ok {
			return data, err
		}
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			return nil, fmt.Errorf("%v is not a finite number", data)
		case f != math.Trunc(f):
			return nil, fmt.Errorf("%v is not an integer", data)
		case f >= 1<<63 || f < -(1<<63):
			return nil, fmt.Errorf("%v is out of range", data)
		}
		return int64(f), nil
	case reflect.Bool:
		if s, ok := data.(string); ok {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", s)
			}
			return b, nil
		}
	}
	return data, nil
}

// number returns data as a float64 when it is a number or a string (ok false otherwise).
func number(data any) (f float64, ok bool, err error) {
	switch v := data.(type) {
	case float64:
		return v, true, nil
	case float32:
		return float64(v), true, nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, false, fmt.Errorf("%d is out of range", v)
		}
	case string:
		s := strings.TrimSpace(v)
		f, problem := csvin.Number(s)
		if problem != "" {
			if strings.EqualFold(strings.TrimLeft(s, "+-"), "nan") || strings.EqualFold(strings.TrimLeft(s, "+-"), "inf") {
				problem = "is not a finite number"
			}
			return 0, false, fmt.Errorf("%q %s", v, problem)
		}
		return f, true, nil
	}
	return 0, false, nil
}

// checkNumbers checks what every numeric key must satisfy, whatever its section: floats are
// finite and durations (keys ending in _ms or _us) within MaxDurationMs.
func checkNumbers(c Config) error {
	cv := reflect.ValueOf(c)
	for i := range cv.NumField() {
		sec := cv.Type().Field(i).Tag.Get("mapstructure")
		sv := cv.Field(i)
		for j := range sv.NumField() {
			key := sec + "." + sv.Type().Field(j).Tag.Get("mapstructure")
			fv := sv.Field(j)
			var x float64
			var text string
			switch fv.Kind() {
			case reflect.Float64:
				x = fv.Float()
				text = strconv.FormatFloat(x, 'g', -1, 64)
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return fmt.Errorf("%s: %s is not a finite number", key, text)
				}
			case reflect.Int, reflect.Int64:
				x, text = float64(fv.Int()), strconv.FormatInt(fv.Int(), 10)
			default:
				continue
			}
			limit := MaxDurationMs
			switch {
			case strings.HasSuffix(key, "_us"):
				limit *= 1000
			case !strings.HasSuffix(key, "_ms"):
				continue
			}
			if math.Abs(x) > limit {
				return fmt.Errorf("%s: %s is beyond the limit of any duration (%g)", key, text, limit)
			}
		}
	}
	return nil
}
