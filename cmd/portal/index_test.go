package main

import (
	"testing"

	"portal/config"
	"portal/portaltest/pgtest"
	"portal/search"
	"portal/store"
)

// With several instances the records are in PostgreSQL and there is no
// SQLite file under PORTAL_DATA_DIR: `portal index site` must still tell
// the instances, through PostgreSQL, to drop their cached public answers.
func TestIndexSiteBumpsThePostgreSQLGeneration(t *testing.T) {
	srv, err := pgtest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	url := srv.Database(t, "")
	db, err := store.OpenPostgres(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before, err := db.Generation(t.Context(), search.PublicGeneration)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{DatabaseURL: url, DataDir: t.TempDir()}
	if err := bumpPublicGeneration(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	after, err := db.Generation(t.Context(), search.PublicGeneration)
	if err != nil {
		t.Fatal(err)
	}
	if after != before+1 {
		t.Errorf("public generation %d after portal index site, %d before; want one more", after, before)
	}
}
