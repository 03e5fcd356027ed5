package main

import "testing"

// TestSelftest runs the offline checks of selftest.go (tile paths, entry bundles,
// checkpoint parsing) against the worked examples of docs/specs.md.
func TestSelftest(t *testing.T) {
	for _, f := range selftest() {
		t.Error(f)
	}
}
