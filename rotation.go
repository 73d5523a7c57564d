package ottr

import (
	"context"
	"time"
)

// State is where a rotation is in its life: queued → running → succeeded |
// failed (or canceled).
type State string

// Rotation states. Queued and running rotations are live: an asset has at
// most one live rotation.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateCanceled  State = "canceled"
)

// Live reports whether a rotation in state s may still change the device.
func (s State) Live() bool { return s == StateQueued || s == StateRunning }

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool {
	switch s {
	case StateQueued, StateRunning, StateSucceeded, StateFailed, StateCanceled:
		return true
	}
	return false
}

// Step is the stage of a rotation's pipeline, in order.
type Step string

// Rotation steps in pipeline order.
const (
	StepPreflight Step = "preflight"
	StepCSR       Step = "csr"
	StepOrder     Step = "order"
	StepChallenge Step = "challenge"
	StepInstall   Step = "install"
	StepCommit    Step = "commit"
	StepVerify    Step = "verify"
	StepRecord    Step = "record"
)

// Steps lists the pipeline's steps in the order they run.
var Steps = []Step{StepPreflight, StepCSR, StepOrder, StepChallenge, StepInstall, StepCommit, StepVerify, StepRecord}

// Triggers say who started a rotation.
const (
	TriggerRouter = "router"
	TriggerAPI    = "api"
	TriggerCLI    = "cli"
)

// Rotation is one attempt to replace an asset's certificate: a persisted job
// with its history.
type Rotation struct {
	ID          string `json:"id"`
	SystemName  string `json:"system_name"`
	State       State  `json:"state"`
	Step        Step   `json:"step,omitempty"`
	Attempts    int    `json:"attempts"`
	Trigger     string `json:"trigger"`
	RequestedBy string `json:"requested_by,omitempty"`
	Recipe      string `json:"recipe,omitempty"`
	// Error is the last error, safe to show (no secrets).
	Error         string     `json:"error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	StartedAt     *time.Time `json:"started_at,omitempty"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
	OldSerial     string     `json:"old_serial,omitempty"`
	NewSerial     string     `json:"new_serial,omitempty"`
	OldExpiration *Time      `json:"old_expiration,omitempty"`
	NewExpiration *Time      `json:"new_expiration,omitempty"`
	// CSR and Chain (PEM, public) are the request the device made and the
	// chain the CA issued for it, kept so a resumed rotation does not
	// order twice.
	CSR   string `json:"csr,omitempty"`
	Chain string `json:"chain,omitempty"`
	// PreviousChain (PEM, public) is what the device served before, read
	// once: what a failed verification restores and what ARI's replaces
	// names, whichever process or replica runs the next attempt.
	PreviousChain string `json:"previous_chain,omitempty"`
	// AdoptedFrom names the failed rotation whose issued, never-installed
	// chain this one installs instead of ordering again.
	AdoptedFrom string `json:"-"`
	// OrderURL is the CA's order for CSR, recorded before the CA signs:
	// an attempt resumed after a crash collects that order's certificate
	// (OrderResumer) instead of ordering another.
	OrderURL string `json:"-"`
	// Log is filled by GetRotation, not by listings.
	Log []LogLine `json:"log,omitempty"`
	// NextAttemptAt is when a live rotation whose last attempt failed
	// tries again: the job queue's schedule, filled by the API's GET of
	// one rotation so a client following it can say when; not stored.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" readOnly:"true"`
	// Failures counts, on a failed rotation, the asset's failures in a row
	// with this one, and Recovered, on a successful one, the failures in a
	// row it ended: set for the Notifier (one message when a streak starts
	// and one when it ends), not stored.
	Failures  int `json:"-"`
	Recovered int `json:"-"`
	// LeaseEpoch is the rotation's current epoch (RotationLeaser): the
	// one its job must carry. Read-only: lease operations change it.
	LeaseEpoch int64 `json:"-"`
}

// LogLine is one entry of a rotation's log: what a step did. Messages never
// contain secrets.
type LogLine struct {
	Time    time.Time `json:"time"`
	Step    Step      `json:"step,omitempty"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

// RotationFilter selects rotations; set fields are AND-ed.
type RotationFilter struct {
	SystemName string
	State      State
	Limit      int
	Cursor     string
}

// RotationStore keeps rotations and their logs.
type RotationStore interface {
	// CreateRotation stores r (ID, CreatedAt and UpdatedAt are set when
	// empty). Creating a live rotation for an asset that already has one
	// returns ECONFLICT and fills r from the live one, so the caller can
	// join it.
	CreateRotation(ctx context.Context, r *Rotation) error
	// GetRotation returns a rotation with its log; ENOTFOUND if absent.
	GetRotation(ctx context.Context, id string) (*Rotation, error)
	// UpdateRotation applies fn to the stored rotation in one transaction.
	// fn sees the rotation without its log; lines fn puts in r.Log are
	// appended to the stored log in that transaction (a step's save and
	// its log lines cost one write).
	UpdateRotation(ctx context.Context, id string, fn func(*Rotation) error) (*Rotation, error)
	// AppendRotationLog adds lines to a rotation's log.
	AppendRotationLog(ctx context.Context, id string, lines ...LogLine) error
	// FindRotations lists rotations newest first, without logs.
	FindRotations(ctx context.Context, f RotationFilter) ([]*Rotation, string, error)
}

// CancelRotation marks live rotation id canceled by who; its job stops at
// the next step boundary. A finished rotation is an ECONFLICT error.
func CancelRotation(ctx context.Context, rs RotationStore, id, who string, now time.Time) (*Rotation, error) {
	return rs.UpdateRotation(ctx, id, func(r *Rotation) error {
		if !r.State.Live() {
			return Errorf(ECONFLICT, "rotation %s is already %s", r.ID, r.State)
		}
		r.State, r.FinishedAt, r.Error = StateCanceled, &now, "canceled by "+who
		return nil
	})
}
