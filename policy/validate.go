package policy

import "fmt"

// Validate reports the first thing in the table the scheduler cannot apply, naming the
// function and the field: invalid knobs, a function id out of range, a negative slice, or a
// step table that does not start at 0 or is not strictly increasing.
func (t *Table) Validate() error {
	if err := t.Knobs.Validate(); err != nil {
		return fmt.Errorf("policy table: %w", err)
	}
	for fn, e := range t.Entries {
		if fn >= MaxFunctions {
			return fmt.Errorf("policy table: function id %d is not below %d", fn, MaxFunctions)
		}
		if err := e.validate(); err != nil {
			return fmt.Errorf("policy table: function %d: %w", fn, err)
		}
	}
	if err := t.validateClasses(); err != nil {
		return err
	}
	if t.HasDefault {
		if err := t.Default.validate(); err != nil {
			return fmt.Errorf("policy table: default entry: %w", err)
		}
	}
	return nil
}

// validateClasses checks the class entries.
func (t *Table) validateClasses() error {
	for k, e := range t.Classes {
		if k.Function >= MaxFunctions || k.Class == 0 {
			return fmt.Errorf("policy table: class entry (function %d, class %d): the function id must be below %d and the class not 0",
				k.Function, k.Class, MaxFunctions)
		}
		if err := e.validate(); err != nil {
			return fmt.Errorf("policy table: function %d class %d: %w", k.Function, k.Class, err)
		}
	}
	return nil
}

func (e *Entry) validate() error {
	switch {
	case e.Slice < 0:
		return fmt.Errorf("negative slice %d ns", e.Slice)
	case e.NSteps > MaxSteps:
		return fmt.Errorf("%d steps, more than %d", e.NSteps, MaxSteps)
	case e.NSteps > 0 && e.StepAt[0] != 0:
		return fmt.Errorf("the first step starts at %d ns, not 0", e.StepAt[0])
	}
	for i := 1; i < int(e.NSteps); i++ {
		if e.StepAt[i] <= e.StepAt[i-1] {
			return fmt.Errorf("step %d starts at %d ns, not after step %d (%d ns): thresholds must increase",
				i, e.StepAt[i], i-1, e.StepAt[i-1])
		}
	}
	return nil
}
