package inventory

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ottr-dev/ottr"
)

// Writer streams assets in one format.
type Writer struct {
	w      io.Writer
	format string
	csv    *csv.Writer
	n      int
	err    error
}

// NewWriter returns a Writer of a concrete format (not auto).
func NewWriter(w io.Writer, format string) (*Writer, error) {
	wr := &Writer{w: w, format: format}
	switch format {
	case FormatJSON, FormatJSONLines, FormatDynamoDB, FormatDynamoDBExport:
	case FormatCSV:
		wr.csv = csv.NewWriter(w)
		if err := wr.csv.Write(csvColumns); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown format %q; want one of %s", format, strings.Join(Formats, ", "))
	}
	return wr, nil
}

// Write writes one asset.
func (w *Writer) Write(a *ottr.Asset) error {
	if w.err != nil {
		return w.err
	}
	var line []byte
	var err error
	switch w.format {
	case FormatCSV:
		w.n++
		return w.csv.Write(csvRow(a))
	case FormatJSON, FormatJSONLines:
		line, err = json.Marshal(a)
	case FormatDynamoDB:
		line, err = json.Marshal(dynamoItem(a))
	case FormatDynamoDBExport:
		line, err = json.Marshal(map[string]any{"Item": dynamoItem(a)})
	}
	if err != nil {
		return err
	}
	prefix, suffix := "", "\n"
	switch w.format {
	case FormatJSON:
		prefix, suffix = ",\n  ", ""
		if w.n == 0 {
			prefix = "[\n  "
		}
	case FormatDynamoDB:
		prefix, suffix = ",\n    ", ""
		if w.n == 0 {
			prefix = "{\n  \"Items\": [\n    "
		}
	}
	w.n++
	_, w.err = fmt.Fprintf(w.w, "%s%s%s", prefix, line, suffix)
	return w.err
}

// Close finishes the document; it does not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	switch w.format {
	case FormatCSV:
		w.csv.Flush()
		return w.csv.Error()
	case FormatJSON:
		if w.n == 0 {
			_, err := io.WriteString(w.w, "[]\n")
			return err
		}
		_, err := io.WriteString(w.w, "\n]\n")
		return err
	case FormatDynamoDB:
		head := ""
		if w.n == 0 {
			head = "{\n  \"Items\": ["
		}
		_, err := fmt.Fprintf(w.w, "%s\n  ],\n  \"Count\": %d,\n  \"ScannedCount\": %d\n}\n", head, w.n, w.n)
		return err
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
