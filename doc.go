// Package ottr holds Ottr's domain: the asset inventory, the route table that
// decides how an asset's certificate is rotated, rotations and their steps,
// users and roles, the error codes every layer speaks, and the interfaces the
// implementation packages (store, rotate, api, acme, dns, driver/*) meet on.
//
// The package depends on the standard library only. Implementation packages
// import it; it imports none of them. A reader should be able to learn the
// whole system from this package and cmd/ottr.
package ottr
