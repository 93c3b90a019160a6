package research

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	committed := false
	defer func() { in.release(committed) }()

	now := s.now()
	d := Document{
		ID: id, Metadata: meta, UploaderID: u.ID, CreatedAt: now, UpdatedAt: now,
		CurrentVersion: 1, Revision: 1, IndexState: IndexPending,
	}
	v := in.version(1, u.ID, now)
	queued := false
	err = s.st.Update(ctx, func(tx Tx) error {
		if err := s.confirmHold(ctx, tx, in); err != nil {
			return err
		}
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
	if errors.Is(err, ErrBusy) {
		s.Audit(ctx, u, ActionUpload, "", audit.OutcomeFailure, "not saved: file being removed", c)
		return Document{}, err
	}
	if err != nil {
		s.Audit(ctx, u, ActionUpload, "", audit.OutcomeFailure, "not saved", c)
		return Document{}, fmt.Errorf("research: save upload: %w", err)
	}
	committed = true
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
	committed := false
	defer func() { in.release(committed) }()

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
		if err := s.confirmHold(ctx, tx, in); err != nil {
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
	committed = true
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
	ref      blob.Temp // its temporary key is gone once committed
	kind     extract.Kind
	filename string
	passages []Passage
	// release ends the upload's hold on the file once its transaction has
	// ended; committed says whether a version now names the file.
	release func(committed bool)
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

// ingest streams body into the blob store under a temporary key, holds
// its hash in the database, gives it its final name, then detects its kind
// from the stored bytes and extracts its text. On success the caller must
// call release once the version's transaction has ended; on failure
// nothing remains that a later collection would not remove.
func (s *Service) ingest(ctx context.Context, filename string, body io.Reader) (*ingested, error) {
	tmp, err := s.blobs.Put(ctx, body, s.opts.MaxUploadBytes)
	if err != nil {
		if errors.Is(err, blob.ErrTooLarge) {
			return nil, fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, s.opts.MaxUploadBytes)
		}
		return nil, fmt.Errorf("research: store file: %w", err)
	}
	release, err := s.hold(ctx, tmp)
	if err != nil {
		return nil, err
	}
	in, err := s.parse(ctx, tmp, filename)
	if err != nil {
		release(false)
		return nil, err
	}
	in.release = release
	return in, nil
}

// parse detects and extracts the stored file ref.
func (s *Service) parse(ctx context.Context, ref blob.Temp, filename string) (*ingested, error) {
	f, err := s.blobs.Open(ctx, ref.SHA256)
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
