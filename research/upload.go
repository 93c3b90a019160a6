package research

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"portal/account"
	"portal/audit"
	"portal/blob"
	"portal/extract"
)

// Upload adds a record with its file as version 1. The file's kind is
// decided from its content; the name only tells Markdown from plain text
// and becomes the sanitised display name.
//
// Order, so that nothing is lost and nothing is half stored: the metadata
// and the grant are checked before the body is read; the body streams into
// the blob store up to Options.MaxUploadBytes; the stored file is detected
// and its text extracted; a failure up to here stores nothing (the blob is
// removed unless another record or upload holds the same file). Then one
// transaction records the document, the version and its passages with the
// index state pending, and only then is the index asked to add it. If the
// index is unavailable the upload still succeeds, with IndexState pending,
// and Resume finishes it.
func (s *Service) Upload(ctx context.Context, u *account.User, meta Metadata, filename string, body io.Reader, c account.Client) (Document, error) {
	if u == nil || u.Disabled {
		return Document{}, s.denied(ctx, u, ActionUpload, "", &ForbiddenError{Reason: "sign in to upload"}, c)
	}
	meta, err := Normalize(meta, s.now())
	if err != nil {
		s.Audit(ctx, u, ActionUpload, "", audit.OutcomeFailure, err.Error(), c)
		return Document{}, err
	}
	if err := checkGrant(u, meta.AccessGroups, nil); err != nil {
		return Document{}, s.denied(ctx, u, ActionUpload, "", err, c)
	}
	id, err := newID()
	if err != nil {
		return Document{}, err
	}

	release, err := s.acquireUpload(ctx)
	if err != nil {
		return Document{}, err
	}
	defer release()
	in, err := s.ingest(ctx, filename, body)
	if err != nil {
		s.Audit(ctx, u, ActionUpload, "", audit.OutcomeFailure, err.Error(), c)
		return Document{}, err
	}
	// Released after the transaction, committed or not: a committed version
	// keeps the blob; otherwise the blob goes unless someone else holds it.
	defer in.release()

	now := s.now()
	d := Document{
		ID: id, Metadata: meta, UploaderID: u.ID, CreatedAt: now, UpdatedAt: now,
		CurrentVersion: 1, Revision: 1, IndexState: IndexPending,
	}
	v := in.version(1, u.ID, now)
	queued := false
	err = s.st.Update(ctx, func(tx Tx) error {
		if err := tx.InsertDocument(ctx, &d); err != nil {
			return err
		}
		if err := tx.InsertVersion(ctx, d.ID, &v); err != nil {
			return err
		}
		if err := tx.InsertPassages(ctx, d.ID, v.Number, in.passages); err != nil {
			return err
		}
		var err error
		queued, err = s.queueRecognition(ctx, tx, d.ID, v, in.passages)
		return err
	})
	if err != nil {
		s.Audit(ctx, u, ActionUpload, "", audit.OutcomeFailure, "not saved", c)
		return Document{}, fmt.Errorf("research: save upload: %w", err)
	}
	if queued {
		d.Recognition = RecognitionPending
		s.wakeRecognition()
	}
	detail := fmt.Sprintf("version 1; %s; groups %v; %s", v.describe(), d.AccessGroups, d.TLP)
	if err := s.record(ctx, u, ActionUpload, d.ID, audit.OutcomeSuccess, detail, c); err != nil {
		return d, err
	}
	pushed := s.pushAfterCommit(ctx, d)
	pushed.Recognition = d.Recognition
	return pushed, nil
}

// Replace adds a new version of a record's file and makes it current; the
// old versions stay readable. Only the uploader and admins may replace.
// The record is re-indexed with the new text.
func (s *Service) Replace(ctx context.Context, u *account.User, id, filename string, body io.Reader, c account.Client) (Document, error) {
	// Refuse before reading a possibly large body; checked again in the
	// transaction, since access may change meanwhile.
	err := s.st.View(ctx, func(tx Tx) error {
		_, err := s.changeable(ctx, tx, u, id)
		return err
	})
	if err != nil {
		return Document{}, s.refused(ctx, u, ActionReplace, id, err, c)
	}

	release, err := s.acquireUpload(ctx)
	if err != nil {
		return Document{}, err
	}
	defer release()
	in, err := s.ingest(ctx, filename, body)
	if err != nil {
		s.Audit(ctx, u, ActionReplace, id, audit.OutcomeFailure, err.Error(), c)
		return Document{}, err
	}
	defer in.release()

	var (
		d      *Document
		v      Version
		queued bool
	)
	err = s.st.Update(ctx, func(tx Tx) error {
		var err error
		if d, err = s.changeable(ctx, tx, u, id); err != nil {
			return err
		}
		now := s.now()
		v = in.version(d.CurrentVersion+1, u.ID, now)
		if err := tx.InsertVersion(ctx, d.ID, &v); err != nil {
			return err
		}
		if err := tx.InsertPassages(ctx, d.ID, v.Number, in.passages); err != nil {
			return err
		}
		if queued, err = s.queueRecognition(ctx, tx, d.ID, v, in.passages); err != nil {
			return err
		}
		d.CurrentVersion = v.Number
		d.touch(now)
		return tx.SaveDocument(ctx, d)
	})
	if err != nil {
		return Document{}, s.refused(ctx, u, ActionReplace, id, err, c)
	}
	if queued {
		d.Recognition = RecognitionPending
		s.wakeRecognition()
	}
	detail := fmt.Sprintf("version %d; %s%s", v.Number, v.describe(), asAdmin(u, d))
	if err := s.record(ctx, u, ActionReplace, d.ID, audit.OutcomeSuccess, detail, c); err != nil {
		return *d, err
	}
	pushed := s.pushAfterCommit(ctx, *d)
	pushed.Recognition = d.Recognition
	return pushed, nil
}

