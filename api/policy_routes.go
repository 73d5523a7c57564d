package api

import (
	"context"
	"maps"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// RenewalRule is one rule of the renewal policy; zero fields take the
// next rule's, then the defaults (30 days, a third of the lifetime).
type RenewalRule struct {
	BeforeSeconds int64   `json:"before_seconds,omitempty" doc:"renewal starts no later than this long before expiry"`
	Fraction      float64 `json:"fraction,omitempty" doc:"fraction of the lifetime left at which renewal starts"`
}

// RenewalPolicy is the server's renewal policy: the most specific rule
// wins (by route recipe, then by CA, then the default).
type RenewalPolicy struct {
	Default RenewalRule            `json:"default"`
	ByCA    map[string]RenewalRule `json:"by_ca,omitempty"`
	ByRoute map[string]RenewalRule `json:"by_route,omitempty"`
	Jitter  float64                `json:"jitter" doc:"renewals move earlier by up to this fraction of their window, fixed per system_name"`
}

// PolicyOutput is the renewal policy.
type PolicyOutput struct {
	Body RenewalPolicy
}

func ruleOut(r ottr.RenewalRule) RenewalRule {
	return RenewalRule{BeforeSeconds: int64(r.Before / time.Second), Fraction: r.Fraction}
}

func ruleIn(r RenewalRule) ottr.RenewalRule {
	return ottr.RenewalRule{Before: time.Duration(r.BeforeSeconds) * time.Second, Fraction: r.Fraction}
}

func mapRules[A, B any](m map[string]A, f func(A) B) map[string]B {
	if m == nil {
		return nil
	}
	out := make(map[string]B, len(m))
	for k, v := range maps.All(m) {
		out[k] = f(v)
	}
	return out
}

// Policy returns the policy as the domain type.
func (p RenewalPolicy) Policy() ottr.RenewalPolicy {
	return ottr.RenewalPolicy{Default: ruleIn(p.Default), ByCA: mapRules(p.ByCA, ruleIn), ByRoute: mapRules(p.ByRoute, ruleIn), Jitter: p.Jitter}
}

func (s *Server) policyRoutes(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "get-policy", Method: http.MethodGet, Path: "/api/v1/policy",
		Summary: "The renewal policy the router decides due with, so clients call due what the server does (DEVELOPER)",
		Tags:    []string{"routes"}, Security: []map[string][]string{{"bearer": {}}},
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden}},
		func(ctx context.Context, in *struct{ Authed }) (*PolicyOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			p := s.Policy
			return &PolicyOutput{Body: RenewalPolicy{Default: ruleOut(p.Default), ByCA: mapRules(p.ByCA, ruleOut),
				ByRoute: mapRules(p.ByRoute, ruleOut), Jitter: p.Jitter}}, nil
		})
}
