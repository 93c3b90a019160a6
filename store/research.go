package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"portal/access"
	"portal/extract"
	"portal/research"
)

// Research is the research library's store (research.Store) on this
// database. It is a separate type because DB's View and Update already
// serve the account package.
type Research struct {
	db *DB
}

var _ research.Store = Research{}

// Research returns the research library's store.
func (db *DB) Research() Research { return Research{db: db} }

// View implements research.Store on the read pool.
func (r Research) View(ctx context.Context, fn func(research.Tx) error) error {
	return r.db.view(ctx, func(tx *sql.Tx) error {
		return fn(researchTx{tx, r.db.readerStmts.bind(tx), r.db.engine})
	})
}

// Update implements research.Store in a write transaction (DB.update):
// on SQLite the single writer's IMMEDIATE transaction, on PostgreSQL one
// under the write lock, serialised either way.
func (r Research) Update(ctx context.Context, fn func(research.Tx) error) error {
	return r.db.update(ctx, func(tx *sql.Tx) error {
		return fn(researchTx{tx, r.db.writerStmts.bind(tx), r.db.engine})
	})
}

// researchTx implements research.Tx.
type researchTx struct {
	tx     *sql.Tx
	ps     *txStmts // the pool's prepared statements, in tx
	engine Engine
}

// researchErr maps a missing row to research.ErrNotFound.
func researchErr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return research.ErrNotFound
	}
	return err
}

const researchDocColumns = `id, title, authors, organisation, abstract, year, language, type, topics,
	countries, regions, access_groups, tlp, uploader_id, created_at, updated_at, withdrawn, withdrawn_by,
	withdrawn_at, current_version, revision, index_state`

// stringsJSON encodes a list; nil becomes [] so that the column is always
// an array.
func stringsJSON(field string, l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("store: research %s: %w", field, err)
	}
	return string(b), nil
}

