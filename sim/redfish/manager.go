package redfish

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
)

func (d *Device) managerCollection() map[string]any {
	return collection(managersURI, "#ManagerCollection.ManagerCollection", "Manager Collection", []string{d.managerURI()})
}

func (d *Device) manager() map[string]any {
	m := map[string]any{"@odata.id": d.managerURI(), "@odata.type": "#Manager.v1_19_0.Manager", "Id": d.profile.Manager,
		"Name": "Manager", "ManagerType": "BMC", "Model": d.profile.Model, "FirmwareVersion": d.profile.Firmware,
		"Status":          map[string]string{"State": "Enabled", "Health": "OK"},
		"NetworkProtocol": link(d.managerURI() + "/NetworkProtocol"),
		"Actions": map[string]any{"#Manager.Reset": map[string]any{"target": d.managerURI() + "/Actions/Manager.Reset",
			"ResetType@Redfish.AllowableValues": d.profile.ResetTypes}}}
	if d.profile.DellOEM {
		svc := "/redfish/v1/Dell/Managers/" + d.profile.Manager + "/DelliDRACCardService"
		m["Links"] = map[string]any{"Oem": map[string]any{"Dell": map[string]any{"DelliDRACCardService": link(svc)}}}
	}
	return m
}

func (d *Device) networkProtocol() map[string]any {
	return map[string]any{"@odata.id": d.managerURI() + "/NetworkProtocol", "@odata.type": "#ManagerNetworkProtocol.v1_10_0.ManagerNetworkProtocol",
		"Id": "NetworkProtocol", "Name": "Manager Network Protocol", "HostName": "bmc",
		"HTTPS": map[string]any{"ProtocolEnabled": true, "Port": 443, "Certificates": link(d.collectionURI())},
		"SSH":   map[string]any{"ProtocolEnabled": true, "Port": 22}}
}

// reset is Manager.Reset: 204, then the BMC restarts; the web server is
// down for the restart time, every session ends, and it comes back serving
// the certificate the collection holds.
func (d *Device) reset(w http.ResponseWriter, r *http.Request, _ string) {
	const action = "Manager.Reset"
	params, ok := d.actionParams(w, r, action, "ResetType")
	if !ok {
		return
	}
	rt := "GracefulRestart"
	if raw, ok := params["ResetType"]; ok {
		if err := json.Unmarshal(raw, &rt); err != nil {
			fail(w, http.StatusBadRequest, msg("ActionParameterValueTypeError", string(raw), "ResetType", action))
			return
		}
	}
	if !slices.Contains(d.profile.ResetTypes, rt) {
		fail(w, http.StatusBadRequest, msg("ActionParameterValueNotInList", rt, "ResetType", action))
		return
	}
	if d.fault(w, "Reset") {
		return
	}
	d.restartWebServer()
	w.WriteHeader(http.StatusNoContent)
}

// fault answers the operation with the injected error, if there is one.
func (d *Device) fault(w http.ResponseWriter, op string) bool {
	if d.faults.ErrorOn != op {
		return false
	}
	status := d.faults.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	m := msg("InternalError")
	if d.faults.Message != "" {
		m.Message = d.faults.Message
	}
	fail(w, status, m)
	return true
}

// actionParams reads an action's JSON object body and refuses parameters
// the action does not take.
func (d *Device) actionParams(w http.ResponseWriter, r *http.Request, action string, known ...string) (map[string]json.RawMessage, bool) {
	params := map[string]json.RawMessage{}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&params); err != nil && err.Error() != "EOF" {
		fail(w, http.StatusBadRequest, msg("MalformedJSON"))
		return nil, false
	}
	var unknown []Message
	for k := range params {
		if !slices.Contains(known, k) {
			unknown = append(unknown, msg("ActionParameterUnknown", action, k))
		}
	}
	if len(unknown) > 0 {
		fail(w, http.StatusBadRequest, unknown...)
		return nil, false
	}
	return params, true
}

// etag is a weak ETag over a resource's content.
func etag(body map[string]any) string {
	delete(body, "@odata.etag")
	b, _ := json.Marshal(body)
	sum := sha256.Sum256(b)
	return `W/"` + hex.EncodeToString(sum[:6]) + `"`
}
