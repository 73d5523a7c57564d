//go:build !race

package testtool

const underRace = false