// acquireUpload takes an upload slot, waiting at most Options.UploadWait.
func (s *Service) acquireUpload(ctx context.Context) (func(), error) {
	t := time.NewTimer(s.opts.UploadWait)
	defer t.Stop()
	select {
	case s.uploads <- struct{}{}:
		return func() { <-s.uploads }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("research: wait for an upload slot: %w", context.Cause(ctx))
	}
}

// ingested is a stored, detected and extracted file, not yet recorded.
type ingested struct {
	ref      blob.Ref
	kind     extract.Kind
	filename string
	passages []Passage
	release  func()
}

func (in *ingested) version(n int, by string, at time.Time) Version {
	return Version{
		Number: n, SHA256: in.ref.SHA256, Size: in.ref.Size, Kind: in.kind, Filename: in.filename,
		Pages: len(in.passages), UploadedBy: by, UploadedAt: at,
	}
}

// describe summarises a version for the audit log: never its text.
func (v Version) describe() string {
	return fmt.Sprintf("%s, %d bytes, sha256 %s…", v.Kind, v.Size, v.SHA256[:min(12, len(v.SHA256))])
}

// ingest streams body into the blob store, detects its kind from the stored
// bytes and extracts its text. On success the caller must call release
// once the version is committed or abandoned; on failure nothing remains.
func (s *Service) ingest(ctx context.Context, filename string, body io.Reader) (*ingested, error) {
	ref, err := s.blobs.Put(ctx, body, s.opts.MaxUploadBytes)
	if err != nil {
		if errors.Is(err, blob.ErrTooLarge) {
			return nil, fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, s.opts.MaxUploadBytes)
		}
		return nil, fmt.Errorf("research: store file: %w", err)
	}
	release := s.hold(ref)
	in, err := s.parse(ctx, ref, filename)
	if err != nil {
		release()
		return nil, err
	}
	in.release = release
	return in, nil
}

// parse detects and extracts the stored file ref.
func (s *Service) parse(ctx context.Context, ref blob.Ref, filename string) (*ingested, error) {
	f, err := s.blobs.Open(ref.SHA256)
	if errors.Is(err, fs.ErrNotExist) {
		// A failed identical upload removed the file between our Put and
		// hold; the bytes are gone, so the client has to send them again.
		return nil, fmt.Errorf("%w: the same file was being processed; try again", ErrBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("research: open stored file: %w", err)
	}
	defer f.Close()

	head := make([]byte, min(ref.Size, extract.HeadSize))
	if n, err := f.ReadAt(head, 0); n < len(head) {
		return nil, fmt.Errorf("research: read stored file: %w", err)
	}
	kind, err := extract.Detect(head, filename)
	if err != nil {
		return nil, fileErr(ctx, err)
	}
	doc, err := s.x.Extract(ctx, kind, f, ref.Size)
	if err != nil {
		return nil, fileErr(ctx, err)
	}
	in := &ingested{ref: ref, kind: kind, filename: SanitizeFilename(filename, kind)}
	in.passages = make([]Passage, len(doc.Pages))
	for i, p := range doc.Pages {
		in.passages[i] = Passage{Number: p.Number, Text: p.Text}
	}
	return in, nil
}

// fileErr maps extraction errors to the package's.
func fileErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, extract.ErrUnsupported):
		return fmt.Errorf("%w (%w)", ErrUnsupportedType, err)
	case errors.Is(err, extract.ErrTooLarge):
		return fmt.Errorf("%w (%w)", ErrTooLarge, err)
	case errors.Is(err, extract.ErrUnparsable):
		return fmt.Errorf("%w (%w)", ErrUnparsable, err)
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		// The extractor's own time limit, not the caller's: a file that
		// takes that long to read is treated as unreadable.
		return fmt.Errorf("%w (took too long to read: %w)", ErrUnparsable, err)
	}
	return fmt.Errorf("research: extract: %w", err)
}

// inflightBlob is one blob held by uploads in progress.
type inflightBlob struct {
	n       int
	created bool // some holder's Put wrote the file
}

// hold registers an upload holding ref and returns its release. The last
// holder to release removes the file if one of the holders' Put created it
// and no version refers to it, so that a failed upload leaves nothing, a
// file that was there before is never touched, and a concurrent identical
// upload never loses its file.
func (s *Service) hold(ref blob.Ref) func() {
	s.inflightMu.Lock()
	e := s.inflight[ref.SHA256]
	e.n++
	e.created = e.created || ref.Created
	s.inflight[ref.SHA256] = e
	s.inflightMu.Unlock()

	return func() {
		s.inflightMu.Lock()
		defer s.inflightMu.Unlock()
		e := s.inflight[ref.SHA256]
		e.n--
		if e.n > 0 {
			s.inflight[ref.SHA256] = e
			return
		}
		delete(s.inflight, ref.SHA256)
		if !e.created {
			return
		}
		// The lock stays held through the check and the removal, so that no
		// other upload can register the file in between.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var used bool
		err := s.st.View(ctx, func(tx Tx) error {
			var err error
			used, err = tx.BlobReferenced(ctx, ref.SHA256)
			return err
		})
		if err != nil {
			s.log.Error("research: cannot tell whether an uploaded file is in use; keeping it",
				"sha256", ref.SHA256, "err", err)
			return
		}
		if used {
			return
		}
		if err := s.blobs.Remove(ref.SHA256); err != nil {
			s.log.Error("research: remove unused uploaded file", "sha256", ref.SHA256, "err", err)
		}
	}
}
