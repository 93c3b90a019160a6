package research

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// push brings record id's index entry up to date with the store: it adds
// the current version's text, or removes the entry of a withdrawn record,
// and once the index confirms, marks the revision it read indexed or
// deleted. Unless force is set, a record whose state is already confirmed
// is left alone. push reports whether it recorded the state.
//
// Pushes of one record may run at once, on this instance or on others
// sharing the database, and reach the index in any order; the record's
// revision in the database orders them. A push whose confirmation finds
// the revision moved on may have overwritten a newer push in the index, so
// it pushes again what the store holds now, until a push confirms the
// revision it read: the last confirmed push is always of the latest
// revision, whichever instance made it.
func (s *Service) push(ctx context.Context, id string, force bool) (Document, bool, error) {
	// first is what this call read and answers with: a later revision,
	// pushed by the retries, is another change's to report.
	var first *Document
	for attempt := 0; ; attempt++ {
		d, applied, err := s.pushOnce(ctx, id, force)
		if d == nil {
			return Document{}, false, err
		}
		if first == nil {
			first = d
		}
		if err != nil || applied {
			if d != first {
				return *first, false, err
			}
			return *d, applied, err
		}
		var now *Document
		if err := s.st.View(ctx, func(tx Tx) error {
			var err error
			now, err = tx.Document(ctx, id)
			return err
		}); err != nil {
			return *first, false, fmt.Errorf("research: read %s for the index: %w", id, err)
		}
		if now.Revision == d.Revision || attempt == maxPushAttempts {
			// Confirmed by an earlier push, or changing faster than it can
			// be pushed: the record stays pending for Resume.
			return *first, false, nil
		}
		force = true
	}
}

// maxPushAttempts bounds the pushes one call makes while the record keeps
// changing under it.
const maxPushAttempts = 5

