package extract_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"portal/extract"
	"portal/extract/extracttest"
)

func TestDetect(t *testing.T) {
	pdf := extracttest.PDF(t, []string{"Synthetic page."})
	docx := extracttest.DOCX(t, "Synthetic", []string{"Synthetic paragraph."})
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	tests := []struct {
		name, filename, head string
		want                 extract.Kind // "" means ErrUnsupported
	}{
		{"pdf", "report.pdf", string(pdf), extract.KindPDF},
		{"pdf with any name", "report.md", string(pdf), extract.KindPDF},
		{"docx", "notes.docx", string(docx), extract.KindDOCX},
		{"markdown by name", "notes.md", "Synthetic notes without markup.", extract.KindMarkdown},
		{"markdown by long name", "NOTES.MARKDOWN", "Synthetic notes.", extract.KindMarkdown},
		{"markdown by heading", "notes", "# Synthetic notes\n\nBody.", extract.KindMarkdown},
		{"markdown by list", "notes", "Synthetic:\n\n- one\n- two\n", extract.KindMarkdown},
		{"text", "notes", "Synthetic notes. #hashtag is not a heading.\n- a single dash line\n", extract.KindText},
		{"txt name wins", "notes.txt", "# Synthetic notes", extract.KindText},
		{"text with BOM and CRLF", "notes.txt", "\ufeffSynthetic.\r\n", extract.KindText},
		{"head cut inside a character", "notes.txt", "Synthetic caf\u00e9"[:14], extract.KindText},

		{"empty", "a.md", "", ""},
		{"html renamed pdf", "evil.pdf", "<!DOCTYPE html><html><body>x</body></html>", ""},
		{"html with BOM and space", "evil.md", "\ufeff \n<HTML><body>", ""},
		{"svg", "image.md", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, ""},
		{"xml", "data.txt", `<?xml version="1.0"?><a/>`, ""},
		{"script", "a.txt", "<script>alert(1)</script>", ""},
		{"html comment", "a.md", "<!-- synthetic --> text", ""},
		{"html body", "a.md", "<body onload=x>", ""},
		{"pdf/html polyglot", "a.pdf", "<html><!--\n%PDF-1.7\n", ""},
		{"pdf header not at byte 0", "a.pdf", "\n%PDF-1.7\n1 0 obj", ""},
		{"gif", "a.gif", string(gif), ""},
		{"gif renamed markdown", "a.md", string(gif), ""},
		{"nul in markdown", "notes.md", "# Synthetic\x00notes", ""},
		{"control bytes", "notes.md", "Synthetic\x01notes", ""},
		{"latin-1", "notes.txt", "caf\xe9 au lait", ""},
		{"utf-16", "notes.txt", "\xff\xfeS\x00y\x00", ""},
		{"zip-less binary", "a.docx", "\x7fELF\x02\x01\x01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := []byte(tt.head)
			got, err := extract.Detect(head[:min(len(head), extract.HeadSize)], tt.filename)
			if tt.want == "" {
				if !errors.Is(err, extract.ErrUnsupported) {
					t.Fatalf("got %q, %v; want ErrUnsupported", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestKind(t *testing.T) {
	for _, k := range []extract.Kind{extract.KindPDF, extract.KindDOCX, extract.KindMarkdown, extract.KindText} {
		if k.ContentType() == "" || !strings.HasPrefix(k.Ext(), ".") {
			t.Errorf("%q: content type %q, extension %q", k, k.ContentType(), k.Ext())
		}
	}
	if got := extract.Kind("exe").ContentType(); got != "" {
		t.Errorf("unknown kind has content type %q", got)
	}
}

// FuzzDetect checks that Detect never accepts as text what Extract would
// refuse, and never panics.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"# Title\n", "%PDF-1.7", "PK\x03\x04", "<html>", "caf\xc3", "\ufeff<svg>", "text"} {
		f.Add([]byte(s), "a.md")
	}
	f.Fuzz(func(t *testing.T, head []byte, name string) {
		kind, err := extract.Detect(head, name)
		if err != nil {
			if !errors.Is(err, extract.ErrUnsupported) {
				t.Fatalf("error %v does not wrap ErrUnsupported", err)
			}
			return
		}
		if kind != extract.KindMarkdown && kind != extract.KindText {
			return
		}
		// Extract checks the whole file as Detect checks the head, so a head
		// that is a whole file must pass, unless it ends inside a character.
		if !utf8.Valid(head) {
			return
		}
		if _, err := shared.Extract(t.Context(), kind, bytes.NewReader(head), int64(len(head))); err != nil {
			t.Fatalf("Extract of detected %s: %v", kind, err)
		}
	})
}
