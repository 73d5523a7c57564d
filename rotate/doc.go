// Package rotate finds the assets whose certificates are due (the router)
// and, in later stages, runs their rotations as durable jobs.
//
// The router streams one pass over the inventory through ottr.AssetStore,
// asks the renewal policy whether each asset is due, and looks the due ones
// up in the route table. Due and routed assets become rotations; due but
// unrouted assets are reported with the route.json key that is missing,
// never dropped silently.
package rotate
