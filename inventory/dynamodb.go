package inventory

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// attr is one DynamoDB AttributeValue: a single type key and its value.
type attr map[string]json.RawMessage

func (v attr) typ() string {
	for k := range v {
		return k
	}
	return "nothing"
}

var dynamoStrings = []struct {
	field string
	dst   func(*ottr.Asset) *string
}{
	{"system_name", func(a *ottr.Asset) *string { return &a.SystemName }},
	{"common_name", func(a *ottr.Asset) *string { return &a.CommonName }},
	{"certificate_authority", func(a *ottr.Asset) *string { return &a.CertificateAuthority }},
	{"host_platform", func(a *ottr.Asset) *string { return &a.HostPlatform }},
	{"os_version", func(a *ottr.Asset) *string { return &a.OSVersion }},
	{"device_model", func(a *ottr.Asset) *string { return &a.DeviceModel }},
	{"ip_address", func(a *ottr.Asset) *string { return &a.IPAddress }},
	{"data_center", func(a *ottr.Asset) *string { return &a.DataCenter }},
	{"origin", func(a *ottr.Asset) *string { return &a.Origin }},
	{"credential", func(a *ottr.Asset) *string { return &a.Credential }},
	{"dns_zone", func(a *ottr.Asset) *string { return &a.DNSZone }},
	{"certificate_serial", func(a *ottr.Asset) *string { return &a.CertificateSerial }},
	{"certificate_issuer", func(a *ottr.Asset) *string { return &a.CertificateIssuer }},
}

func dynamoString(field string, v attr) (string, error) {
	if raw, ok := v["S"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("%s: S holds %s, not a string", field, raw)
		}
		return s, nil
	}
	if _, ok := v["NULL"]; ok {
		return "", nil
	}
	if raw, ok := v["N"]; ok && field != "system_name" {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, nil // a version written as a number
		}
	}
	return "", fmt.Errorf("%s: want a string (S), found %s", field, v.typ())
}

