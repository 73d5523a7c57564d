package junos

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// elem is a parsed XML element. Junos matches requests by local name:
// ncclient qualifies every element with the NETCONF base namespace
// (<nc:rpc><nc:get-config>), PyEZ sends Junos RPCs unqualified, and both
// are the same request to the device.
type elem struct {
	Name     string
	Space    string
	Attrs    []xml.Attr
	Children []*elem
	Text     string // character data directly inside, concatenated
}

func parseElem(b []byte) (*elem, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []*elem
	var root *elem
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &elem{Name: t.Name.Local, Space: t.Name.Space, Attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, e)
			} else if root != nil {
				return nil, errors.New("more than one root element")
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no element")
	}
	return root, nil
}

// child returns the first child named name, or nil.
func (e *elem) child(name string) *elem {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// has reports a child element (a flag such as <check/>) or an attribute
// of that name: PyEZ sends flags as elements, some clients as attributes.
func (e *elem) has(name string) bool {
	return e.child(name) != nil || e.attr(name) != ""
}

// attr returns the attribute with that local name, in any namespace.
func (e *elem) attr(name string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// value returns an attribute or a child's text: Junos RPC parameters
// come either way (<get-configuration format="text"> or
// <get-software-information><brief/>…).
func (e *elem) value(name string) string {
	if v := e.attr(name); v != "" {
		return v
	}
	if c := e.child(name); c != nil {
		return strings.TrimSpace(c.Text)
	}
	return ""
}

// firstChild returns the first child element, or nil.
func (e *elem) firstChild() *elem {
	if e == nil || len(e.Children) == 0 {
		return nil
	}
	return e.Children[0]
}
