package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/access"
	"portal/extract"
	"portal/research"
)

const (
	docA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	docB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func testDoc(id, uploader string) *research.Document {
	now := time.Date(2025, 6, 2, 9, 0, 0, 123456789, time.UTC)
	return &research.Document{
		ID: id,
		Metadata: research.Metadata{
			Title: "Synthetic 'quoted' title", Authors: []string{"A", "B"}, Organisation: "Org", Abstract: "Abs\ntract",
			Year: 2024, Language: "fr", Type: research.TypeCaseStudy, Topics: []string{"grooming"},
			Countries: nil, Regions: []string{"europe"}, AccessGroups: []string{"members", "x"}, TLP: access.Red,
		},
		UploaderID: uploader, CreatedAt: now, UpdatedAt: now, CurrentVersion: 1, Revision: 1,
		IndexState: research.IndexPending,
	}
}

func insertDoc(ctx context.Context, t *testing.T, r Research, d *research.Document) {
	t.Helper()
	v := research.Version{Number: 1, SHA256: hash, Size: 42, Kind: extract.KindPDF, Filename: "a.pdf", Pages: 2,
		UploadedBy: d.UploaderID, UploadedAt: d.CreatedAt}
	err := r.Update(ctx, func(tx research.Tx) error {
		if err := tx.InsertDocument(ctx, d); err != nil {
			return err
		}
		if err := tx.InsertVersion(ctx, d.ID, &v); err != nil {
			return err
		}
		return tx.InsertPassages(ctx, d.ID, 1, []research.Passage{{Number: 1, Text: "one"}, {Number: 2, Text: "two"}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestResearchRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if err := insertUser(ctx, db, "u1"); err != nil {
			t.Fatal(err)
		}
		r := db.Research()
		want := testDoc(docA, "u1")
		insertDoc(ctx, t, r, want)

		err := r.View(ctx, func(tx research.Tx) error {
			got, err := tx.Document(ctx, docA)
			if err != nil {
				return err
			}
			want.Countries = []string{} // nil is stored as an empty list
			if got.Title != want.Title || !got.CreatedAt.Equal(want.CreatedAt) || !slices.Equal(got.AccessGroups, want.AccessGroups) ||
				got.TLP != access.Red || got.Type != research.TypeCaseStudy || got.Countries == nil || len(got.Countries) != 0 ||
				got.Revision != 1 || got.IndexState != research.IndexPending || got.Withdrawn || got.Abstract != want.Abstract {
				t.Errorf("Document = %+v, want %+v", got, want)
			}
			vs, err := tx.Versions(ctx, docA)
			if err != nil || len(vs) != 1 || vs[0].SHA256 != hash || vs[0].Kind != extract.KindPDF || vs[0].Pages != 2 {
				t.Errorf("Versions = %+v, %v", vs, err)
			}
			ps, err := tx.Passages(ctx, docA, 1)
			if err != nil || len(ps) != 2 || ps[1].Text != "two" {
				t.Errorf("Passages = %+v, %v", ps, err)
			}
			if _, err := tx.Document(ctx, docB); err != research.ErrNotFound {
				t.Errorf("missing document: %v, want research.ErrNotFound", err)
			}
			if used, err := tx.BlobReferenced(ctx, hash); err != nil || !used {
				t.Errorf("BlobReferenced = %v, %v", used, err)
			}
			if used, _ := tx.BlobReferenced(ctx, strings.Repeat("f", 64)); used {
				t.Error("unknown blob referenced")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Access answers for the records that exist, whatever the IDs hold: they
// reach SQL as one JSON array, never as SQL text.
func TestResearchAccess(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if err := insertUser(ctx, db, "u1"); err != nil {
			t.Fatal(err)
		}
		r := db.Research()
		insertDoc(ctx, t, r, testDoc(docA, "u1"))
		gone := testDoc(docB, "u1")
		gone.Withdrawn, gone.WithdrawnBy, gone.WithdrawnAt = true, "u1", gone.CreatedAt
		gone.IndexState = research.IndexDeleted
		gone.AccessGroups, gone.TLP = []string{"trainers"}, access.Green
		insertDoc(ctx, t, r, gone)
		err := r.View(ctx, func(tx research.Tx) error {
			got, err := tx.Access(ctx, []string{docA, docB, "missing", `"]') OR 1=1 --`, docA})
			if err != nil {
				return err
			}
			want := map[string]research.RecordAccess{
				docA: {Object: access.Object{Groups: []string{"members", "x"}, TLP: access.Red}},
				docB: {Object: access.Object{Groups: []string{"trainers"}, TLP: access.Green}, Withdrawn: true},
			}
			if len(got) != len(want) {
				t.Errorf("Access = %+v, want %+v", got, want)
			}
			for id, w := range want {
				g := got[id]
				if g.Withdrawn != w.Withdrawn || g.Object.TLP != w.Object.TLP || !slices.Equal(g.Object.Groups, w.Object.Groups) {
					t.Errorf("Access[%s] = %+v, want %+v", id, g, w)
				}
			}
			if none, err := tx.Access(ctx, nil); err != nil || len(none) != 0 {
				t.Errorf("Access(nil) = %v, %v", none, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestResearchIndexStateCompareAndSet(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		insertUser(ctx, db, "u1")
		r := db.Research()
		insertDoc(ctx, t, r, testDoc(docA, "u1"))
		b := testDoc(docB, "u1")
		insertDoc(ctx, t, r, b)

		err := r.Update(ctx, func(tx research.Tx) error {
			if ok, err := tx.SetIndexState(ctx, docA, 2, research.IndexIndexed); err != nil || ok {
				t.Errorf("stale revision applied: %v, %v", ok, err)
			}
			if ok, err := tx.SetIndexState(ctx, docA, 1, research.IndexIndexed); err != nil || !ok {
				t.Errorf("current revision not applied: %v, %v", ok, err)
			}
			b.Withdrawn, b.WithdrawnBy, b.WithdrawnAt, b.Revision, b.IndexState = true, "u1", b.CreatedAt, 2, research.IndexDeleting
			return tx.SaveDocument(ctx, b)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = r.View(ctx, func(tx research.Tx) error {
			if ids, _ := tx.DocumentIDs(ctx, research.IndexPending, research.IndexDeleting); !slices.Equal(ids, []string{docB}) {
				t.Errorf("unconfirmed ids = %v", ids)
			}
			if ids, _ := tx.DocumentIDs(ctx); !slices.Equal(ids, []string{docA, docB}) {
				t.Errorf("all ids = %v", ids)
			}
			if vs, _ := tx.CurrentVersions(ctx); len(vs) != 1 || vs[docA] != 1 {
				t.Errorf("CurrentVersions = %v, want only the non-withdrawn record", vs)
			}
			// Pages of a scan, withdrawn records included.
			for _, tc := range []struct {
				after string
				limit int
				want  []string
			}{{"", 1, []string{docA}}, {docA, 1, []string{docB}}, {docB, 1, nil}, {"", 10, []string{docA, docB}}} {
				ds, err := tx.DocumentsAfter(ctx, tc.after, tc.limit)
				var ids []string
				for _, d := range ds {
					ids = append(ids, d.ID)
				}
				if err != nil || !slices.Equal(ids, tc.want) {
					t.Errorf("DocumentsAfter(%q, %d) = %v, %v; want %v", tc.after, tc.limit, ids, err, tc.want)
				}
				if len(ds) == 2 && (!ds[1].Withdrawn || ds[1].Revision != 2 || ds[0].Title != testDoc(docA, "u1").Title) {
					t.Errorf("DocumentsAfter read %+v", ds)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		updated := b.UpdatedAt // both records'
		err = r.Update(ctx, func(tx research.Tx) error {
			if ok, err := tx.SetIndexState(ctx, docB, 2, research.IndexDeleted); err != nil || !ok {
				t.Errorf("withdrawal not confirmed: %v, %v", ok, err)
			}
			if n, err := tx.MarkChangedForIndex(ctx, updated.Add(time.Nanosecond)); err != nil || n != 0 {
				t.Errorf("MarkChangedForIndex after the last change = %d, %v; want 0", n, err)
			}
			n, err := tx.MarkChangedForIndex(ctx, updated)
			if err != nil || n != 2 {
				t.Errorf("MarkChangedForIndex = %d, %v; want 2", n, err)
			}
			a, _ := tx.Document(ctx, docA)
			b, _ := tx.Document(ctx, docB)
			if a.IndexState != research.IndexPending || b.IndexState != research.IndexDeleting {
				t.Errorf("states after MarkChangedForIndex: %s, %s", a.IndexState, b.IndexState)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestResearchReindexRecords(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := db.Research()
		now := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
		old := research.Reindex{Run: docA, Since: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
		live := research.Reindex{Run: docB, Since: now.Add(-time.Minute), Expires: now.Add(time.Hour)}
		err := r.Update(ctx, func(tx research.Tx) error {
			for _, x := range []research.Reindex{old, live} {
				if err := tx.OpenReindex(ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		expired := func() []research.Reindex {
			var got []research.Reindex
			err := r.View(ctx, func(tx research.Tx) error {
				var err error
				got, err = tx.ExpiredReindexes(ctx, now)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := expired(); len(got) != 1 || got[0] != old {
			t.Errorf("ExpiredReindexes = %+v, want only %+v", got, old)
		}
		err = r.Update(ctx, func(tx research.Tx) error { return tx.CloseReindex(ctx, old.Run) })
		if err != nil {
			t.Fatal(err)
		}
		if got := expired(); len(got) != 0 {
			t.Errorf("ExpiredReindexes after CloseReindex = %+v, want none", got)
		}
	})
}

// TestResearchNothingDeleted checks the schema's own guards: versions and
// passages are immutable, records are never deleted, research is never
// public, and a withdrawn record cannot claim to be indexed.
func TestResearchSchemaGuards(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		insertUser(ctx, db, "u1")
		r := db.Research()
		insertDoc(ctx, t, r, testDoc(docA, "u1"))

		for _, stmt := range []string{
			`DELETE FROM research_documents`,
			`DELETE FROM research_versions`,
			`UPDATE research_versions SET sha256 = '` + strings.Repeat("f", 64) + `'`,
			`DELETE FROM research_passages`,
			`UPDATE research_passages SET text = 'x'`,
			`UPDATE research_documents SET access_groups = '["x","public"]'`,
			`UPDATE research_documents SET access_groups = '[]'`,
			`UPDATE research_documents SET withdrawn = 1, withdrawn_by = 'u1', withdrawn_at = created_at`, // still 'pending'
			`UPDATE research_documents SET tlp = 'TLP:BLUE'`,
		} {
			if _, err := db.writer.ExecContext(ctx, stmt); err == nil {
				t.Errorf("%s: succeeded, want refused", stmt)
			}
		}
		pub := testDoc(docB, "u1")
		pub.AccessGroups = []string{"public"}
		err := r.Update(ctx, func(tx research.Tx) error { return tx.InsertDocument(ctx, pub) })
		if err == nil {
			t.Error("public record inserted")
		}
		orphan := testDoc(docB, "nobody")
		if err := r.Update(ctx, func(tx research.Tx) error { return tx.InsertDocument(ctx, orphan) }); err == nil {
			t.Error("record of an unknown uploader inserted")
		}
		err = r.Update(ctx, func(tx research.Tx) error {
			return tx.SaveDocument(ctx, testDoc(docB, "u1"))
		})
		if !errors.Is(err, research.ErrNotFound) {
			t.Errorf("saving a missing record: %v, want ErrNotFound", err)
		}
	})
}

// Recognition: a queued version is pending until its text is saved; the
// recognised text is read in place of the page's empty one, marked, and
// the extracted passages stay as they were.
func TestResearchRecognition(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if err := insertUser(ctx, db, "u1"); err != nil {
		t.Fatal(err)
	}
	r := db.Research()
	insertDoc(ctx, t, r, testDoc(docA, "u1"))
	at := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	state := func() research.RecognitionState {
		t.Helper()
		var st research.RecognitionState
		if err := r.View(ctx, func(tx research.Tx) error {
			var err error
			st, err = tx.RecognitionState(ctx, docA, 1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := state(); st != "" {
		t.Errorf("state before queueing %q, want none", st)
	}
	if err := r.Update(ctx, func(tx research.Tx) error { return tx.QueueRecognition(ctx, docA, 1, 1, at) }); err != nil {
		t.Fatal(err)
	}
	var jobs []research.RecognitionJob
	if err := r.View(ctx, func(tx research.Tx) error {
		var err error
		jobs, err = tx.PendingRecognition(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if st := state(); st != research.RecognitionPending || len(jobs) != 1 || jobs[0] != (research.RecognitionJob{DocID: docA, Version: 1, Pages: 1}) {
		t.Errorf("queued: state %q, jobs %+v", st, jobs)
	}
	err := r.Update(ctx, func(tx research.Tx) error {
		return tx.SaveRecognised(ctx, docA, 1, []research.Passage{{Number: 2, Text: "recognised two"}}, research.RecognitionDone, at)
	})
	if err != nil {
		t.Fatal(err)
	}
	var ps []research.Passage
	if err := r.View(ctx, func(tx research.Tx) error {
		var err error
		ps, err = tx.Passages(ctx, docA, 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []research.Passage{{Number: 1, Text: "one"}, {Number: 2, Text: "recognised two", Recognised: true}}
	if st := state(); st != research.RecognitionDone || !slices.Equal(ps, want) {
		t.Errorf("after recognition: state %q, passages %+v, want %+v", st, ps, want)
	}
	var extracted string
	if err := db.reader.QueryRowContext(ctx, `SELECT text FROM research_passages WHERE doc_id = ? AND number = 2`, docA).Scan(&extracted); err != nil || extracted != "two" {
		t.Errorf("extracted passage %q, %v: want it unchanged", extracted, err)
	}
	// Recognised text is only ever for a passage that exists.
	err = r.Update(ctx, func(tx research.Tx) error {
		return tx.SaveRecognised(ctx, docA, 1, []research.Passage{{Number: 9, Text: "x"}}, research.RecognitionDone, at)
	})
	if err == nil {
		t.Error("recognised text for a page the version does not have was stored")
	}
}