// docLists encodes d's lists in column order.
func docLists(d *research.Document) ([]any, error) {
	var out []any
	for _, l := range []struct {
		name string
		v    []string
	}{
		{"authors", d.Authors}, {"topics", d.Topics}, {"countries", d.Countries},
		{"regions", d.Regions}, {"access_groups", d.AccessGroups},
	} {
		s, err := stringsJSON(l.name, l.v)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func scanResearchDoc(row scanner) (*research.Document, error) {
	var (
		d                                        research.Document
		authors, topics, countries, regions, grp string
		typ, tlp, state, created, updated        string
		withdrawnBy, withdrawnAt                 sql.NullString
	)
	err := row.Scan(&d.ID, &d.Title, &authors, &d.Organisation, &d.Abstract, &d.Year, &d.Language, &typ,
		&topics, &countries, &regions, &grp, &tlp, &d.UploaderID, &created, &updated, &d.Withdrawn,
		&withdrawnBy, &withdrawnAt, &d.CurrentVersion, &d.Revision, &state)
	if err != nil {
		return nil, researchErr(err)
	}
	d.Type, d.TLP, d.IndexState, d.WithdrawnBy = research.Type(typ), access.TLP(tlp), research.IndexState(state), withdrawnBy.String
	for _, l := range []struct {
		name string
		src  string
		dst  *[]string
	}{
		{"authors", authors, &d.Authors}, {"topics", topics, &d.Topics}, {"countries", countries, &d.Countries},
		{"regions", regions, &d.Regions}, {"access_groups", grp, &d.AccessGroups},
	} {
		if err := json.Unmarshal([]byte(l.src), l.dst); err != nil {
			return nil, fmt.Errorf("store: research %s %s: %w", d.ID, l.name, err)
		}
	}
	if d.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if d.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if d.WithdrawnAt, err = parseNullTime(withdrawnAt); err != nil {
		return nil, err
	}
	return &d, nil
}

func (t researchTx) InsertDocument(ctx context.Context, d *research.Document) error {
	lists, err := docLists(d)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO research_documents (`+researchDocColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Title, lists[0], d.Organisation, d.Abstract, d.Year, d.Language, string(d.Type),
		lists[1], lists[2], lists[3], lists[4], string(d.TLP), d.UploaderID,
		fmtTime(d.CreatedAt), fmtTime(d.UpdatedAt), d.Withdrawn, nullString(d.WithdrawnBy), nullTime(d.WithdrawnAt),
		d.CurrentVersion, d.Revision, string(d.IndexState))
	if err != nil {
		return fmt.Errorf("store: insert research document: %w", err)
	}
	return nil
}

const qResearchDoc = `SELECT ` + researchDocColumns + ` FROM research_documents WHERE id = ?`

func (t researchTx) Document(ctx context.Context, id string) (*research.Document, error) {
	return scanResearchDoc(t.ps.queryRow(ctx, qResearchDoc, id))
}

const qResearchAccess = `SELECT id, access_groups, tlp, withdrawn FROM research_documents
	WHERE id IN (SELECT value FROM json_each(?))`

// qResearchAccessPg is qResearchAccess in PostgreSQL's JSON functions.
const qResearchAccessPg = `SELECT id, access_groups, tlp, withdrawn FROM research_documents
	WHERE id IN (SELECT value FROM json_array_elements_text(CAST(? AS json)))`

func (t researchTx) Access(ctx context.Context, ids []string) (map[string]research.RecordAccess, error) {
	// The IDs go as one JSON array, so that one prepared statement serves
	// any number of them; none is [], not null.
	if ids == nil {
		ids = []string{}
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("store: research access: %w", err)
	}
	q := qResearchAccess
	if t.engine == Postgres {
		q = qResearchAccessPg
	}
	rows, err := t.ps.query(ctx, q, string(list))
	if err != nil {
		return nil, fmt.Errorf("store: research access: %w", err)
	}
	defer rows.Close()
	out := make(map[string]research.RecordAccess, len(ids))
	for rows.Next() {
		var (
			id, groups, tlp string
			ra              research.RecordAccess
		)
		if err := rows.Scan(&id, &groups, &tlp, &ra.Withdrawn); err != nil {
			return nil, fmt.Errorf("store: research access: %w", err)
		}
		if err := json.Unmarshal([]byte(groups), &ra.Object.Groups); err != nil {
			return nil, fmt.Errorf("store: research %s access_groups: %w", id, err)
		}
		ra.Object.TLP = access.TLP(tlp)
		out[id] = ra
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: research access: %w", err)
	}
	return out, nil
}

func (t researchTx) SaveDocument(ctx context.Context, d *research.Document) error {
	lists, err := docLists(d)
	if err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE research_documents SET title = ?, authors = ?, organisation = ?,
		abstract = ?, year = ?, language = ?, type = ?, topics = ?, countries = ?, regions = ?, access_groups = ?,
		tlp = ?, updated_at = ?, withdrawn = ?, withdrawn_by = ?, withdrawn_at = ?, current_version = ?,
		revision = ?, index_state = ?
		WHERE id = ?`,
		d.Title, lists[0], d.Organisation, d.Abstract, d.Year, d.Language, string(d.Type),
		lists[1], lists[2], lists[3], lists[4], string(d.TLP), fmtTime(d.UpdatedAt),
		d.Withdrawn, nullString(d.WithdrawnBy), nullTime(d.WithdrawnAt), d.CurrentVersion, d.Revision,
		string(d.IndexState), d.ID)
	if err != nil {
		return fmt.Errorf("store: save research document: %w", err)
	}
	return affected(res)
}

// affected turns an update that matched no row into research.ErrNotFound.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return research.ErrNotFound
	}
	return nil
}

