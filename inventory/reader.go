package inventory

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ottr-dev/ottr"
)

// Formats.
const (
	FormatAuto           = "auto"
	FormatDynamoDB       = "dynamodb"        // aws dynamodb scan output: {"Items": [...], "Count": N}
	FormatDynamoDBExport = "dynamodb-export" // export-to-S3 JSON lines: {"Item": {...}} per line
	FormatJSON           = "json"            // JSON array of assets
	FormatJSONLines      = "jsonl"           // one asset object per line
	FormatCSV            = "csv"             // header row of field names
)

// Formats lists the concrete formats, for help texts and validation.
var Formats = []string{FormatDynamoDB, FormatDynamoDBExport, FormatJSON, FormatJSONLines, FormatCSV}

// Record is one decoded record: an asset, or the problem that kept it from
// being one.
type Record struct {
	Pos   string // "line 12" or "item 3" (1-based)
	Asset *ottr.Asset
	Err   error
}

// Reader streams records from an inventory file.
type Reader struct {
	format string
	br     *bufio.Reader
	dec    *json.Decoder // json, dynamodb
	csv    *csv.Reader
	header []string
	n      int // records or lines read
	done   bool
	fatal  error
}

// NewReader returns a Reader of the given format; FormatAuto sniffs it from
// the first bytes.
func NewReader(r io.Reader, format string) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if format == FormatAuto || format == "" {
		format = sniff(br)
	}
	rd := &Reader{format: format, br: br}
	switch format {
	case FormatJSON:
		rd.dec = json.NewDecoder(br)
		if err := rd.openArray(); err != nil {
			return nil, err
		}
	case FormatDynamoDB:
		rd.dec = json.NewDecoder(br)
		if err := rd.openItems(); err != nil {
			return nil, err
		}
	case FormatJSONLines, FormatDynamoDBExport:
	case FormatCSV:
		rd.csv = csv.NewReader(br)
		rd.csv.FieldsPerRecord = -1
		rd.csv.ReuseRecord = false
		h, err := rd.csv.Read()
		if err == io.EOF {
			rd.done = true
			return rd, nil
		}
		if err != nil {
			return nil, fmt.Errorf("csv header: %w", csvQuoteError(err))
		}
		if err := checkHeader(h); err != nil {
			return nil, err
		}
		rd.header = h
	default:
		return nil, fmt.Errorf("unknown format %q; want one of %s", format, strings.Join(append([]string{FormatAuto}, Formats...), ", "))
	}
	return rd, nil
}

// Format returns the format being read.
func (r *Reader) Format() string { return r.format }

// sniff decides the format from the start of the input without consuming it.
func sniff(br *bufio.Reader) string {
	peek, _ := br.Peek(64 << 10)
	b := bytes.TrimLeft(peek, " \t\r\n\ufeff")
	if len(b) == 0 {
		return FormatJSONLines // empty: zero records either way
	}
	switch b[0] {
	case '[':
		return FormatJSON
	case '{':
		// Walk the keys of the first top-level object: "Items" at depth 1
		// is a scan (it may follow Count), a leading "Item" is an export.
		dec := json.NewDecoder(bytes.NewReader(b))
		if _, err := dec.Token(); err != nil {
			return FormatJSONLines
		}
		first := true
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				break
			}
			key, _ := t.(string)
			switch {
			case key == "Items":
				return FormatDynamoDB
			case key == "Item" && first:
				return FormatDynamoDBExport
			}
			first = false
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				break
			}
		}
		return FormatJSONLines
	}
	return FormatCSV
}

func (r *Reader) openArray() error {
	t, err := r.dec.Token()
	if err == io.EOF {
		r.done = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("json: want an array of assets, found %v", t)
	}
	return nil
}

