package memdevice_test

import (
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/sim/memdevice"
)

func TestConformance(t *testing.T) {
	d := &memdevice.Device{}
	drivertest.Run(t, drivertest.Harness{
		New:        func(*testing.T) ottr.Driver { return d },
		CommonName: "mem.example.com", SANs: []string{"mem.example.com", "alt.example.com"},
	})
}
