// Package bench holds benchmark harnesses for Ottr; the figures they
// produced, and the commands, are in README.md.
package bench
