package inventory

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// csvColumns are the CSV fields in Asset order; last_rotation is not kept
// in CSV.
var csvColumns = []string{"system_name", "common_name", "subject_alternative_name", "certificate_authority",
	"certificate_expiration", "certificate_validation", "host_platform", "os_version", "device_model", "ip_address",
	"data_center", "origin", "labels", "port", "credential", "dns_zone", "certificate_serial", "certificate_issuer",
	"certificate_not_before"}

func checkHeader(h []string) error {
	known := map[string]bool{}
	for _, c := range csvColumns {
		known[c] = true
	}
	seen := map[string]bool{}
	for i, c := range h {
		c = strings.TrimSpace(strings.TrimPrefix(c, "\ufeff"))
		h[i] = c
		if !known[c] {
			return fmt.Errorf("csv header: unknown column %q (known: %s)", c, strings.Join(csvColumns, ", "))
		}
		if seen[c] {
			return fmt.Errorf("csv header: column %q appears twice", c)
		}
		seen[c] = true
	}
	if !seen["system_name"] {
		return fmt.Errorf("csv header: the system_name column is required")
	}
	return nil
}

// csvQuoteError describes a quote the CSV reader could not close: the rest
// of the file cannot be split into records, so it is one EINVALID error
// naming where the quoted field starts and where reading stopped.
func csvQuoteError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return ottr.Errorf(ottr.EINVALID, "csv: %v", err)
	}
	what := "a quote in an unquoted field (quote the whole field and double the quote)"
	if pe.Err == csv.ErrQuote {
		what = "a quoted field is not closed, or text follows its closing quote"
	}
	if pe.StartLine != pe.Line {
		return ottr.Errorf(ottr.EINVALID, "csv line %d: %s (the field starts on line %d)", pe.Line, what, pe.StartLine)
	}
	return ottr.Errorf(ottr.EINVALID, "csv line %d, column %d: %s", pe.Line, pe.Column, what)
}

func csvAsset(header, fields []string) (*ottr.Asset, error) {
	a := &ottr.Asset{CertificateValidation: true}
	for i, col := range header {
		v := strings.TrimSpace(fields[i])
		var err error
		switch col {
		case "subject_alternative_name":
			a.SubjectAlternativeName, err = splitList(v)
		case "certificate_expiration", "certificate_not_before":
			var t *ottr.Time
			if v != "" && !strings.EqualFold(v, "None") {
				t, err = ottr.ParseTime(v)
			}
			if col == "certificate_expiration" {
				a.CertificateExpiration = t
			} else {
				a.CertificateNotBefore = t
			}
		case "certificate_validation":
			if v != "" {
				a.CertificateValidation, err = ottr.ParseBoolString(v)
			}
		case "labels":
			a.Labels, err = splitLabels(v)
		case "port":
			if v != "" {
				a.Port, err = strconv.Atoi(v)
				if err != nil {
					err = fmt.Errorf("%q is not an integer", v)
				}
			}
		default:
			*csvString(a, col) = v
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", col, err)
		}
	}
	clearNone(a)
	return a, nil
}

func csvString(a *ottr.Asset, col string) *string {
	for _, f := range dynamoStrings {
		if f.field == col {
			return f.dst(a)
		}
	}
	panic("inventory: no string field " + col) // checkHeader admits known columns only
}

func splitList(v string) ([]string, error) {
	if strings.HasPrefix(v, "[") {
		var l []string
		if err := json.Unmarshal([]byte(v), &l); err != nil {
			return nil, fmt.Errorf("not a JSON list of strings: %v", err)
		}
		return l, nil
	}
	var out []string
	for _, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

func splitLabels(v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", p)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return m, nil
}

func csvRow(a *ottr.Asset) []string {
	row := make([]string, len(csvColumns))
	for i, col := range csvColumns {
		switch col {
		case "subject_alternative_name":
			row[i] = strings.Join(a.SubjectAlternativeName, ";")
		case "certificate_expiration":
			row[i] = "None"
			if a.CertificateExpiration != nil {
				row[i] = a.CertificateExpiration.String()
			}
		case "certificate_not_before":
			if a.CertificateNotBefore != nil {
				row[i] = a.CertificateNotBefore.String()
			}
		case "certificate_validation":
			row[i] = a.CertificateValidation.String()
		case "labels":
			var parts []string
			for _, k := range sortedKeys(a.Labels) {
				parts = append(parts, k+"="+a.Labels[k])
			}
			row[i] = strings.Join(parts, ";")
		case "port":
			if a.Port != 0 {
				row[i] = strconv.Itoa(a.Port)
			}
		default:
			row[i] = *csvString(a, col)
		}
	}
	return row
}
