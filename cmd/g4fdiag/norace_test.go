//go:build !race

package main

// raceFactor scales memory bounds under the race detector.
const raceFactor = 1
