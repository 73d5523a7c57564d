//go:build nodemo

package main

import (
	"context"

	"github.com/ottr-dev/ottr"
)

// A release build (make build: -tags nodemo) leaves out the demo's
// in-process CA and device simulators, which are most of the binary and
// nothing a server needs; the inventory half of the demo still runs.
func (a *app) demoRotate(context.Context, string, bool, string) (int, error) {
	return 0, ottr.Errorf(ottr.EINVALID, "this ottr is a release build without the demo's CA and simulated devices; run the whole demo from the source tree: go run ./cmd/ottr demo")
}

func (a *app) demoLabServe(context.Context, string) error {
	return ottr.Errorf(ottr.EINVALID, "this ottr is a release build without the demo's CA and simulated devices; run the demo lab from the source tree: go run ./cmd/ottr demo --lab DIR")
}
