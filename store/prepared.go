package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Statements of the hot paths are prepared once per pool. Every
// authenticated request looks up its session and user (and now and then
// records that the session was used); every member search re-checks its
// research hits and appends an audit entry. SQLite parses and plans a
// statement each time one is prepared, and the driver keeps no statement
// cache, so a query passed as text is prepared and finalised again at
// every call. A statement prepared on a pool is prepared by database/sql on
// each connection where it is first used and kept there.

// readerQueries are the reads of the hot paths.
func readerQueries() []string {
	return []string{qSessionByID, qUserByID, qResearchDoc, qResearchAccess}
}

// writerQueries are the reader's and the writes of the hot paths: a read
// inside a write transaction runs on the writer's connection.
func writerQueries() []string {
	return append(readerQueries(), qTouchSession, qAuditLast, qAuditInsert)
}

// prepared holds a pool's prepared statements by query text. Queries that
// are not among them, or all with a nil *prepared, are passed as text.
type prepared struct {
	stmts map[string]*sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB, queries []string) (*prepared, error) {
	p := &prepared{stmts: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("store: prepare %q: %w", q, err)
		}
		p.stmts[q] = s
	}
	return p, nil
}

func (p *prepared) close() error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, s := range p.stmts {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// bind returns the statements for use in tx.
func (p *prepared) bind(tx *sql.Tx) *txStmts { return &txStmts{p: p, tx: tx} }

// txStmts are a pool's prepared statements in one of its transactions.
type txStmts struct {
	p  *prepared // nil: none
	tx *sql.Tx
	// bound are tx's handles on the statements used so far. Binding one
	// takes the pool's lock, so it is done once per transaction, not once
	// per call (Searchable looks up a page of hits in one transaction).
	bound []boundStmt
}

type boundStmt struct {
	query string
	stmt  *sql.Stmt
}

// stmt returns the transaction's handle on the statement prepared for
// query, or nil if query is not one of them.
func (t *txStmts) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.p == nil {
		return nil
	}
	for _, b := range t.bound {
		if b.query == query {
			return b.stmt
		}
	}
	s := t.p.stmts[query]
	if s == nil {
		return nil
	}
	// Reuses the statement already prepared on the transaction's
	// connection, if any; the handle is released when the transaction ends.
	ts := t.tx.StmtContext(ctx, s)
	t.bound = append(t.bound, boundStmt{query, ts})
	return ts
}

// queryRow is tx.QueryRowContext, with the prepared statement for query if
// there is one.
func (t *txStmts) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// query is tx.QueryContext, with the prepared statement for query if there
// is one.
func (t *txStmts) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// exec is tx.ExecContext, with the prepared statement for query if there
// is one.
func (t *txStmts) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}
