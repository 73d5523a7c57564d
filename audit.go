package ottr

import (
	"context"
	"encoding/json"
	"time"
)

// Event is one entry of the audit log: who changed what, when, and the
// object before and after. Before and After never hold secrets.
type Event struct {
	ID       int64           `json:"id"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`  // username, "router", "cli:<os user>"
	Action   string          `json:"action"` // e.g. "asset.create"
	Resource string          `json:"resource"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
}

// EventFilter selects audit events, newest first.
type EventFilter struct {
	Actor    string
	Action   string
	Resource string
	Since    time.Time
	Limit    int
	Cursor   string
}

// AuditLog records state changes.
type AuditLog interface {
	// RecordEvent appends e (ID and Time are set when zero).
	RecordEvent(ctx context.Context, e *Event) error
	// FindEvents lists events newest first.
	FindEvents(ctx context.Context, f EventFilter) ([]*Event, string, error)
}
