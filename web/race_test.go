//go:build race

package web_test

// raceEnabled is set under the race detector. The browser test then
// stays out: it checks what Chromium shows, which the main run covers,
// and the server code it drives is raced by the HTTP tests.
const raceEnabled = true