func (t researchTx) SetIndexState(ctx context.Context, id string, revision int64, state research.IndexState) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE research_documents SET index_state = ? WHERE id = ? AND revision = ?`,
		string(state), id, revision)
	if err != nil {
		return false, fmt.Errorf("store: set research index state: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t researchTx) MarkChangedForIndex(ctx context.Context, since time.Time) (int, error) {
	res, err := t.tx.ExecContext(ctx, `UPDATE research_documents
		SET index_state = CASE withdrawn WHEN 1 THEN 'deleting' ELSE 'pending' END
		WHERE updated_at >= ?`, fmtTime(since))
	if err != nil {
		return 0, fmt.Errorf("store: mark changed research for index: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t researchTx) OpenReindex(ctx context.Context, r research.Reindex) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO research_reindexes (run, since, expires_at) VALUES (?, ?, ?)`,
		r.Run, fmtTime(r.Since), fmtTime(r.Expires))
	if err != nil {
		return fmt.Errorf("store: open research reindex: %w", err)
	}
	return nil
}

func (t researchTx) CloseReindex(ctx context.Context, run string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM research_reindexes WHERE run = ?`, run); err != nil {
		return fmt.Errorf("store: close research reindex: %w", err)
	}
	return nil
}

func (t researchTx) ExpiredReindexes(ctx context.Context, now time.Time) ([]research.Reindex, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT run, since, expires_at FROM research_reindexes
		WHERE expires_at < ? ORDER BY run`, fmtTime(now))
	if err != nil {
		return nil, fmt.Errorf("store: expired research reindexes: %w", err)
	}
	defer rows.Close()
	var out []research.Reindex
	for rows.Next() {
		var (
			r              research.Reindex
			since, expires string
		)
		if err := rows.Scan(&r.Run, &since, &expires); err != nil {
			return nil, fmt.Errorf("store: expired research reindexes: %w", err)
		}
		if r.Since, err = parseTime(since); err != nil {
			return nil, err
		}
		if r.Expires, err = parseTime(expires); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t researchTx) DocumentsAfter(ctx context.Context, after string, limit int) ([]research.Document, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+researchDocColumns+` FROM research_documents
		WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: research documents: %w", err)
	}
	defer rows.Close()
	var out []research.Document
	for rows.Next() {
		d, err := scanResearchDoc(rows)
		if err != nil {
			return nil, fmt.Errorf("store: research documents: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

func (t researchTx) DocumentIDs(ctx context.Context, states ...research.IndexState) ([]string, error) {
	query := `SELECT id FROM research_documents`
	args := make([]any, len(states))
	if len(states) > 0 {
		for i, s := range states {
			args[i] = string(s)
		}
		query += ` WHERE index_state IN (?` + strings.Repeat(`, ?`, len(states)-1) + `)`
	}
	rows, err := t.tx.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: research ids: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: research ids: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (t researchTx) CurrentVersions(ctx context.Context) (map[string]int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT id, current_version FROM research_documents WHERE withdrawn = 0`)
	if err != nil {
		return nil, fmt.Errorf("store: research current versions: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			id string
			v  int
		)
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("store: research current versions: %w", err)
		}
		out[id] = v
	}
	return out, rows.Err()
}

const researchVersionColumns = `number, sha256, size, kind, filename, pages, uploaded_by, uploaded_at`

func (t researchTx) InsertVersion(ctx context.Context, docID string, v *research.Version) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO research_versions (doc_id, `+researchVersionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		docID, v.Number, v.SHA256, v.Size, string(v.Kind), v.Filename, v.Pages, v.UploadedBy, fmtTime(v.UploadedAt))
	if err != nil {
		return fmt.Errorf("store: insert research version: %w", err)
	}
	return nil
}

func (t researchTx) Versions(ctx context.Context, docID string) ([]research.Version, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+researchVersionColumns+` FROM research_versions
		WHERE doc_id = ? ORDER BY number`, docID)
	if err != nil {
		return nil, fmt.Errorf("store: research versions: %w", err)
	}
	defer rows.Close()
	var out []research.Version
	for rows.Next() {
		var (
			v        research.Version
			kind, at string
		)
		if err := rows.Scan(&v.Number, &v.SHA256, &v.Size, &kind, &v.Filename, &v.Pages, &v.UploadedBy, &at); err != nil {
			return nil, fmt.Errorf("store: research versions: %w", err)
		}
		v.Kind = extract.Kind(kind)
		if v.UploadedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (t researchTx) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM research_versions WHERE sha256 = ? LIMIT 1) AS used`,
		sha256).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: research blob references: %w", err)
	}
	return n > 0, nil
}

