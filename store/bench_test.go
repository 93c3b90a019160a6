package store

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"portal/account"
	"portal/audit"
	"portal/research"
)

// The benchmarks run the queries of an authenticated member search on a real
// database file: the session lookup of every request, the re-check of the
// research hits and the audit entry of the search. Each runs with the
// prepared statements ("prepared") and with every query passed as text
// ("text"), as the store did before it prepared them.

// reportCPU adds the process's CPU time per operation to b's results: on a
// shared machine it varies less than the wall time. Call it after the loop
// with the time cpuTime returned before it.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func openBench(b *testing.B, prepared bool) *DB {
	b.Helper()
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "portal.db"))
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	if !prepared {
		db.readerStmts.close()
		db.writerStmts.close()
		db.readerStmts, db.writerStmts = nil, nil
	}
	return db
}

// both runs bench with and without prepared statements.
func both(b *testing.B, bench func(b *testing.B, db *DB)) {
	for _, prepared := range []bool{false, true} {
		name := "text"
		if prepared {
			name = "prepared"
		}
		b.Run(name, func(b *testing.B) { bench(b, openBench(b, prepared)) })
	}
}

// BenchmarkSessionLookup is account's lookup: the session and its user in one
// read transaction.
func BenchmarkSessionLookup(b *testing.B) { both(b, benchSessionLookup) }

func benchSessionLookup(b *testing.B, db *DB) {
	ctx := context.Background()
	if err := insertUser(ctx, db, "u1"); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	const sid = "session-hash-0123456789abcdef"
	if err := db.Update(ctx, func(tx account.Tx) error {
		return tx.InsertSession(ctx, &account.Session{ID: sid, UserID: "u1", Stage: account.StageFull,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
	}); err != nil {
		b.Fatal(err)
	}
	parallel(b, func() error {
		return db.View(ctx, func(tx account.Tx) error {
			s, err := tx.SessionByID(ctx, sid)
			if err != nil {
				return err
			}
			_, err = tx.UserByID(ctx, s.UserID)
			return err
		})
	})
}

// BenchmarkSearchableDocs is research.Service.Searchable's transaction for a
// page of 20 research hits: one query for the access fields of all of them.
func BenchmarkSearchableDocs(b *testing.B) { both(b, benchSearchableDocs) }

func benchSearchableDocs(b *testing.B, db *DB) {
	ctx := context.Background()
	if err := insertUser(ctx, db, "u1"); err != nil {
		b.Fatal(err)
	}
	r := db.Research()
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i+1)
		if err := r.Update(ctx, func(tx research.Tx) error {
			return tx.InsertDocument(ctx, testDoc(ids[i], "u1"))
		}); err != nil {
			b.Fatal(err)
		}
	}
	parallel(b, func() error {
		return r.View(ctx, func(tx research.Tx) error {
			got, err := tx.Access(ctx, ids)
			if err == nil && len(got) != len(ids) {
				err = fmt.Errorf("%d of %d records found", len(got), len(ids))
			}
			return err
		})
	})
}

// parallel runs op from as many goroutines as GOMAXPROCS, as concurrent
// requests would, reporting allocations and CPU time per operation.
func parallel(b *testing.B, op func() error) {
	b.ReportAllocs()
	cpu := cpuTime()
	defer func() { reportCPU(b, cpu) }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAppendAudit is the audit entry that every member search writes.
func BenchmarkAppendAudit(b *testing.B) { both(b, benchAppendAudit) }

func benchAppendAudit(b *testing.B, db *DB) {
	ctx := context.Background()
	log := audit.New(db, nil)
	b.ReportAllocs()
	cpu := cpuTime()
	defer func() { reportCPU(b, cpu) }()
	for b.Loop() {
		if err := log.Record(ctx, audit.Entry{Actor: "u1", Action: "research.search", Outcome: audit.OutcomeSuccess,
			Detail: `q="synthetic" scope=all hits=3`}); err != nil {
			b.Fatal(err)
		}
	}
}
