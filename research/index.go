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
// a record whose state is already confirmed is left alone. push reports
// whether it recorded the state, which it does not when the record has
// changed meanwhile or needed nothing.
func (s *Service) push(ctx context.Context, id string, force bool) (Document, bool, error) {
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
		return Document{}, false, fmt.Errorf("research: read %s for the index: %w", id, err)
	}
	if !force && confirmed(d.IndexState) {
		return *d, false, nil // confirmed by an earlier push
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
		return *d, false, fmt.Errorf("research: index %s (revision %d): %w", id, d.Revision, err)
	}

	var applied bool
	err = s.st.Update(ctx, func(tx Tx) error {
		var err error
		applied, err = tx.SetIndexState(ctx, id, d.Revision, state)
		return err
	})
	if err != nil {
		return *d, false, fmt.Errorf("research: record index state of %s: %w", id, err)
	}
	if applied {
		d.IndexState = state
	}
	return *d, applied, nil
}

// pushAfterCommit pushes a committed change to the index and returns the
// record with its index state. The push outlives ctx (up to
// Options.IndexTimeout): the change is saved, and a client that hangs up
// should not leave it pending. A failure is logged, not returned: the
// change stands, and Resume will finish the push.
func (s *Service) pushAfterCommit(ctx context.Context, d Document) Document {
	got, _, err := s.push(context.WithoutCancel(ctx), d.ID, false)
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
// withdrawn is indexed, every withdrawn one left out. It first marks every
// record pending (or deleting), so that a run killed half-way is finished
// by the next Reindex or by Resume. It then loads a new index beside the
// live one, reading the store a page at a time and sending records in
// large batches without waiting for each, and swaps it in once the index
// has confirmed them all. The live index keeps answering, and taking the
// pushes of concurrent changes, until the swap; a run that fails or is
// killed before the swap leaves it untouched. After the swap, settle
// reconciles the changes made meanwhile. It is idempotent.
//
// progress, if not nil, is called with 0 before the first record is read,
// with the records done so far whenever the new index confirms more of them
// (a withdrawn record is done once read), and with the total once the new
// index is live and the store records it. total is the number of records
// when the run began.
func (s *Service) Reindex(ctx context.Context, progress func(done, total int)) error {
	var total int
	err := s.st.Update(ctx, func(tx Tx) error {
		var err error
		total, err = tx.MarkAllForIndex(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	report := func(done int) {
		// The report of the whole total waits for settle: until then
		// the new index is not live, or its states not recorded.
		if progress != nil && done < total {
			progress(done, total)
		}
	}
	skipped := 0 // withdrawn records read: nothing to add for them
	b, err := s.idx.Rebuild(ctx, func(records int) { report(skipped + records) })
	if err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	defer func() {
		// Dropped even when ctx has ended, so that a stopped run leaves
		// no copy of the library taking Meilisearch's disk (the next run
		// would drop it anyway).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.IndexTimeout)
		defer cancel()
		if err := b.Close(cctx); err != nil {
			s.log.WarnContext(ctx, "research: reindex: build index not dropped", "err", err)
		}
	}()
	report(0)
	snap, err := s.loadBuild(ctx, b, &skipped)
	if err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	if err := b.Swap(ctx); err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	err = s.settle(ctx, snap)
	if progress != nil && total > 0 {
		progress(total, total)
	}
	return err
}

// reindexPage is how many records one read of a reindex takes: enough that
// reads cost little, few enough that memory stays small whatever the size
// of the library.
const reindexPage = 256

// snapshot is the revision of every record as a reindex read it, by ID.
// It is all a reindex keeps of the library: text goes straight into the
// build's batches.
type snapshot map[string]int64

// loadBuild adds every record that is not withdrawn to b, a page at a
// time, and returns the revisions it read; skipped counts the withdrawn
// records. Each page is read in one read-only transaction, which never
// holds up the server's writes; the pages together are not one instant of
// the store, but each record is read whole at one revision, which is all
// settle needs. Records go to b as they are read, so that only one
// record's text is held beside b's batch.
func (s *Service) loadBuild(ctx context.Context, b IndexBuild, skipped *int) (snapshot, error) {
	snap := snapshot{}
	for after := ""; ; {
		n := 0
		err := s.st.View(ctx, func(tx Tx) error {
			page, err := tx.DocumentsAfter(ctx, after, reindexPage)
			if err != nil {
				return fmt.Errorf("read records after %q: %w", after, err)
			}
			for _, d := range page {
				snap[d.ID] = d.Revision
				if d.Withdrawn {
					*skipped++
					continue
				}
				ps, err := tx.Passages(ctx, d.ID, d.CurrentVersion)
				if err != nil {
					return fmt.Errorf("read passages of %s: %w", d.ID, err)
				}
				if err := b.Add(ctx, d, ps); err != nil {
					return fmt.Errorf("add %s: %w", d.ID, err)
				}
			}
			if n = len(page); n > 0 {
				after = page[n-1].ID
			}
			return nil
		})
		if err != nil || n == 0 {
			return snap, err
		}
	}
}

// settle runs once the new index is live. Each record still at the
// revision loadBuild read is marked indexed (or deleted, if withdrawn): the
// new index holds exactly that revision. Every other record (changed,
// created or withdrawn since loadBuild read it) is marked pending (or
// deleting) again and pushed, with force.
//
// Why this is enough: Meilisearch processes tasks one at a time in the
// order they were enqueued. The push of a change made during the build
// went to the index that was live when it was enqueued: before the swap
// task, the old index, which the swap discards; after it, the new one.
// settle reads the store only once the swap is confirmed, so every change
// that may have been discarded shows a revision other than the one
// loadBuild read, and settle's push of it lands in the new index, after
// the discarded one. A change committed after settle's read is pushed by
// whoever made it, after the swap, into the new index; and SetIndexState,
// which checks the revision, refuses the state settle would record for the
// older one. Marking changed records pending again undoes the confirmation
// their own push may have had from the discarded index, so that a run
// killed before it has pushed them leaves them to Resume (unless that
// confirmation is recorded only after the mark, in the instant after the
// swap).
func (s *Service) settle(ctx context.Context, snap snapshot) error {
	var (
		failed, pushed int
		first          error
	)
	for after := ""; ; {
		var page []Document
		err := s.st.View(ctx, func(tx Tx) error {
			var err error
			page, err = tx.DocumentsAfter(ctx, after, reindexPage)
			return err
		})
		if err != nil {
			return fmt.Errorf("research: reindex: read records after %q: %w", after, err)
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
		var changed []string
		err = s.st.Update(ctx, func(tx Tx) error {
			changed = changed[:0]
			for _, d := range page {
				rev, ok := snap[d.ID]
				same := ok && rev == d.Revision
				if !same {
					changed = append(changed, d.ID)
				}
				if _, err := tx.SetIndexState(ctx, d.ID, d.Revision, indexState(d.Withdrawn, same)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("research: reindex: record index states: %w", err)
		}
		for _, id := range changed {
			pushed++
			if err := s.repush(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
				if ctx.Err() != nil {
					return fmt.Errorf("research: reindex: %w", err)
				}
				failed++
				first = cmpOr(first, err)
				s.log.WarnContext(ctx, "research: reindex: index update failed", "doc", id, "err", err)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("research: reindex: %d of %d records changed during the rebuild not confirmed by the index; first: %w",
			failed, pushed, first)
	}
	return nil
}

// maxRepush bounds how often settle pushes one record.
const maxRepush = 3

// repush pushes a record changed during a rebuild. When the push finds on
// confirming that the record has changed again, it is repeated: the newer
// change's own push, made by another process, may have reached the index
// before this one, which read the record earlier. A record that keeps
// changing is left to the pushes of whoever changes it.
func (s *Service) repush(ctx context.Context, id string) error {
	for range maxRepush {
		_, applied, err := s.push(ctx, id, true)
		if err != nil || applied {
			return err
		}
	}
	return nil
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
		if _, _, err := s.push(ctx, id, force); err != nil {
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

// indexState is the state of a record's index entry: confirmed or still
// to do, for a record that is withdrawn or not.
func indexState(withdrawn, confirmed bool) IndexState {
	switch {
	case withdrawn && confirmed:
		return IndexDeleted
	case withdrawn:
		return IndexDeleting
	case confirmed:
		return IndexIndexed
	}
	return IndexPending
}

// confirmed reports whether st is a state that Meilisearch has confirmed.
func confirmed(st IndexState) bool { return st == IndexIndexed || st == IndexDeleted }