func dynamoTime(field string, v attr) (*ottr.Time, error) {
	s, err := dynamoString(field, v)
	if err != nil || s == "" || strings.EqualFold(s, "None") {
		return nil, err
	}
	t, err := ottr.ParseTime(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	return t, nil
}

func dynamoAsset(raw []byte) (*ottr.Asset, error) {
	var item map[string]attr
	if err := json.Unmarshal(raw, &item); err != nil || item == nil {
		return nil, fmt.Errorf("want an item of DynamoDB attribute values ({\"field\": {\"S\": \"…\"}})")
	}
	a := &ottr.Asset{CertificateValidation: true}
	for _, f := range dynamoStrings {
		if v, ok := item[f.field]; ok {
			s, err := dynamoString(f.field, v)
			if err != nil {
				return nil, err
			}
			*f.dst(a) = s
		}
	}
	var err error
	if v, ok := item["certificate_expiration"]; ok {
		if a.CertificateExpiration, err = dynamoTime("certificate_expiration", v); err != nil {
			return nil, err
		}
	}
	if v, ok := item["certificate_not_before"]; ok {
		if a.CertificateNotBefore, err = dynamoTime("certificate_not_before", v); err != nil {
			return nil, err
		}
	}
	if v, ok := item["certificate_validation"]; ok {
		if raw, ok := v["BOOL"]; ok {
			var b bool
			if json.Unmarshal(raw, &b) != nil {
				return nil, fmt.Errorf("certificate_validation: BOOL holds %s", raw)
			}
			a.CertificateValidation = ottr.BoolString(b)
		} else if s, err := dynamoString("certificate_validation", v); err != nil {
			return nil, err
		} else if s != "" {
			if a.CertificateValidation, err = ottr.ParseBoolString(s); err != nil {
				return nil, fmt.Errorf("certificate_validation: %v", err)
			}
		}
	}
	if v, ok := item["subject_alternative_name"]; ok {
		if a.SubjectAlternativeName, err = dynamoList("subject_alternative_name", v); err != nil {
			return nil, err
		}
	}
	if v, ok := item["port"]; ok {
		raw, isN := v["N"]
		if !isN {
			raw, isN = v["S"]
		}
		var s string
		if !isN || json.Unmarshal(raw, &s) != nil {
			return nil, fmt.Errorf("port: want a number (N), found %s", v.typ())
		}
		if a.Port, err = strconv.Atoi(s); err != nil {
			return nil, fmt.Errorf("port: %q is not an integer", s)
		}
	}
	if v, ok := item["labels"]; ok {
		var m map[string]attr
		raw, isM := v["M"]
		if !isM || json.Unmarshal(raw, &m) != nil {
			return nil, fmt.Errorf("labels: want a map (M) of strings, found %s", v.typ())
		}
		a.Labels = map[string]string{}
		for k, lv := range m {
			if a.Labels[k], err = dynamoString("labels."+k, lv); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := item["last_rotation"]; ok {
		var m map[string]attr
		raw, isM := v["M"]
		if !isM || json.Unmarshal(raw, &m) != nil {
			return nil, fmt.Errorf("last_rotation: want a map (M), found %s", v.typ())
		}
		lr := &ottr.LastRotation{}
		t, err := dynamoTime("last_rotation.time", m["time"])
		if err != nil || t == nil {
			return nil, fmt.Errorf("last_rotation.time: want an ISO 8601 time")
		}
		lr.Time = *t
		for k, dst := range map[string]*string{"status": &lr.Status, "error": &lr.Error, "rotation_id": &lr.RotationID} {
			if mv, ok := m[k]; ok {
				if *dst, err = dynamoString("last_rotation."+k, mv); err != nil {
					return nil, err
				}
			}
		}
		a.LastRotation = lr
	}
	clearNone(a)
	return a, nil
}

func dynamoList(field string, v attr) ([]string, error) {
	if raw, ok := v["SS"]; ok {
		var ss []string
		if json.Unmarshal(raw, &ss) != nil {
			return nil, fmt.Errorf("%s: SS holds %s", field, raw)
		}
		return ss, nil
	}
	raw, ok := v["L"]
	if !ok {
		if _, null := v["NULL"]; null {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: want a list (L) of strings, found %s", field, v.typ())
	}
	var items []attr
	if json.Unmarshal(raw, &items) != nil {
		return nil, fmt.Errorf("%s: L holds %s", field, raw)
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, err := dynamoString(fmt.Sprintf("%s[%d]", field, i), it)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func s(v string) map[string]string { return map[string]string{"S": v} }

// dynamoItem renders an asset as Ottr's table holds it.
func dynamoItem(a *ottr.Asset) map[string]any {
	item := map[string]any{}
	for _, f := range dynamoStrings {
		if v := *f.dst(a); v != "" || f.field == "system_name" || f.field == "common_name" ||
			f.field == "certificate_authority" || f.field == "host_platform" || f.field == "os_version" ||
			f.field == "device_model" || f.field == "ip_address" || f.field == "data_center" || f.field == "origin" {
			item[f.field] = s(v)
		}
	}
	exp := "None"
	if a.CertificateExpiration != nil {
		exp = a.CertificateExpiration.String()
	}
	item["certificate_expiration"] = s(exp)
	item["certificate_validation"] = s(a.CertificateValidation.String())
	if a.CertificateNotBefore != nil {
		item["certificate_not_before"] = s(a.CertificateNotBefore.String())
	}
	sans := make([]map[string]string, 0, len(a.SubjectAlternativeName))
	for _, n := range a.SubjectAlternativeName {
		sans = append(sans, s(n))
	}
	item["subject_alternative_name"] = map[string]any{"L": sans}
	if a.Port != 0 {
		item["port"] = map[string]string{"N": strconv.Itoa(a.Port)}
	}
	if len(a.Labels) > 0 {
		m := map[string]any{}
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m[k] = s(a.Labels[k])
		}
		item["labels"] = map[string]any{"M": m}
	}
	if lr := a.LastRotation; lr != nil {
		m := map[string]any{"time": s(lr.Time.String()), "status": s(lr.Status)}
		if lr.Error != "" {
			m["error"] = s(lr.Error)
		}
		if lr.RotationID != "" {
			m["rotation_id"] = s(lr.RotationID)
		}
		item["last_rotation"] = map[string]any{"M": m}
	}
	return item
}