// openItems positions the decoder inside the scan output's Items array.
func (r *Reader) openItems() error {
	t, err := r.dec.Token()
	if err != nil {
		return fmt.Errorf("dynamodb scan: %w", err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("dynamodb scan: want an object with Items")
	}
	for r.dec.More() {
		t, err := r.dec.Token()
		if err != nil {
			return fmt.Errorf("dynamodb scan: %w", err)
		}
		if t == "Items" {
			t, err := r.dec.Token()
			if err != nil {
				return fmt.Errorf("dynamodb scan: Items: %w", err)
			}
			if d, ok := t.(json.Delim); !ok || d != '[' {
				return fmt.Errorf("dynamodb scan: Items is not a list")
			}
			return nil
		}
		var skip json.RawMessage
		if err := r.dec.Decode(&skip); err != nil {
			return fmt.Errorf("dynamodb scan: %w", err)
		}
	}
	r.done = true // no Items: an empty table
	return nil
}

// Next returns the next record, io.EOF at the end, or a fatal error.
func (r *Reader) Next() (Record, error) {
	if r.fatal != nil {
		return Record{}, r.fatal
	}
	if r.done {
		return Record{}, io.EOF
	}
	rec, err := r.next()
	if err != nil && !errors.Is(err, io.EOF) {
		r.fatal = err
	}
	if errors.Is(err, io.EOF) {
		r.done = true
	}
	return rec, err
}

func (r *Reader) next() (Record, error) {
	switch r.format {
	case FormatJSON, FormatDynamoDB:
		if !r.dec.More() {
			return Record{}, io.EOF
		}
		r.n++
		pos := fmt.Sprintf("item %d", r.n)
		var raw json.RawMessage
		if err := r.dec.Decode(&raw); err != nil {
			return Record{}, fmt.Errorf("%s: %w", pos, err)
		}
		return decodeRecord(pos, raw, r.format == FormatDynamoDB), nil
	case FormatJSONLines, FormatDynamoDBExport:
		for {
			line, err := r.br.ReadBytes('\n')
			if len(line) == 0 && err != nil {
				if err == io.EOF {
					return Record{}, io.EOF
				}
				return Record{}, err
			}
			r.n++
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			pos := fmt.Sprintf("line %d", r.n)
			if r.format == FormatJSONLines {
				return decodeRecord(pos, line, false), nil
			}
			var env struct {
				Item json.RawMessage `json:"Item"`
			}
			if err := json.Unmarshal(line, &env); err != nil || env.Item == nil {
				return Record{Pos: pos, Err: fmt.Errorf(`want {"Item": {...}}`)}, nil
			}
			return decodeRecord(pos, env.Item, true), nil
		}
	case FormatCSV:
		fields, err := r.csv.Read()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if err != nil {
			// FieldPos is only defined after a successful Read, so the
			// line comes from the error itself.
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err != csv.ErrQuote && pe.Err != csv.ErrBareQuote {
				return Record{Pos: fmt.Sprintf("line %d", pe.Line), Err: pe.Err}, nil
			}
			return Record{}, csvQuoteError(err)
		}
		line, _ := r.csv.FieldPos(0)
		pos := fmt.Sprintf("line %d", line)
		if len(fields) != len(r.header) {
			return Record{Pos: pos, Err: fmt.Errorf("%d fields, header has %d", len(fields), len(r.header))}, nil
		}
		a, err := csvAsset(r.header, fields)
		if err != nil {
			return Record{Pos: pos, Err: err}, nil
		}
		return Record{Pos: pos, Asset: a}, nil
	}
	return Record{}, io.EOF
}

func decodeRecord(pos string, raw []byte, dynamo bool) Record {
	var a *ottr.Asset
	var err error
	if dynamo {
		a, err = dynamoAsset(raw)
	} else {
		a, err = jsonAsset(raw)
	}
	if err != nil {
		return Record{Pos: pos, Err: err}
	}
	return Record{Pos: pos, Asset: a}
}

func jsonAsset(raw []byte) (*ottr.Asset, error) {
	a := &ottr.Asset{}
	if err := json.Unmarshal(raw, a); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			want := jsonType(te.Type.Kind().String())
			article := "a"
			if want == "object" {
				article = "an"
			}
			if te.Field == "" {
				return nil, fmt.Errorf("want an asset as a JSON object, found a JSON %s", te.Value)
			}
			return nil, fmt.Errorf("%s: want %s %s, found %s", te.Field, article, want, te.Value)
		}
		// Syntax: the line and column within the record, in words.
		return nil, errors.New(ottr.DescribeJSONError(raw, err))
	}
	clearNone(a)
	return a, nil
}

func jsonType(kind string) string {
	switch kind {
	case "slice":
		return "list"
	case "int":
		return "number"
	case "map", "struct":
		return "object"
	}
	return kind
}

// clearNone maps Ottr's Python-None strings in optional fields to empty.
func clearNone(a *ottr.Asset) {
	for _, p := range []*string{&a.IPAddress, &a.DeviceModel, &a.DataCenter, &a.OSVersion, &a.Origin, &a.Credential, &a.DNSZone} {
		if *p == "None" {
			*p = ""
		}
	}
}
