package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// editField is one field of the asset form: its API name, label, kind and
// value as shown (what was sent, after a refusal).
type editField struct {
	Key, Label, Hint, Value string
	Multi                   bool // a textarea
	Number                  bool
}

// editable are the fields the API's update takes, in the form's order.
var editable = []editField{
	{Key: "common_name", Label: "Common name"},
	{Key: "subject_alternative_name", Label: "Subject alternative names", Hint: "One name per line.", Multi: true},
	{Key: "host_platform", Label: "Platform"},
	{Key: "os_version", Label: "OS version"},
	{Key: "device_model", Label: "Device model"},
	{Key: "ip_address", Label: "IP address"},
	{Key: "data_center", Label: "Data center"},
	{Key: "port", Label: "Port", Hint: "Empty for the platform's default.", Number: true},
	{Key: "credential", Label: "Credential set"},
	{Key: "dns_zone", Label: "DNS zone"},
	{Key: "labels", Label: "Labels", Hint: "One key=value per line.", Multi: true},
}

type editData struct {
	Name     string
	Fields   []editField
	Errors   fieldErrors
	Problems []ottr.Problem
	Message  string
}

func (d editData) title() string { return "Edit " + d.Name }

func assetValue(a *ottr.Asset, key string) string {
	switch key {
	case "common_name":
		return a.CommonName
	case "subject_alternative_name":
		return strings.Join(a.SubjectAlternativeName, "\n")
	case "host_platform":
		return a.HostPlatform
	case "os_version":
		return a.OSVersion
	case "device_model":
		return a.DeviceModel
	case "ip_address":
		return a.IPAddress
	case "data_center":
		return a.DataCenter
	case "port":
		if a.Port == 0 {
			return ""
		}
		return strconv.Itoa(a.Port)
	case "credential":
		return a.Credential
	case "dns_zone":
		return a.DNSZone
	case "labels":
		var lines []string
		for _, k := range sortedKeys(a.Labels) {
			lines = append(lines, k+"="+a.Labels[k])
		}
		return strings.Join(lines, "\n")
	}
	return ""
}

func (s *Server) assetEdit(w http.ResponseWriter, r *http.Request, u *user) {
	a, err := u.backend.GetAsset(r.Context(), r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := editData{Name: a.SystemName, Errors: fieldErrors{}}
	for _, f := range editable {
		f.Value = assetValue(a, f.Key)
		d.Fields = append(d.Fields, f)
	}
	s.render(w, r, http.StatusOK, "asset_edit", d)
}

// lines splits a textarea into its non-empty lines (commas separate too).
func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// assetEditPost sends the form through the API's update; its refusal comes
// back with each problem next to its field.
func (s *Server) assetEditPost(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	form := r.PostForm
	d := editData{Name: name, Errors: fieldErrors{}}
	for _, f := range editable {
		f.Value = form.Get(f.Key)
		d.Fields = append(d.Fields, f)
	}
	v := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	port := 0
	if p := v("port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			d.Errors.add("port", "enter a port number (1–65535) or leave it empty")
		}
		port = n
	}
	labels, err := parseLabels(form.Get("labels"))
	if err != nil {
		d.Errors.add("labels", err.Error())
	}
	if len(d.Errors) > 0 {
		d.Message = "The asset was not saved."
		s.render(w, r, http.StatusBadRequest, "asset_edit", d)
		return
	}
	if len(labels) == 0 {
		labels = nil
	}
	a, err := u.backend.UpdateAsset(r.Context(), name, func(a *ottr.Asset) error {
		a.CommonName, a.SubjectAlternativeName = v("common_name"), lines(form.Get("subject_alternative_name"))
		a.HostPlatform, a.OSVersion, a.DeviceModel = v("host_platform"), v("os_version"), v("device_model")
		a.IPAddress, a.DataCenter, a.Port = v("ip_address"), v("data_center"), port
		a.Credential, a.DNSZone, a.Labels = v("credential"), v("dns_zone"), labels
		return nil
	})
	// A refusal about fields (invalid, or a field only an ADMIN may
	// change) is shown on the form, by the fields.
	if c := ottr.ErrorCode(err); c == ottr.EINVALID || c == ottr.EFORBIDDEN && len(ottr.ErrorProblems(err)) > 0 {
		status := http.StatusBadRequest
		if c == ottr.EFORBIDDEN {
			status = http.StatusForbidden
		}
		d.Message = ottr.ErrorMessage(err)
		d.Problems = placeProblems(err, d.Errors, func(f string) bool {
			for _, e := range editable {
				if e.Key == f {
					return true
				}
			}
			return false
		})
		d.Problems = beyond(d.Message, d.Problems)
		s.render(w, r, status, "asset_edit", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/assets/"+url.PathEscape(a.SystemName)+"?done=saved", http.StatusSeeOther)
}
