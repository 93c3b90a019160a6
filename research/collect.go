package research

import (
	"context"
	"errors"
	"fmt"
	"time"

	"portal/blob"
)

// Stored files and who may delete them, across every instance sharing the
// database and the blob store (migration 0011):
//
//  1. An upload streams its file under a temporary key (blob.Store.Put).
//  2. It holds the hash in the database (Tx.HoldBlob), valid for
//     Options.BlobHold; a hold is refused while the hash is being deleted.
//  3. It gives the file its final name (blob.Store.Commit).
//  4. The transaction that records the version first renews the hold
//     (Tx.RenewBlobHold), so that a version is only ever recorded while
//     its file is held, and so stored.
//  5. After the transaction, committed or not, it releases the hold and,
//     if no version names the file, tries to delete it at once.
//
// A deletion, here or by Collect, first marks the hash deleting
// (Tx.MarkBlobDeleting, one statement that succeeds only when no version
// names the hash and no live hold protects it), looks once more for a
// version in a fresh transaction, deletes the file and drops the mark. An
// instance killed at any step leaves a temporary key (removed by
// blob.Store.CleanTemp), an expired hold, or an expired mark; Collect
// finishes each. So no row names a file that is gone, and no file that no
// row names outlives the next collection.

// Defaults for the holds.
const (
	DefaultBlobHold = 10 * time.Minute
	// deleteFor bounds a deletion mark: deleting one file takes
	// milliseconds; a mark older than this belongs to a dead instance.
	deleteFor = time.Minute
	// holdRetries and holdRetryWait: a hold refused because the same file
	// is being deleted is tried again while the deletion finishes.
	holdRetries   = 20
	holdRetryWait = 100 * time.Millisecond
)

// hold holds tmp's hash in the database and commits tmp under it. It
// returns the hold's release; on failure the temporary key is discarded.
func (s *Service) hold(ctx context.Context, tmp blob.Temp) (func(committed bool), error) {
	discard := func() {
		if err := s.blobs.Discard(context.WithoutCancel(ctx), tmp); err != nil {
			s.log.Warn("research: discard temporary upload; collection will", "err", err)
		}
	}
	held := false
	for i := 0; !held; i++ {
		err := s.st.Update(ctx, func(tx Tx) error {
			now := s.now()
			var err error
			held, err = tx.HoldBlob(ctx, tmp.SHA256, now, now.Add(s.opts.BlobHold))
			return err
		})
		if err != nil {
			discard()
			return nil, fmt.Errorf("research: hold stored file: %w", err)
		}
		if held {
			break
		}
		if i == holdRetries {
			discard()
			return nil, fmt.Errorf("%w: the same file is being removed; try again", ErrBusy)
		}
		select {
		case <-ctx.Done():
			discard()
			return nil, fmt.Errorf("research: hold stored file: %w", context.Cause(ctx))
		case <-time.After(holdRetryWait):
		}
	}
	release := func(committed bool) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.st.Update(ctx, func(tx Tx) error { return tx.ReleaseBlob(ctx, tmp.SHA256) }); err != nil {
			// The hold expires and the next collection decides.
			s.log.Error("research: release stored file", "sha256", tmp.SHA256, "err", err)
			return
		}
		if committed {
			return
		}
		if _, err := s.collect(ctx, tmp.SHA256); err != nil {
			s.log.Error("research: remove unused uploaded file; the next collection will", "sha256", tmp.SHA256, "err", err)
		}
	}
	if err := s.blobs.Commit(ctx, tmp); err != nil {
		discard()
		release(false)
		return nil, fmt.Errorf("research: store file: %w", err)
	}
	return release, nil
}

// confirmHold renews in's hold inside the transaction that records its
// version; without a live hold the file may be gone, and the version is
// not recorded.
func (s *Service) confirmHold(ctx context.Context, tx Tx, in *ingested) error {
	ok, err := tx.RenewBlobHold(ctx, in.ref.SHA256, s.now().Add(s.opts.BlobHold))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: the upload took too long and its file was released; try again", ErrBusy)
	}
	return nil
}

