package panos

import (
	"crypto/x509"
	"slices"
	"strings"
)

// PAN-OS keeps uncommitted changes per administrator, object by object,
// and a partial commit (<partial><admin><member>X</member></admin>) commits
// only the objects X changed, leaving the others' changes in the candidate
// configuration. The simulator tracks the objects it models — certificate
// entries, service profiles and the management interface's profile — by
// comparing the candidate with what it was after the last change.

// objectKey names one tracked object: "cert:NAME", "profile:NAME" or "mgmt".
type objectKey string

// changedObjects lists the objects that differ between two configurations.
func changedObjects(old, cur *config) []objectKey {
	var keys []objectKey
	for _, n := range unionKeys(old.certs, cur.certs) {
		if !sameCert(old.certs[n], cur.certs[n]) {
			keys = append(keys, objectKey("cert:"+n))
		}
	}
	for _, n := range unionKeys(old.profiles, cur.profiles) {
		a, b := old.profiles[n], cur.profiles[n]
		if (a == nil) != (b == nil) || (a != nil && *a != *b) {
			keys = append(keys, objectKey("profile:"+n))
		}
	}
	if old.mgmt != cur.mgmt {
		keys = append(keys, "mgmt")
	}
	for k, v := range cur.gp {
		if old.gp[k] != v {
			keys = append(keys, gpObject(k))
		}
	}
	for k := range old.gp {
		if _, ok := cur.gp[k]; !ok {
			keys = append(keys, gpObject(k))
		}
	}
	return keys
}

// gpObject is the tracked key of a GlobalProtect portal or gateway.
func gpObject(k gpKey) objectKey { return objectKey("gp:" + k.kind + ":" + k.name) }

func sameCert(a, b *Cert) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Name == b.Name && a.CommonName == b.CommonName && a.Algorithm == b.Algorithm &&
		a.key == b.key && a.CSR == b.CSR && slices.EqualFunc(a.Chain, b.Chain, (*x509.Certificate).Equal)
}

func unionKeys[V any](a, b map[string]V) []string {
	keys := sortedKeys(a)
	for _, k := range sortedKeys(b) {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// changed records what user changed in the candidate configuration since
// the last change, and the objects the operation wrote (touched): a write
// makes its administrator the owner of what it addresses even when the
// value stays the same, as PAN-OS marks the node it wrote with the
// administrator — so a worker that takes over another's half-done change
// by writing the same binding again commits it with its own.
func (d *Device) changed(user string, touched ...objectKey) {
	for _, k := range changedObjects(d.seen, d.candidate) {
		d.changedBy[k] = user
	}
	for _, k := range touched {
		d.changedBy[k] = user
	}
	d.seen = d.candidate.clone()
}

// touchedObjects lists the tracked objects a write at steps reaches: the
// written node's own object, or the objects inside what it wrote. delta is
// a tree holding only what the operation wrote, at its place.
func touchedObjects(delta *node) []objectKey {
	var keys []objectKey
	if list := find(delta, profileSteps); list != nil {
		for _, e := range list.children {
			if n := e.attr("name"); e.name == "entry" && n != "" {
				keys = append(keys, objectKey("profile:"+n))
			}
		}
	}
	if sys := find(delta, systemSteps); sys != nil && sys.child("ssl-tls-service-profile") != nil {
		keys = append(keys, "mgmt")
	}
	if gp := find(delta, gpSteps); gp != nil {
		for kind, list := range gpKinds {
			if l := gp.child(list); l != nil {
				for _, e := range l.children {
					if n := e.attr("name"); e.name == "entry" && n != "" {
						keys = append(keys, gpObject(gpKey{kind, n}))
					}
				}
			}
		}
	}
	return keys
}

// deltaTree is the tree of one write: the elements at steps (for an edit,
// in place of the node steps names).
func deltaTree(steps []step, elems []*node, edit bool) *node {
	root := el(steps[0].name, "")
	if edit {
		parent := ensure(root, steps[:len(steps)-1])
		for _, e := range elems {
			parent.children = append(parent.children, e.clone())
		}
		return root
	}
	target := ensure(root, steps)
	for _, e := range elems {
		target.children = append(target.children, e.clone())
	}
	return root
}

// settle makes the current candidate the baseline of change tracking, for
// the test helpers that set both configurations at once.
func (d *Device) settle() {
	d.seen = d.candidate.clone()
	d.committed = d.running.clone()
}

// partialConfig is the configuration a partial commit of admins makes:
// what will be running once the commits already queued are done, with the
// objects those administrators changed taken from the candidate.
func (d *Device) partialConfig(admins []string) (*config, []objectKey) {
	next := d.committed.clone()
	if next.gp == nil {
		next.gp = map[gpKey]string{}
	}
	var keys []objectKey
	cand := d.candidate.clone()
	for k, u := range d.changedBy {
		if !slices.Contains(admins, u) {
			continue
		}
		keys = append(keys, k)
		if k == "mgmt" {
			next.mgmt = cand.mgmt
			continue
		}
		switch kind, name, _ := strings.Cut(string(k), ":"); kind {
		case "cert":
			takeFrom(next.certs, cand.certs, name)
		case "profile":
			takeFrom(next.profiles, cand.profiles, name)
		case "gp":
			gpKind, gpName, _ := strings.Cut(name, ":")
			takeFrom(next.gp, cand.gp, gpKey{gpKind, gpName})
		}
	}
	return next, keys
}

// takeFrom makes dst's entry k what src holds (none when src has none).
func takeFrom[K comparable, V any](dst, src map[K]V, k K) {
	if v, ok := src[k]; ok {
		dst[k] = v
	} else {
		delete(dst, k)
	}
}
