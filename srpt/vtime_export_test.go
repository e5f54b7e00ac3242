package srpt

// NewVtimeStepwise returns the vtime policy played slice by slice (no fast-forward of
// round-robin phases), for tests outside the package.
func NewVtimeStepwise(p OrderParams) Policy { return &Vtime{p: p, stepwise: true} }
