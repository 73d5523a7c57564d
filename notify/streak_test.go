package notify_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/notify"
)

// TestOneMessagePerStreak: a failure is announced when it starts a streak,
// not on every retry that fails again; the success that ends a streak is
// announced even without on_success, saying how many failures it ended.
func TestOneMessagePerStreak(t *testing.T) {
	var mu sync.Mutex
	var titles []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Title string `json:"title"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		titles = append(titles, body.Title)
		mu.Unlock()
	}))
	defer srv.Close()
	n, err := notify.New(notify.Config{Webhook: &notify.WebhookConfig{URL: srv.URL, Secret: "s3cret-webhook"}})
	if err != nil {
		t.Fatal(err)
	}
	r, a := failed()
	for i := 1; i <= 3; i++ {
		r.Failures = i
		if err := n.Notify(t.Context(), r, a); err != nil {
			t.Fatal(err)
		}
	}
	ok := &ottr.Rotation{ID: "01ABD", SystemName: a.SystemName, State: ottr.StateSucceeded, NewSerial: "0a"}
	if err := n.Notify(t.Context(), ok, a); err != nil { // an ordinary success: quiet
		t.Fatal(err)
	}
	ok.Recovered = 3
	if err := n.Notify(t.Context(), ok, a); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"Certificate rotation of fw01.example.com failed at install",
		"Certificate of fw01.example.com rotated (serial 0a) after 3 failed rotations"}
	if len(titles) != len(want) || titles[0] != want[0] || titles[1] != want[1] {
		t.Errorf("sent %q, want %q", titles, want)
	}
}
