package rotate_test

import (
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// A rotation that fails because names are not delegated says, for every
// such name, what is missing and the CNAME to create, wherever the failure
// is shown: the error's message (API, CLI), the rotation, the asset and the
// notification. Each name is said once per problem, not twice.
func TestPreflightDelegationNamesEveryName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name        string
		sans        []string
		undelegated []string
	}{
		{"one name", []string{"solo.example.com"}, []string{"solo.example.com"}},
		// web1 is delegated by the fixture; the two others are not.
		{"several names", []string{"multi.example.com", "web1.example.com", "alt.example.com"}, []string{"multi.example.com", "alt.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.device(t, "web1")
			if _, err := f.db.UpdateAsset(ctx, a.SystemName, func(a *ottr.Asset) error {
				a.CommonName, a.SubjectAlternativeName = tc.sans[0], tc.sans
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			defer f.db.DeleteAsset(ctx, a.SystemName)
			r := f.queue(t, a)
			err := f.rot.Run(ctx, r.ID)
			if ottr.ErrorCode(err) != ottr.EINVALID {
				t.Fatalf("Run: %v, want EINVALID", err)
			}
			if err := f.rot.Fail(ctx, r.ID, err); err != nil {
				t.Fatal(err)
			}
			got, log := f.get(t, r.ID)
			as, _ := f.db.GetAsset(ctx, a.SystemName)
			last := f.notes.sent[len(f.notes.sent)-1]
			shown := map[string]string{
				"message":            ottr.ErrorMessage(err),
				"rotation error":     got.Error,
				"asset's last error": as.LastRotation.Error,
				"notification":       last.Error,
			}
			for where, text := range shown {
				if !strings.HasPrefix(text, "DNS-01 delegation is missing for ") {
					t.Errorf("%s does not say what is missing: %q", where, text)
				}
				for _, n := range tc.undelegated {
					fix := "_acme-challenge." + n + ". CNAME _acme-challenge." + strings.TrimSuffix(n, ".example.com") + "." + zone + "."
					if !strings.Contains(text, n+": _acme-challenge."+n+" has no CNAME") || !strings.Contains(text, fix) {
						t.Errorf("%s lacks %s's problem or its fix %q:\n%s", where, n, fix, text)
					}
					if strings.Contains(text, n+": "+n) {
						t.Errorf("%s names %s twice in a row:\n%s", where, n, text)
					}
				}
				if strings.Contains(text, "web1.example.com:") {
					t.Errorf("%s reports the delegated name web1.example.com:\n%s", where, text)
				}
			}
			probs := ottr.ErrorProblems(err)
			if len(probs) != len(tc.undelegated) {
				t.Fatalf("problems %+v, want one per undelegated name %v", probs, tc.undelegated)
			}
			for i, p := range probs {
				if p.Field != tc.undelegated[i] || strings.HasPrefix(p.Message, p.Field) {
					t.Errorf("problem %d = %+v, want field %s and a message that does not repeat it", i, p, tc.undelegated[i])
				}
			}
			if len(tc.sans) > 2 && !strings.Contains(log, "web1.example.com delegated: _acme-challenge.web1.example.com → _acme-challenge.web1."+zone) {
				t.Errorf("the delegated name is not logged:\n%s", log)
			}
		})
	}
}
