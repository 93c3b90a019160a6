package language

import "testing"

func TestValid(t *testing.T) {
	if All()[0] != Source {
		t.Errorf("All() = %v, want the source language %q first", All(), Source)
	}
	for _, code := range All() {
		if !Valid(code) {
			t.Errorf("Valid(%q) = false", code)
		}
	}
	for _, code := range []string{"", "EN", "de", "en-GB", " en"} {
		if Valid(code) {
			t.Errorf("Valid(%q) = true", code)
		}
	}
}
