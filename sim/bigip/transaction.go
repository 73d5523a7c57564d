package bigip

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// transaction is /mgmt/tm/transaction[/<id>]: POST opens one, calls sent
// with X-F5-REST-Coordination-Id are queued, and PATCH {"state":
// "VALIDATING"} runs them all or, if one fails, none.
func (d *Device) transaction(req request, id string) (int, any) {
	if id == "" {
		if req.method != http.MethodPost {
			return notModelled(req.method + " on the transaction collection")
		}
		n := time.Now().UnixMicro()
		for d.txns[strconv.FormatInt(n, 10)] != nil {
			n++
		}
		tid := strconv.FormatInt(n, 10)
		d.txns[tid] = []request{}
		return 200, txnState(tid, "STARTED", "")
	}
	cmds, ok := d.txns[id]
	if !ok || strings.Contains(id, "/") {
		return tmErr(404, fmt.Sprintf("Transaction %s was not found.", id))
	}
	switch req.method {
	case http.MethodGet:
		return 200, txnState(id, "STARTED", "")
	case http.MethodDelete:
		delete(d.txns, id)
		return 200, nil
	case http.MethodPatch:
	default:
		return notModelled(req.method + " on a transaction")
	}
	var in struct {
		State        string `json:"state"`
		ValidateOnly bool   `json:"validateOnly"`
	}
	if err := json.Unmarshal(req.body, &in); err != nil || in.State != "VALIDATING" {
		return tmErr(400, fmt.Sprintf("Transaction %s: state %q is not a state it can be set to (VALIDATING).", id, in.State))
	}
	if in.ValidateOnly {
		return notModelled("validateOnly transactions")
	}
	delete(d.txns, id)
	if len(cmds) == 0 {
		return tmErr(400, fmt.Sprintf("Transaction %s has no commands to execute.", id))
	}
	before := d.cfg.clone()
	for _, c := range cmds {
		if code, out := d.route(c); code >= 300 {
			d.cfg = before
			msg := fmt.Sprint(out)
			if m, ok := out.(map[string]any); ok {
				msg = fmt.Sprint(m["message"])
			}
			return tmErr(400, "transaction failed:"+msg)
		}
	}
	if err := d.cfg.validate(); err != nil {
		d.cfg = before
		return tmErr(400, "transaction failed:"+err.Error())
	}
	return 200, txnState(id, "COMPLETED", "")
}

func txnState(id, state, reason string) map[string]any {
	n, _ := strconv.ParseInt(id, 10, 64)
	return map[string]any{"transId": n, "state": state, "timeoutSeconds": 120, "asyncExecution": false, "validateOnly": false,
		"executionTimeout": 300, "executionTime": 0, "failureReason": reason, "kind": "tm:transactionstate",
		"selfLink": selfLink("/mgmt/tm/transaction/" + id)}
}

// enqueue adds a call to transaction id; the device answers with the
// request as it will be run.
func (d *Device) enqueue(id string, req request) (int, any) {
	cmds, ok := d.txns[id]
	if !ok {
		return tmErr(404, fmt.Sprintf("Transaction %s was not found.", id))
	}
	if req.method == http.MethodGet || strings.HasPrefix(req.path, "/mgmt/tm/transaction") || strings.HasPrefix(req.path, "/mgmt/tm/util/") {
		return notModelled(req.method + " " + req.path + " inside a transaction")
	}
	d.txns[id] = append(cmds, req)
	var echo map[string]any
	_ = json.Unmarshal(req.body, &echo)
	if echo == nil {
		echo = map[string]any{}
	}
	echo["transId"], echo["evalOrder"] = id, len(cmds)+1
	return 200, echo
}
