package main

import (
	"context"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
)

// decider gives the router's verdict on assets, so listings call due
// exactly what a router pass does. Through a server it routes with the
// server's route table and renewal policy.
func (a *app) decider(ctx context.Context) (*rotate.Decider, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	cl, err := a.remote()
	if err != nil {
		return nil, err
	}
	var rt *ottr.RouteTable
	policy := c.policy()
	if cl != nil {
		if rt, err = cl.Routes(ctx); err != nil && ottr.ErrorCode(err) != ottr.ENOTFOUND {
			return nil, err
		}
		if policy, err = cl.Policy(ctx); err != nil {
			return nil, err
		}
	} else if rt, err = a.routeTable(); err != nil {
		return nil, err
	}
	if rt == nil {
		a.progress("warning: no route table (--routes, or none on the server): every due asset counts as unrouted")
	}
	r := &rotate.Router{Routes: rt, Policy: policy, Now: timeNow}
	return r.Decider(), nil
}