func (t researchTx) InsertPassages(ctx context.Context, docID string, version int, ps []research.Passage) error {
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO research_passages (doc_id, version, number, text) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("store: insert research passages: %w", err)
	}
	defer stmt.Close()
	for _, p := range ps {
		if _, err := stmt.ExecContext(ctx, docID, version, p.Number, p.Text); err != nil {
			return fmt.Errorf("store: insert research passage %d: %w", p.Number, err)
		}
	}
	return nil
}

func (t researchTx) Passages(ctx context.Context, docID string, version int) ([]research.Passage, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT p.number, COALESCE(r.text, p.text), r.text IS NOT NULL
		FROM research_passages p LEFT JOIN research_recognised r
			ON r.doc_id = p.doc_id AND r.version = p.version AND r.number = p.number
		WHERE p.doc_id = ? AND p.version = ? ORDER BY p.number`, docID, version)
	if err != nil {
		return nil, fmt.Errorf("store: research passages: %w", err)
	}
	defer rows.Close()
	var out []research.Passage
	for rows.Next() {
		var p research.Passage
		if err := rows.Scan(&p.Number, &p.Text, &p.Recognised); err != nil {
			return nil, fmt.Errorf("store: research passages: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t researchTx) QueueRecognition(ctx context.Context, docID string, version, pages int, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO research_recognition (doc_id, version, state, pages, updated_at)
		VALUES (?, ?, ?, ?, ?)`, docID, version, string(research.RecognitionPending), pages, fmtTime(at))
	if err != nil {
		return fmt.Errorf("store: queue recognition: %w", err)
	}
	return nil
}

func (t researchTx) PendingRecognition(ctx context.Context) ([]research.RecognitionJob, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT doc_id, version, pages FROM research_recognition
		WHERE state = ? ORDER BY updated_at, doc_id, version`, string(research.RecognitionPending))
	if err != nil {
		return nil, fmt.Errorf("store: pending recognition: %w", err)
	}
	defer rows.Close()
	var out []research.RecognitionJob
	for rows.Next() {
		var j research.RecognitionJob
		if err := rows.Scan(&j.DocID, &j.Version, &j.Pages); err != nil {
			return nil, fmt.Errorf("store: pending recognition: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (t researchTx) RecognitionState(ctx context.Context, docID string, version int) (research.RecognitionState, error) {
	var state string
	err := t.tx.QueryRowContext(ctx, `SELECT state FROM research_recognition WHERE doc_id = ? AND version = ?`,
		docID, version).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: recognition state: %w", err)
	}
	return research.RecognitionState(state), nil
}

func (t researchTx) SaveRecognised(ctx context.Context, docID string, version int, ps []research.Passage,
	state research.RecognitionState, at time.Time) error {
	for _, p := range ps {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO research_recognised (doc_id, version, number, text)
			VALUES (?, ?, ?, ?) ON CONFLICT (doc_id, version, number) DO UPDATE SET text = excluded.text`,
			docID, version, p.Number, p.Text); err != nil {
			return fmt.Errorf("store: save recognised page %d: %w", p.Number, err)
		}
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE research_recognition SET state = ?, updated_at = ?
		WHERE doc_id = ? AND version = ?`, string(state), fmtTime(at), docID, version)
	if err != nil {
		return fmt.Errorf("store: set recognition state: %w", err)
	}
	return affected(res)
}

// ReferencedBlobs returns the hash and size of every stored original that a
// research version names, each once: what a backup must
// carry beside the database.
func (db *DB) ReferencedBlobs(ctx context.Context) (map[string]int64, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT DISTINCT sha256, size FROM research_versions`)
	if err != nil {
		return nil, fmt.Errorf("store: referenced blobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var sum string
		var size int64
		if err := rows.Scan(&sum, &size); err != nil {
			return nil, fmt.Errorf("store: referenced blobs: %w", err)
		}
		out[sum] = size
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: referenced blobs: %w", err)
	}
	return out, nil
}
