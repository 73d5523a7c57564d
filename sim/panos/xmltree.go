package panos

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is one element of a command or of the configuration tree. The
// device reads commands and elements as XML, so `<info/>`,
// `<info></info>` and `<info />` are the same request; parsing them into
// a tree (rather than matching strings) is what lets the simulator accept
// every equivalent form a client may send.
type node struct {
	name     string
	attrs    []xml.Attr
	children []*node
	text     string
}

func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// child is the first child called name (nil if none).
func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// entry is the child <entry name="key">.
func (n *node) entry(key string) *node {
	for _, c := range n.children {
		if c.name == "entry" && c.attr("name") == key {
			return c
		}
	}
	return nil
}

func (n *node) remove(c *node) {
	for i, x := range n.children {
		if x == c {
			n.children = append(n.children[:i], n.children[i+1:]...)
			return
		}
	}
}

func (n *node) value() string { return strings.TrimSpace(n.text) }

// parseFragment reads zero or more sibling elements, as the element
// parameter of a config call carries them. Text between them is refused:
// the device's schema has no mixed content.
func parseFragment(s string) ([]*node, error) {
	root, err := parseXML("<fragment>" + s + "</fragment>")
	if err != nil {
		return nil, err
	}
	if root.value() != "" {
		return nil, fmt.Errorf("text %q outside any element", root.value())
	}
	return root.children, nil
}

// parseXML reads exactly one element.
func parseXML(s string) (*node, error) {
	dec := xml.NewDecoder(strings.NewReader(s))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("more than one top-level element")
			}
			n := &node{name: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, fmt.Errorf("text outside the element")
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no element")
	}
	return root, nil
}

// render writes n as XML, names and text escaped.
func (n *node) render(b *strings.Builder) {
	b.WriteString("<" + n.name)
	for _, a := range n.attrs {
		fmt.Fprintf(b, ` %s="%s"`, a.Name.Local, esc(a.Value))
	}
	if len(n.children) == 0 && n.text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteString(">")
	b.WriteString(esc(n.text))
	for _, c := range n.children {
		c.render(b)
	}
	b.WriteString("</" + n.name + ">")
}

func (n *node) String() string {
	var b strings.Builder
	n.render(&b)
	return b.String()
}

func el(name, text string, children ...*node) *node {
	return &node{name: name, text: text, children: children}
}

func entryNode(name string, children ...*node) *node {
	return &node{name: "entry", attrs: []xml.Attr{{Name: xml.Name{Local: "name"}, Value: name}}, children: children}
}

// clone copies n deeply.
func (n *node) clone() *node {
	c := &node{name: n.name, text: n.text, attrs: append([]xml.Attr(nil), n.attrs...)}
	for _, x := range n.children {
		c.children = append(c.children, x.clone())
	}
	return c
}
