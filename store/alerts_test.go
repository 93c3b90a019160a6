package store

import (
	"testing"
	"time"

	"portal/attest"
)

// The digest pass reads its members through Users: a member whose
// attestation lapsed comes back disabled, so that their digest holds
// nothing, and comes back enabled once the suspension is lifted.
func TestAlertsUsersSuspended(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for _, id := range []string{"kept", "lapsed"} {
			if err := insertUser(ctx, db, id); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now().UTC().Truncate(time.Second)
		r := &attest.Record{UserID: "lapsed", Since: now.AddDate(-1, 0, 0), SuspendedAt: now}
		if err := db.Attestations().SaveAttestation(ctx, r); err != nil {
			t.Fatal(err)
		}
		users, err := db.Alerts().Users(ctx, []string{"kept", "lapsed"})
		if err != nil {
			t.Fatal(err)
		}
		if users["kept"].Disabled || !users["lapsed"].Disabled {
			t.Errorf("disabled: kept %v, lapsed %v; want false, true", users["kept"].Disabled, users["lapsed"].Disabled)
		}
		r.SuspendedAt = time.Time{}
		if err := db.Attestations().SaveAttestation(ctx, r); err != nil {
			t.Fatal(err)
		}
		if users, err = db.Alerts().Users(ctx, []string{"lapsed"}); err != nil || users["lapsed"].Disabled {
			t.Errorf("after the suspension is lifted: %+v, %v", users["lapsed"], err)
		}
	})
}
