package site_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"portal/language"
	"portal/portaltest"
	"portal/site"
)

// TestOfflineArchives: every public module has an archive per language,
// listed on its page with its size in that language's words, holding the
// module's pages with relative links, its stylesheet and script, and no
// way to start a graded attempt.
func TestOfflineArchives(t *testing.T) {
	public, err := portaltest.BuildSite()
	if err != nil {
		t.Fatal(err)
	}
	sizeWord := map[string]string{"en": "kB", "fr": "Ko", "es": "kB", "ar": "ك.ب"}
	archives := 0
	for _, lang := range language.All() {
		b, err := os.ReadFile(filepath.Join(public, lang, "training-catalogue.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cat struct {
			Modules []struct {
				ID, URL string
				Graded  bool
				Lessons []struct{ URL string }
			}
		}
		if err := json.Unmarshal(b, &cat); err != nil {
			t.Fatal(err)
		}
		for _, m := range cat.Modules {
			dir := filepath.Join(public, filepath.FromSlash(m.URL))
			zipPath := filepath.Join(dir, site.ArchiveName(m.ID, lang))
			info, err := os.Stat(zipPath)
			if err != nil {
				t.Errorf("%s %s: no archive: %v", lang, m.ID, err)
				continue
			}
			archives++
			page, err := os.ReadFile(filepath.Join(dir, "index.html"))
			if err != nil {
				t.Fatal(err)
			}
			kb := strconv.FormatInt((info.Size()+1023)/1024, 10)
			if !bytes.Contains(page, []byte(`href="`+site.ArchiveName(m.ID, lang)+`" download`)) ||
				!bytes.Contains(page, []byte(kb+" "+sizeWord[lang])) {
				t.Errorf("%s %s: the module page does not list the archive with its size (%s %s)", lang, m.ID, kb, sizeWord[lang])
			}
			zr, err := zip.OpenReader(zipPath)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for _, f := range zr.File {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				files[f.Name] = string(b)
			}
			zr.Close()
			want := []string{"index.html", strings.TrimPrefix(m.URL, "/") + "index.html", lang + "/glossary/index.html",
				strings.TrimPrefix(m.URL, "/") + "quiz/index.html"}
			for _, l := range m.Lessons {
				want = append(want, strings.TrimPrefix(l.URL, "/")+"index.html")
			}
			css, js := false, false
			for name := range files {
				css = css || strings.HasSuffix(name, ".css")
				js = js || strings.HasSuffix(name, ".js")
			}
			if !css || !js {
				t.Errorf("%s %s: archive without stylesheet or script", lang, m.ID)
			}
			for _, w := range want {
				body, ok := files[w]
				if !ok {
					t.Errorf("%s %s: %s missing from the archive", lang, m.ID, w)
					continue
				}
				for _, bad := range []string{`href="` + m.URL, `integrity=`, "<!--portal:offline", `download>`} {
					if strings.Contains(body, bad) {
						t.Errorf("%s %s: %s holds %q", lang, m.ID, w, bad)
					}
				}
			}
			quiz := files[strings.TrimPrefix(m.URL, "/")+"quiz/index.html"]
			if m.Graded && (strings.Contains(quiz, `name="step"`) || !strings.Contains(quiz, `data-offline-note="">`)) {
				t.Errorf("%s %s: the offline graded quiz page offers an attempt or hides that it needs a connection", lang, m.ID)
			}
			if !m.Graded && !strings.Contains(quiz, "data-quiz") {
				t.Errorf("%s %s: the offline self-check quiz has no questions", lang, m.ID)
			}
		}
	}
	if archives < 16 {
		t.Errorf("%d archives, want one per public module and language", archives)
	}
}
