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

// importBatch bounds the endpoints one import request carries, well
// inside the API's body limit.
const importBatch = 500

// ImportDiscovered has the server make assets of discovered endpoints, or
// say what it would make (ADMIN), in batches; the outcomes come back in
// the endpoints' order.
func (c *Client) ImportDiscovered(ctx context.Context, eps []ottr.DiscoveredEndpoint, o ottr.DiscoveryImport) (*ottr.DiscoveryImportResult, error) {
	res := &ottr.DiscoveryImportResult{Applied: o.Apply, Outcomes: []ottr.ImportOutcome{}}
	for start := 0; start < len(eps); start += importBatch {
		var in DiscoverImportInput
		b := &in.Body
		b.CertificateAuthority, b.Platform, b.Update, b.Apply = o.CertificateAuthority, o.Platform, o.Update, o.Apply
		for _, ep := range eps[start:min(start+importBatch, len(eps))] {
			ep.Delegations = nil // not the server's concern, and long
			b.Endpoints = append(b.Endpoints, ep)
		}
		var out ottr.DiscoveryImportResult
		if _, err := c.do(ctx, http.MethodPost, "/api/v1/discover/import", b, &out); err != nil {
			return res, err
		}
		res.Outcomes = append(res.Outcomes, out.Outcomes...)
	}
	return res, nil
}
