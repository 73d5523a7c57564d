package ottr

import (
	"context"
	"time"
)

// Lease is a live rotation handed to a worker: the rotation and the epoch
// its job must carry. A job whose epoch is no longer the rotation's was
// superseded (its worker died and another took over) and does nothing.
type Lease struct {
	RotationID string
	SystemName string
	Epoch      int64
}

// RotationLeaser lets the workers of several processes share rotations
// safely. A worker holds a rotation while it runs it and renews the hold
// well before it runs out; a worker that dies (kill -9, a lost host) stops
// renewing, and any other process takes the rotation over once the hold
// has run out — long before the job queue would rescue the dead worker's
// job. The epoch makes the takeover exclusive: it changes on every
// takeover, and only a worker with the current epoch may hold the rotation.
type RotationLeaser interface {
	// ClaimRotation makes owner the holder of live rotation id until
	// until, if epoch is its current epoch and no other owner holds it
	// unexpired at now; the result says why not otherwise.
	ClaimRotation(ctx context.Context, id, owner string, epoch int64, now, until time.Time) (Claim, error)
	// RenewRotationLease extends owner's hold to until; false when owner no
	// longer holds it (taken over or released). A rotation canceled or
	// finished meanwhile is still renewed: the attempt stops at its next
	// step boundary, not in the middle of a step.
	RenewRotationLease(ctx context.Context, id, owner string, epoch int64, until time.Time) (bool, error)
	// ReleaseRotation ends owner's hold, leaving the epoch: the job that
	// holds it goes on (a retry after a backoff, or nothing if finished).
	ReleaseRotation(ctx context.Context, id, owner string, epoch int64) error
	// HandOverRotation ends owner's hold and moves the rotation to a new
	// epoch, for a new job to continue it at once (a graceful shutdown).
	// ok is false when owner did not hold it.
	HandOverRotation(ctx context.Context, id, owner string, epoch int64) (l Lease, ok bool, err error)
	// ReapRotationLeases takes over up to limit live rotations whose
	// holder's lease ran out before expiredBefore: each moves to a new
	// epoch with no holder and is returned, so the caller queues a job for
	// it. Two callers racing never get the same rotation.
	ReapRotationLeases(ctx context.Context, expiredBefore time.Time, limit int) ([]Lease, error)
	// UnheldRotations lists up to limit live rotations nobody holds that
	// have not changed since before: those a crash between recording a
	// rotation and queueing its job may have left without a job.
	UnheldRotations(ctx context.Context, before time.Time, limit int) ([]Lease, error)
	// SupersedeUnheldRotation moves live rotation id from epoch to a new
	// one if nobody holds it: the job at epoch was taken by a worker that
	// died before claiming the rotation. ok is false when the rotation is
	// held, finished or at another epoch already.
	SupersedeUnheldRotation(ctx context.Context, id string, epoch int64) (l Lease, ok bool, err error)
}

// Claim is the outcome of ClaimRotation.
type Claim struct {
	// Claimed: the caller now holds the rotation.
	Claimed bool
	// Epoch is the rotation's current epoch; a job with another one is
	// superseded.
	Epoch int64
	// Live is false when the rotation has finished (or was canceled).
	Live bool
	// Attempts and Error are the rotation's when Claimed: enough for the
	// worker to decide whether to run it at all without reading the row.
	Attempts int
	Error    string
}

// RotationBatcher creates many rotations in one round trip.
type RotationBatcher interface {
	// CreateRotations stores each rotation as CreateRotation does. For an
	// asset that already has a live rotation, that one is returned in its
	// place with joined[i] true; nothing fails for it.
	CreateRotations(ctx context.Context, rs []*Rotation) (joined []bool, err error)
}
