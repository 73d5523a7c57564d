package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ottr-dev/ottr"
)

func (a *app) json() bool { return a.output == "json" }

// wide is -o wide: tables show every column, nothing cut.
func (a *app) wide() bool { return a.output == "wide" }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonArray streams a JSON array one element at a time, so listings of any
// size use constant memory.
type jsonArray struct {
	w io.Writer
	n int
}

func (j *jsonArray) add(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sep := ",\n  "
	if j.n == 0 {
		sep = "[\n  "
	}
	j.n++
	_, err = fmt.Fprintf(j.w, "%s%s", sep, b)
	return err
}

func (j *jsonArray) close() error {
	if j.n == 0 {
		_, err := io.WriteString(j.w, "[]\n")
		return err
	}
	_, err := io.WriteString(j.w, "\n]\n")
	return err
}

func expiry(t *ottr.Time) string {
	if t == nil {
		return "never rotated"
	}
	return t.String()
}

func daysLeft(t *ottr.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", t.Sub(now).Hours()/24)
}

// audit records a change made from the CLI. A failure to record is logged,
// not returned: the change itself has been made.
// audit records a change made on the database; through a server the
// server records it (with the logged-in user as the actor).
func (a *app) audit(ctx context.Context, where any, action, resource string, before, after any) {
	log, ok := where.(ottr.AuditLog)
	if !ok {
		return
	}
	e := &ottr.Event{Actor: a.actor(), Action: action, Resource: resource, Before: rawJSON(before), After: rawJSON(after)}
	if err := log.RecordEvent(ctx, e); err != nil {
		a.log.Warn("audit event not recorded", "action", action, "resource", resource, "err", err)
	}
}

func rawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

func nullLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
