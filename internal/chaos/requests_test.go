package chaos

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// adminPassword is the API administrator's, made with `ottr user add`.
const adminPassword = "Chaos.Adm1n.Passw0rd"

// login gets an API token from the server at url; every replica accepts
// it (they share the signing key in the database).
func login(t testing.TB, url string) string {
	t.Helper()
	cl := &api.Client{BaseURL: url}
	if err := cl.Login(t.Context(), "admin", adminPassword); err != nil {
		t.Fatal(err)
	}
	return cl.Token
}

// requestRotations asks the replicas' APIs to rotate each asset, as an
// operator would, a few at a time and in the background. A request that
// meets a replica being killed is sent to the next one; it may then join
// the rotation the lost request created. The channel is closed when every
// asset has its rotation.
func requestRotations(t testing.TB, c *cluster, token string, names []string) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	next := make(chan string)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := range next {
				if err := requestRotation(t, c, token, n, w); err != nil {
					t.Errorf("rotation of %s not requested: %v", n, err)
				}
			}
		})
	}
	go func() {
		for _, n := range names {
			next <- n
		}
		close(next)
		wg.Wait()
		close(done)
	}()
	t.Cleanup(func() { <-done })
	return done
}

// requestRotation asks replicas in turn, from replica first, until one
// answers; only a refusal is an error.
func requestRotation(t testing.TB, c *cluster, token, name string, first int) error {
	deadline := time.Now().Add(time.Minute)
	var last error
	for try := 0; ; try++ {
		if time.Now().After(deadline) {
			return fmt.Errorf("no replica answered for a minute (last: %v)", last)
		}
		url := c.URL((first + try) % len(c.replicas))
		if url == "" {
			time.Sleep(100 * time.Millisecond) // that replica is down
			continue
		}
		cl := &api.Client{BaseURL: url, Token: token}
		_, joined, err := cl.Rotate(t.Context(), name)
		switch {
		case err == nil && joined && try == 0:
			return fmt.Errorf("joined a rotation the test did not ask for")
		case err == nil:
			return nil
		case t.Context().Err() != nil:
			return nil // the test is over
		case ottr.ErrorCode(err) != ottr.EINTERNAL && ottr.ErrorCode(err) != ottr.EUNAVAILABLE:
			return err // refused: not the replica's absence
		}
		last = err
	}
}
