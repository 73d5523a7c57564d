package ottr

import (
	"context"
	"fmt"
	"strings"
)

// CheckDelegations follows every name's DNS-01 delegation. Names that are
// not delegated are all reported in one EINVALID error whose message
// carries each name's problem and fix: that message is what a failed
// rotation, the API and the command line show, and a list that kept only
// its head ("delegation is missing") would leave the operator guessing
// which CNAME to create. A resolver failure (EUNAVAILABLE) is returned as
// it is: nothing is known about the other names then.
func CheckDelegations(ctx context.Context, d ChallengeDNS, names []string) ([]Delegation, error) {
	var dels []Delegation
	var probs []Problem
	for _, n := range names {
		del, err := d.Delegate(ctx, n)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				return nil, err
			}
			name := del.Name
			if name == "" {
				name = n
			}
			// Delegate's message names the name already: as a
			// problem under that name it would say it twice.
			msg := strings.TrimPrefix(ErrorMessage(err), name+": ")
			probs = append(probs, Problem{Field: name, Message: msg})
			continue
		}
		dels = append(dels, del)
	}
	if len(probs) == 0 {
		return dels, nil
	}
	head := "DNS-01 delegation is missing for " + probs[0].Field + ": " + probs[0].Message
	if len(probs) > 1 {
		parts := make([]string, len(probs))
		for i, p := range probs {
			parts[i] = p.String()
		}
		head = fmt.Sprintf("DNS-01 delegation is missing for %d names: %s", len(probs), strings.Join(parts, "; "))
	}
	return dels, &Error{Code: EINVALID, Message: head, Problems: probs}
}
