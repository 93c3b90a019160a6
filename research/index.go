package research

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// push brings record id's index entry up to date with the store: it adds
// the current version's text, or removes the entry of a withdrawn record,
// and once the index confirms, marks the revision it read indexed or
// deleted. Pushes of one record are serialised and each reads the record
// afresh, so the last push always sends the latest state; a confirmation
// for a revision that has since changed is not recorded, so the newer
// revision stays pending until its own push succeeds. Unless force is set,
// a record whose state is already confirmed is left alone.
func (s *Service) push(ctx context.Context, id string, force bool) (Document, error) {
	unlock := s.lockDoc(id)
	defer unlock()

	var (
		d  *Document
		ps []Passage
	)
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		if d, err = tx.Document(ctx, id); err != nil {
			return err
		}
		if d.Withdrawn || (!force && confirmed(d.IndexState)) {
			return nil
		}
		ps, err = tx.Passages(ctx, id, d.CurrentVersion)
		return err
	})
	if err != nil {
		return Document{}, fmt.Errorf("research: read %s for the index: %w", id, err)
	}
	if !force && confirmed(d.IndexState) {
		return *d, nil // confirmed by an earlier push
	}

	ictx, cancel := context.WithTimeout(ctx, s.opts.IndexTimeout)
	defer cancel()
	state := IndexIndexed
	if d.Withdrawn {
		state = IndexDeleted
		err = s.idx.DeleteDocument(ictx, id)
	} else {
		err = s.idx.IndexDocument(ictx, *d, ps)
	}
	if err != nil {
		return *d, fmt.Errorf("research: index %s (revision %d): %w", id, d.Revision, err)
	}

	var applied bool
	err = s.st.Update(ctx, func(tx Tx) error {
		var err error
		applied, err = tx.SetIndexState(ctx, id, d.Revision, state)
		return err
	})
	if err != nil {
		return *d, fmt.Errorf("research: record index state of %s: %w", id, err)
	}
	if applied {
		d.IndexState = state
	}
	return *d, nil
}

// pushAfterCommit pushes a committed change to the index and returns the
// record with its index state. The push outlives ctx (up to
// Options.IndexTimeout): the change is saved, and a client that hangs up
// should not leave it pending. A failure is logged, not returned: the
// change stands, and Resume will finish the push.
func (s *Service) pushAfterCommit(ctx context.Context, d Document) Document {
	got, err := s.push(context.WithoutCancel(ctx), d.ID, false)
	if err != nil {
		s.log.WarnContext(ctx, "research: index not updated; Resume will retry", "doc", d.ID, "err", err)
		return d
	}
	return got
}

// Resume re-drives every record whose index entry is not confirmed
// (pending or deleting): start-up calls it to finish what a crash or an
// unavailable Meilisearch left undone. It carries on past failures, logging
// each, and returns an error that counts them; the records stay pending for
// the next run.
func (s *Service) Resume(ctx context.Context) error {
	var ids []string
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		ids, err = tx.DocumentIDs(ctx, IndexPending, IndexDeleting)
		return err
	})
	if err != nil {
		return fmt.Errorf("research: resume: %w", err)
	}
	if len(ids) > 0 {
		s.log.InfoContext(ctx, "research: resuming index updates", "documents", len(ids))
	}
	return s.pushAll(ctx, "resume", ids, false, nil)
}

// RunResume calls Resume every interval until ctx ends, so that changes
// made while Meilisearch was down reach it without a restart.
func (s *Service) RunResume(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Resume(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "research: periodic resume", "err", err)
			}
		}
	}
}

// Reindex rebuilds the index from the store: every record that is not
// withdrawn is indexed, every withdrawn one deleted. It first marks every
// record pending (or deleting), so that a run that is killed half-way is
// finished by the next Reindex or Resume; and it pushes every record even
// if a concurrent push has meanwhile confirmed it, since the index may have
// been emptied. It is idempotent. progress, if not nil, is called after
// each record.
func (s *Service) Reindex(ctx context.Context, progress func(done, total int)) error {
	var ids []string
	err := s.st.Update(ctx, func(tx Tx) error {
		if _, err := tx.MarkAllForIndex(ctx); err != nil {
			return err
		}
		var err error
		ids, err = tx.DocumentIDs(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	return s.pushAll(ctx, "reindex", ids, true, progress)
}

// pushAll pushes each record, carrying on past failures until ctx ends.
func (s *Service) pushAll(ctx context.Context, what string, ids []string, force bool, progress func(done, total int)) error {
	var (
		failed int
		first  error
	)
	for i, id := range ids {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("research: %s stopped after %d of %d: %w", what, i, len(ids), err)
		}
		if _, err := s.push(ctx, id, force); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue
			}
			failed++
			first = cmpOr(first, err)
			s.log.WarnContext(ctx, "research: "+what+": index update failed", "doc", id, "err", err)
		}
		if progress != nil {
			progress(i+1, len(ids))
		}
	}
	if failed > 0 {
		return fmt.Errorf("research: %s: %d of %d records not confirmed by the index; first: %w",
			what, failed, len(ids), first)
	}
	return nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// confirmed reports whether st is a state that Meilisearch has confirmed.
func confirmed(st IndexState) bool { return st == IndexIndexed || st == IndexDeleted }