// collect deletes the stored file sha256 if no version names it and no
// live hold protects it, and reports whether it did.
func (s *Service) collect(ctx context.Context, sha256 string) (bool, error) {
	marked := false
	err := s.st.Update(ctx, func(tx Tx) error {
		now := s.now()
		var err error
		marked, err = tx.MarkBlobDeleting(ctx, sha256, now, now.Add(deleteFor))
		return err
	})
	if err != nil || !marked {
		return false, err
	}
	// A fresh look: on PostgreSQL the mark's statement may have judged
	// from a snapshot taken before a version was committed. No version can
	// be recorded from now on, since none can be without a hold.
	var used bool
	if err := s.st.View(ctx, func(tx Tx) error {
		var err error
		used, err = tx.BlobReferenced(ctx, sha256)
		return err
	}); err != nil {
		return false, err
	}
	if !used {
		if err := s.blobs.Remove(ctx, sha256); err != nil {
			// The mark stays and expires; a later collection tries again.
			return false, err
		}
	}
	if err := s.st.Update(ctx, func(tx Tx) error { return tx.ForgetBlob(ctx, sha256) }); err != nil {
		return false, err
	}
	return !used, nil
}

// Collected reports what Collect removed.
type Collected struct {
	// Blobs counts the hashes removed: stored files no version named, and
	// lapsed holds whose upload died before naming its file.
	Blobs int
	Temps int // temporary keys and unfinished uploads of dead uploads
}

// Collect removes what uploads left behind on any instance: stored files
// that no version names and no live hold protects, the files of holds and
// deletions that expired, and temporary keys and unfinished uploads older
// than the hold period (which exceeds the two minutes the server's
// timeouts, api.ServerTimeouts, give any upload).
// It is safe while other instances upload; it runs under a lease so that
// only one instance lists the store at a time.
func (s *Service) Collect(ctx context.Context) (Collected, error) {
	var (
		c    Collected
		errs []error
	)
	now := s.now()
	n, err := s.blobs.CleanTemp(ctx, now.Add(-s.opts.BlobHold))
	c.Temps = n
	if err != nil {
		errs = append(errs, err)
	}
	// Rows first: an expired hold may name a file stored or not.
	var expired []string
	if err := s.st.View(ctx, func(tx Tx) error {
		var err error
		expired, err = tx.ExpiredBlobHolds(ctx, now, 1000)
		return err
	}); err != nil {
		return c, fmt.Errorf("research: collect: %w", err)
	}
	for _, h := range expired {
		done, err := s.collect(ctx, h)
		if err != nil {
			errs = append(errs, err)
		}
		if done {
			c.Blobs++
		}
	}
	// Then every stored file: those recorded are skipped with one read;
	// the rest are tried. A file committed a moment ago is held, so the
	// mark refuses it.
	err = s.blobs.List(ctx, func(info blob.Info) error {
		var used bool
		if err := s.st.View(ctx, func(tx Tx) error {
			var err error
			used, err = tx.BlobReferenced(ctx, info.SHA256)
			return err
		}); err != nil {
			return err
		}
		if used {
			return nil
		}
		done, err := s.collect(ctx, info.SHA256)
		if err != nil {
			errs = append(errs, err)
		}
		if done {
			c.Blobs++
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("research: collect: %w", err)
	}
	return c, nil
}

// RunCollect runs Collect every interval until ctx ends, logging what it
// removed.
func (s *Service) RunCollect(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c, err := s.Collect(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("research: collect unused files", "err", err, "blobs", c.Blobs, "temporary", c.Temps)
		case c != (Collected{}):
			s.log.Info("research: collected unused files", "blobs", c.Blobs, "temporary", c.Temps)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
