// Package dns answers ACME DNS-01 challenges through delegation.
//
// The operator delegates a zone Ottr controls (for example
// acme.example.net, by one NS record in the parent zone) and points each
// device name's _acme-challenge record at it with a CNAME. Ottr never needs
// write access to a production zone:
//
//	_acme-challenge.fw01.example.com.  CNAME  _acme-challenge.fw01.acme.example.net.
//
// Challenges follows that CNAME chain (loop- and depth-limited) through
// recursive resolvers, writes the TXT value at the target through the
// delegate zone's writer (the built-in Server's store, or a provider API),
// and waits until every authoritative server of the zone answers with every
// value before the CA is asked to validate.
//
// The recursive resolvers are asked CNAME queries only along the chain (and
// the delegate zone's NS and their addresses), never the challenge TXT: a
// resolver the CA shares caches the NXDOMAIN of a TXT lookup made before the
// value exists, for as long as its own policy says (whatever the zone's SOA
// minimum), and the CA's validation then fails. For the same reason a
// server used to check propagation must answer the zone's SOA query with the
// authoritative-answer (AA) flag before it is asked for any TXT.
//
// Server is a small authoritative DNS server for delegate zones. It
// answers TXT queries from an ottr.TXTStore, so several replicas sharing
// one database answer alike; it serves SOA and NS for its zones, answers
// NXDOMAIN and NODATA correctly, and refuses every name outside its zones,
// so it cannot be used as an open resolver.
package dns