// pushOnce is one push of the record's current state. It returns a nil
// Document only with an error.
func (s *Service) pushOnce(ctx context.Context, id string, force bool) (*Document, bool, error) {
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
		return nil, false, fmt.Errorf("research: read %s for the index: %w", id, err)
	}
	if !force && confirmed(d.IndexState) {
		return d, false, nil // confirmed by an earlier push
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
		s.opts.Metrics.IndexPushFailed()
		return d, false, fmt.Errorf("research: index %s (revision %d): %w", id, d.Revision, err)
	}

	var applied bool
	err = s.st.Update(ctx, func(tx Tx) error {
		var err error
		applied, err = tx.SetIndexState(ctx, id, d.Revision, state)
		return err
	})
	if err != nil {
		return d, false, fmt.Errorf("research: record index state of %s: %w", id, err)
	}
	if applied {
		d.IndexState = state
	}
	return d, applied, nil
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
// unavailable Meilisearch left undone. It first marks for the index the
// records that a reindex which died after its swap may have left wrongly
// confirmed (recoverReindexes). It carries on past failures, logging each,
// and returns an error that counts them; the records stay pending for the
// next run.
func (s *Service) Resume(ctx context.Context) error {
	if err := s.recoverReindexes(ctx); err != nil {
		return fmt.Errorf("research: resume: recover a stopped reindex: %w", err)
	}
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

// Unconfirmed returns how many records wait for Meilisearch to confirm a
// push (pending or deleting): the backlog Resume re-drives.
func (s *Service) Unconfirmed(ctx context.Context) (int, error) {
	var ids []string
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		ids, err = tx.DocumentIDs(ctx, IndexPending, IndexDeleting)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("research: unconfirmed: %w", err)
	}
	return len(ids), nil
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
// withdrawn is indexed, every withdrawn one left out. It loads a new index
// beside the live one, reading the store a page at a time and sending
// records in large batches without waiting for each; the live index keeps
// answering, and taking the pushes of concurrent changes, meanwhile. Once
// the new index has confirmed them all, reconcile brings it up to the
// store's present state, and only then is it swapped in: a record narrowed
// or withdrawn during the build never goes live as it was before, where
// facet counts and totals, which come from the index alone, would still
// count it for members who may no longer see it. After the swap, settle
// records the index states and pushes what changed in the short while
// between reconcile's read and the swap.
//
// Nothing is marked for the index up front. A run that fails or is killed
// before the swap leaves the live index, and so the recorded states, as
// they were (a server's Resume has nothing to redo meanwhile), and one
// killed after it is covered by the record openReindex writes (see
// settle). It is idempotent.
//
// progress, if not nil, is called with 0 before the first record is read,
// with the records done so far whenever the new index confirms more of them
// (a withdrawn record is done once read), and with the total once the new
// index is live and settle has recorded every state and pushed every
// change. total is the number of records when the run began.
func (s *Service) Reindex(ctx context.Context, progress func(done, total int)) error {
	var total int
	err := s.st.View(ctx, func(tx Tx) error {
		ids, err := tx.DocumentIDs(ctx)
		total = len(ids)
		return err
	})
	if err != nil {
		return fmt.Errorf("research: reindex: count records: %w", err)
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
		// no copy of the library taking Meilisearch's disk (a later run
		// would drop it only once it is hours old).
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
	// Meilisearch may still be indexing what loadBuild sent for minutes:
	// reconcile reads the store once it is done, so that its read comes
	// just before the swap.
	if err := b.Wait(ctx); err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	run, err := s.openReindex(ctx)
	if err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	keep := false // whether the record of the run must outlive it
	defer func() {
		if !keep {
			s.closeReindex(ctx, run)
		}
	}()
	if snap, err = s.reconcile(ctx, b, snap); err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	// From here until settle has finished, a stopped run may have swapped
	// the index in and left states that the new index belies: the record
	// stays, and Resume repairs them once it expires.
	keep = true
	if err := b.Swap(ctx); err != nil {
		return fmt.Errorf("research: reindex: %w", err)
	}
	if err := s.settle(ctx, snap); err != nil {
		return err
	}
	keep = false
	if progress != nil && total > 0 {
		progress(total, total)
	}
	return nil
}

// reindexPage is how many records one read of a reindex takes: enough that
// reads cost little, few enough that memory stays small whatever the size
// of the library.
const reindexPage = 256

// snapshot is the revision of every record in a build, by ID. It is all a
// reindex keeps of the library: text goes straight into the build's
// batches.
type snapshot map[string]int64

// pageRecord is a record read for a build, with its current version's text
// when it is wanted.
type pageRecord struct {
	Document
	passages []Passage
}

// readPage reads up to reindexPage records whose IDs sort after after, and
// the passages of those that want selects and are not withdrawn, in one
// read-only transaction. It returns before anything is sent to the index,
// so that no transaction is held open, pinning SQLite's snapshot of the
// database, while Meilisearch takes its time; the page is all it holds.
func (s *Service) readPage(ctx context.Context, after string, want func(Document) bool) ([]pageRecord, error) {
	var page []pageRecord
	err := s.st.View(ctx, func(tx Tx) error {
		ds, err := tx.DocumentsAfter(ctx, after, reindexPage)
		if err != nil {
			return fmt.Errorf("read records after %q: %w", after, err)
		}
		page = make([]pageRecord, len(ds))
		for i, d := range ds {
			page[i].Document = d
			if d.Withdrawn || !want(d) {
				continue
			}
			if page[i].passages, err = tx.Passages(ctx, d.ID, d.CurrentVersion); err != nil {
				return fmt.Errorf("read passages of %s: %w", d.ID, err)
			}
		}
		return nil
	})
	return page, err
}

// loadBuild adds every record that is not withdrawn to b, a page at a
// time, and returns the revisions it read; skipped counts the withdrawn
// records. Each page is read in one read-only transaction, which never
// holds up the server's writes, and sent once that has ended; the pages
// together are not one instant of the store, but each record is read whole
// at one revision, which is all reconcile needs.
func (s *Service) loadBuild(ctx context.Context, b IndexBuild, skipped *int) (snapshot, error) {
	snap := snapshot{}
	all := func(Document) bool { return true }
	for after := ""; ; {
		page, err := s.readPage(ctx, after, all)
		if err != nil || len(page) == 0 {
			return snap, err
		}
		after = page[len(page)-1].ID
		for _, r := range page {
			snap[r.ID] = r.Revision
			if r.Withdrawn {
				*skipped++
				continue
			}
			if err := b.Add(ctx, r.Document, r.passages); err != nil {
				return snap, fmt.Errorf("add %s: %w", r.ID, err)
			}
		}
	}
}

// reconcile brings the build b up to the store's present state before the
// swap, and returns the revisions b then holds. snap is what b holds now.
// Every record whose revision differs from snap's, or that is new, has its
// entries removed from b and, unless withdrawn, its current state added;
// a record gone from the store is removed. These changes follow the
// build's payloads in Meilisearch's queue, and Swap waits for them. Only
// the IDs and revisions of the library are read again, a page at a time,
// and the text of the few records that changed.
func (s *Service) reconcile(ctx context.Context, b IndexBuild, snap snapshot) (snapshot, error) {
	changed := func(d Document) bool {
		rev, ok := snap[d.ID]
		return !ok || rev != d.Revision
	}
	next := make(snapshot, len(snap))
	for after := ""; ; {
		page, err := s.readPage(ctx, after, changed)
		if err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
		var ids []string
		for _, r := range page {
			next[r.ID] = r.Revision
			if changed(r.Document) {
				ids = append(ids, r.ID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		if err := b.Remove(ctx, ids); err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
		for _, r := range page {
			if r.Withdrawn || !changed(r.Document) {
				continue
			}
			if err := b.Add(ctx, r.Document, r.passages); err != nil {
				return nil, fmt.Errorf("reconcile: add %s: %w", r.ID, err)
			}
		}
	}
	var gone []string
	for id := range snap {
		if _, ok := next[id]; !ok {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		if err := b.Remove(ctx, gone); err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
	}
	return next, nil
}

// reindexLease is how long the record of a reindex (see openReindex)
// lasts: well beyond what reconcile, the swap and settle take on a large
// library. A run still recorded after that is taken for dead.
const reindexLease = time.Hour

// reindexClockSlack is how much earlier than its start a reindex's record
// takes changes to count, against a step of the clock: the server and the
// reindex share the database, and so the host and its clock, but the
// clock may be set back.
const reindexClockSlack = time.Minute

// openReindex records in the store that a reindex is about to reconcile
// and swap its index in, and returns the record's run ID. Until
// closeReindex removes it, which Reindex does only once settle has
// finished (or if the swap was never asked for), the changes made since
// may be marked indexed at revisions the live index does not hold; if the
// run dies, Resume marks them for the index again (recoverReindexes).
func (s *Service) openReindex(ctx context.Context) (string, error) {
	run, err := newID()
	if err != nil {
		return "", err
	}
	now := s.now()
	r := Reindex{Run: run, Since: now.Add(-reindexClockSlack), Expires: now.Add(reindexLease)}
	err = s.st.Update(ctx, func(tx Tx) error { return tx.OpenReindex(ctx, r) })
	if err != nil {
		return "", fmt.Errorf("record the run: %w", err)
	}
	return run, nil
}

// closeReindex removes the record of run, even when ctx has ended: a
// record left behind costs pushes of the records changed meanwhile once it
// expires, nothing worse.
func (s *Service) closeReindex(ctx context.Context, run string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.IndexTimeout)
	defer cancel()
	if err := s.st.Update(cctx, func(tx Tx) error { return tx.CloseReindex(cctx, run) }); err != nil {
		s.log.WarnContext(ctx, "research: reindex: record of the run not removed", "run", run, "err", err)
	}
}

// recoverReindexes finishes for each reindex that died between openReindex
// and the end of settle what its settle did not do: every record changed
// since the run began is marked pending (or deleting) again, for Resume to
// push. That is more records than the run may have left wrong, but they
// are few (those changed within the run's last hour or so), and pushing a
// record again is harmless.
func (s *Service) recoverReindexes(ctx context.Context) error {
	now := s.now()
	var dead []Reindex
	err := s.st.View(ctx, func(tx Tx) error {
		var err error
		dead, err = tx.ExpiredReindexes(ctx, now)
		return err
	})
	if err != nil || len(dead) == 0 {
		return err
	}
	return s.st.Update(ctx, func(tx Tx) error {
		for _, r := range dead {
			n, err := tx.MarkChangedForIndex(ctx, r.Since)
			if err != nil {
				return err
			}
			if err := tx.CloseReindex(ctx, r.Run); err != nil {
				return err
			}
			s.log.WarnContext(ctx, "research: a reindex stopped after its swap; records changed meanwhile marked for the index",
				"run", r.Run, "since", r.Since, "records", n)
		}
		return nil
	})
}

// settle runs once the new index is live. Each record still at the
// revision the build holds (snap, as reconcile left it) is marked indexed
// (or deleted, if withdrawn): the new index holds exactly that revision.
// Every other record (changed, created or withdrawn since reconcile read
// it) is marked pending (or deleting) again and pushed, with force.
//
// Why this is enough: Meilisearch processes tasks one at a time in the
// order they were enqueued. The push of a change made after reconcile read
// the record went to the index that was live when it was enqueued: before
// the swap task, the old index, which the swap discards; after it, the new
// one. settle reads the store only once the swap is confirmed, so every
// change that may have been discarded shows a revision other than the one
// the build holds, and settle's push of it lands in the new index, after
// the discarded one. A change committed after settle's read is pushed by
// whoever made it, after the swap, into the new index; and SetIndexState,
// which checks the revision, refuses the state settle would record for the
// older one. Marking changed records pending again undoes the confirmation
// their own push may have had from the discarded index. reconcile makes
// these records few: only those changed in the moment between its read and
// the swap, which is also the only time a record narrowed or withdrawn can
// be live as it was before.
//
// A run killed after the swap and before settle has marked such a record
// leaves it confirmed at a revision the live index does not hold, and
// nothing would push it again. The record of the run that openReindex
// wrote before reconcile's read covers this: it is removed only once
// settle has finished, and when it expires, Resume marks every record
// changed since it was written pending again (recoverReindexes). Records
// at the revision the build holds need nothing after such a kill: a state
// recorded before the run is as true of the new index as of the old one,
// and an unconfirmed one stays for Resume.
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
