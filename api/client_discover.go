package api

import (
	"context"
	"net/http"
	"time"

	"github.com/ottr-dev/ottr"
)

// discoverWait is how long Discover waits for the server's answer: the
// server's own limit on a scan (45 s) and the time to send it.
const discoverWait = 90 * time.Second

// Discover has the server scan for TLS endpoints (ADMIN). The request's
// Timeout is sent in whole seconds.
func (c *Client) Discover(ctx context.Context, req ottr.DiscoverRequest) (*ottr.DiscoverResult, error) {
	var in DiscoverInput
	in.Body.Targets, in.Body.Ports, in.Body.Concurrency = req.Targets, req.Ports, req.Concurrency
	in.Body.Timeout = int((req.Timeout + time.Second - 1) / time.Second)
	cc := *c
	if cc.HTTPClient == nil {
		// A scan takes longer than the default client waits.
		cc.HTTPClient = &http.Client{Timeout: discoverWait}
	}
	var out ottr.DiscoverResult
	if _, err := cc.do(ctx, http.MethodPost, "/api/v1/discover", in.Body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
