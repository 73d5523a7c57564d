package ottr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Time is an instant in UTC that speaks ISO 8601 in JSON, the way Ottr stores
// certificate_expiration. It is written as RFC 3339 in UTC
// ("2021-10-31T01:49:35Z") and read from RFC 3339, from Ottr's naive form
// ("2021-10-31T01:49:35", taken as UTC, with or without fractional seconds)
// or from a date alone. A nil *Time is JSON null.
type Time struct{ time.Time }

// NewTime returns t truncated to whole seconds in UTC. Certificates carry
// second precision; keeping the same precision makes round trips exact.
func NewTime(t time.Time) *Time { return &Time{t.UTC().Truncate(time.Second)} }

var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseTime parses an ISO 8601 timestamp as Ottr and its users write them.
// Naive timestamps are UTC. The result has second precision.
func ParseTime(s string) (*Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range isoLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return NewTime(t), nil
		}
	}
	return nil, fmt.Errorf("%q is not an ISO 8601 time (e.g. 2021-10-31T01:49:35Z)", s)
}

// String formats t as RFC 3339 in UTC.
func (t Time) String() string { return t.UTC().Format(time.RFC3339) }

// MarshalJSON writes t as an RFC 3339 string in UTC.
func (t Time) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON reads an ISO 8601 string. Ottr's "None" is refused here; the
// *Time field holding it must be nil, which Asset's decoder arranges.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want an ISO 8601 string, got %s", bytes.TrimSpace(b))
	}
	p, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = *p
	return nil
}
