// Command g4fdiag diagnoses and reproduces event-loop conflicts in gpt4free
// (the Python package g4f): which provider × call mode × event loop
// combinations fail like "RuntimeError: this event loop is already running."
package main

import "os"

func main() {
	os.Exit(Main(os.Args, stdIO()))
}
