// Package extracttest provides document fixtures for tests in any package:
// real PDF and DOCX files built from the given text by package gen. Text
// passed in should be synthetic and say so.
package extracttest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"portal/extract/gen"
)

// Title is the document title that PDF gives its files.
const Title = "Synthetic test document"

// PDF returns a PDF with one page per element of pages, titled Title. It
// fails the test if the file cannot be built.
func PDF(t testing.TB, pages []string) []byte {
	t.Helper()
	b, err := gen.PDF(Title, pages)
	if err != nil {
		t.Fatalf("build test pdf: %v", err)
	}
	return b
}

// DOCX returns a DOCX with one paragraph per element of paragraphs. It fails
// the test if the file cannot be built.
func DOCX(t testing.TB, title string, paragraphs []string) []byte {
	t.Helper()
	b, err := gen.DOCX(title, paragraphs)
	if err != nil {
		t.Fatalf("build test docx: %v", err)
	}
	return b
}

// CacheDir returns the directory for extract.Options.CacheDir in tests: one
// per user, shared by all test binaries, so that only the first run on a
// machine compiles PDFium (seconds, most of a minute under -race).
func CacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		// No home directory: a per-user name under the temporary directory,
		// which extract.New refuses if someone else created it.
		return filepath.Join(os.TempDir(), fmt.Sprintf("portal-test-%d", os.Getuid()), "wazero")
	}
	return filepath.Join(dir, "portal-test", "wazero")
}
