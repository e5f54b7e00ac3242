package main

import (
	"errors"

	"github.com/rs/zerolog"

	"github.com/alps-sched/alps/configs"
	"github.com/alps-sched/alps/frontend"
)

// openBackend loads and attaches the sched_ext backend.
func openBackend(cfg configs.Config, log zerolog.Logger) (frontend.Kernel, error) {
	return nil, errors.New("the sched_ext backend is not built into this binary yet")
}

// showStatus prints the pinned policy.
func showStatus(app interface{}, top int) error {
	return errors.New("status: the sched_ext backend is not built into this binary yet")
}
