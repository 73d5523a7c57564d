package main

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// tableWidth is what a table fits unless -o wide: a terminal of 120
// columns shows it without wrapping, and pasting it into a ticket keeps it
// readable.
const tableWidth = 120

// Column layout of every table.
const (
	tableGap       = 2  // spaces between columns
	tableMinWidth  = 8  // a column is never cut narrower than this
	tableLastWidth = 30 // the last column is kept this wide while others can give
)

// table collects tab-separated lines, as text/tabwriter does, and aligns
// them at Flush. With a width it fits them in it: the widest columns are
// cut (ending in "…") until the table fits, and the last column wraps onto
// indented lines rather than losing its text — it is where reasons and
// errors go. Width 0 (-o wide) prints every cell whole.
type table struct {
	w     io.Writer
	width int
	buf   bytes.Buffer
}

// table returns the table writer for the output format of the command.
func (a *app) table() *table {
	if a.output == "wide" {
		return &table{w: a.stdout}
	}
	return newTable(a.stdout)
}

// newTable is a table that fits tableWidth, for output that has no app.
func newTable(w io.Writer) *table { return &table{w: w, width: tableWidth} }

// cell shortens s to n runes in a table, and leaves it whole with -o wide.
func (a *app) cell(s string, n int) string {
	if a.wide() {
		return s
	}
	return truncate(s, n)
}

// fullTable aligns without fitting, for the few tables whose cells are
// meant to be copied whole (config keys).
func fullTable(w io.Writer) *table { return &table{w: w} }

func (t *table) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes the collected lines aligned and forgets them.
func (t *table) Flush() error {
	text := t.buf.String()
	t.buf.Reset()
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil
	}
	var rows [][]string
	for _, line := range strings.Split(text, "\n") {
		rows = append(rows, strings.Split(line, "\t"))
	}
	widths := columnWidths(rows)
	if t.width > 0 && len(widths) > 0 {
		fit(widths, t.width)
	}
	var out strings.Builder
	for _, r := range rows {
		writeRow(&out, r, widths)
	}
	_, err := io.WriteString(t.w, out.String())
	return err
}

// columnWidths is each column's widest cell; a line without tabs (a title
// or note) does not widen the first column.
func columnWidths(rows [][]string) []int {
	var widths []int
	for _, r := range rows {
		if len(r) < 2 {
			continue
		}
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	return widths
}

// fit narrows the widest column, one rune at a time, until the columns
// and their gaps fit in width or none can be narrowed further. The last
// column, which wraps, keeps up to tableLastWidth until the others are
// down to tableMinWidth: a reason cut to a few runes a line is unreadable.
func fit(widths []int, width int) {
	total := tableGap * max(len(widths)-1, 0)
	for _, w := range widths {
		total += w
	}
	last := len(widths) - 1
	floor := min(widths[last], tableLastWidth)
	for total > width {
		widest := -1
		for i, w := range widths {
			// The first column names the row (an asset, a rotation): it
			// is never cut.
			if (i == 0 && last > 0) || (i == last && w <= floor) || w <= tableMinWidth {
				continue
			}
			if widest < 0 || w > widths[widest] || (w == widths[widest] && i == last) {
				widest = i
			}
		}
		if widest < 0 {
			if floor <= tableMinWidth {
				return
			}
			floor = tableMinWidth
			continue
		}
		widths[widest]--
		total--
	}
}

func writeRow(out *strings.Builder, r []string, widths []int) {
	if len(r) < 2 {
		out.WriteString(r[0])
		out.WriteByte('\n')
		return
	}
	indent := 0
	var line strings.Builder
	for i, c := range r {
		last := i == len(r)-1
		if last && i == len(widths)-1 {
			// The table's last column wraps: nothing in it is lost.
			chunks := wrap(c, widths[i])
			line.WriteString(chunks[0])
			out.WriteString(strings.TrimRight(line.String(), " "))
			out.WriteByte('\n')
			for _, ch := range chunks[1:] {
				out.WriteString(strings.Repeat(" ", indent))
				out.WriteString(strings.TrimRight(ch, " "))
				out.WriteByte('\n')
			}
			return
		}
		c = cut(c, widths[i])
		line.WriteString(c)
		if !last {
			pad := widths[i] - utf8.RuneCountInString(c) + tableGap
			line.WriteString(strings.Repeat(" ", pad))
			indent += widths[i] + tableGap
		}
	}
	out.WriteString(strings.TrimRight(line.String(), " "))
	out.WriteByte('\n')
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}

// wrap splits s into lines of at most n runes, at spaces where it can.
func wrap(s string, n int) []string {
	var lines []string
	rs := []rune(s)
	for len(rs) > n {
		at := n
		for i := n; i > n/2; i-- {
			if rs[i] == ' ' {
				at = i
				break
			}
		}
		lines = append(lines, strings.TrimRight(string(rs[:at]), " "))
		rs = []rune(strings.TrimLeft(string(rs[at:]), " "))
	}
	return append(lines, string(rs))
}
