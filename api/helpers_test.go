package api_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func portaltestNow() time.Time { return time.Now() }

// zipBomb is a DOCX-shaped archive whose document.xml inflates from about
// 64 KiB to 64 MiB, past the extractor's per-entry limit and ratio.
func zipBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels"} {
		f, _ := w.Create(name)
		f.Write([]byte(`<?xml version="1.0"?><Types/>`))
	}
	f, err := w.Create("word/document.xml")
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{' '}, 1<<20)
	for range 64 {
		f.Write(chunk)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
