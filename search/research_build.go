package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/meilisearch/meilisearch-go"
)

// maxBuildPayload bounds one payload of a research rebuild. The bound is on
// bytes, not documents, because a record's passages range from a line to a
// book: memory and request size stay predictable whatever the library
// holds. A few large payloads index about as fast as one (Meilisearch
// takes the additions waiting in its queue for one index as one batch),
// and 24 MiB is well under its default payload limit of 100 MB
// (--http-payload-size-limit).
const maxBuildPayload = 24 << 20

// ResearchBuild is a new research index being loaded beside the live one,
// which stays as it is, answering searches and taking single pushes, until
// Swap. Documents go out in large NDJSON payloads, each sent as soon as it
// is full without waiting for Meilisearch to index it: Meilisearch
// processes the tasks in the order they were sent. A ResearchBuild is not
// safe for concurrent use.
type ResearchBuild struct {
	ix        *Indexer
	spec      IndexSpec
	idx       buildIndex
	limit     int
	confirmed func(docs int)

	buf     bytes.Buffer  // NDJSON not sent yet
	line    bytes.Buffer  // one record, encoded
	enc     *json.Encoder // into line
	bufDocs int           // documents whose last record is in buf
	sent    []sentBatch   // sent and not yet confirmed, oldest first
	done    int           // documents confirmed
}

// sentBatch is a task Meilisearch has accepted: a payload, or a removal.
type sentBatch struct {
	task int64
	docs int // documents whose last record it carries; 0 for a removal
}

// BeginResearchBuild creates an empty build index, research_build_<random>,
// with the research settings of indexes.json: each run loads its own, so
// that two runs at once do not mix. Builds that killed runs left behind
// are dropped first (see staleBuildAge). confirmed, if not nil, is called
// with the number of documents Meilisearch has indexed in the build so
// far, each time it grows.
func (ix *Indexer) BeginResearchBuild(ctx context.Context, confirmed func(docs int)) (*ResearchBuild, error) {
	specs, err := Specs()
	if err != nil {
		return nil, err
	}
	spec := specs[IndexResearch]
	idx, err := ix.prepareBuild(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", IndexResearch, err)
	}
	if confirmed == nil {
		confirmed = func(int) {}
	}
	b := &ResearchBuild{ix: ix, spec: spec, idx: idx, limit: maxBuildPayload, confirmed: confirmed}
	b.enc = json.NewEncoder(&b.line)
	b.enc.SetEscapeHTML(false)
	return b, nil
}

// Add adds a document's records to the build, sending a payload whenever
// one is full. It does not wait for Meilisearch to index them; when it
// sends, it also checks the payloads sent before, and returns the error of
// one that has failed.
func (b *ResearchBuild) Add(ctx context.Context, d ResearchDoc, passages []ResearchPassage) error {
	for _, rec := range ResearchRecords(d, passages) {
		b.line.Reset()
		if err := b.enc.Encode(rec); err != nil {
			return fmt.Errorf("encode %s: %w", rec.ID, err)
		}
		if b.buf.Len() > 0 && b.buf.Len()+b.line.Len() > b.limit {
			if err := b.send(ctx); err != nil {
				return err
			}
			if err := b.poll(ctx); err != nil {
				return err
			}
		}
		b.buf.Write(b.line.Bytes())
	}
	b.bufDocs++
	return nil
}

// UID is the name of the build's index.
func (b *ResearchBuild) UID() string { return b.idx.uid }

// removeBatch is how many documents one filter of Remove names: the
// filter stays a few kilobytes.
const removeBatch = 100

// Remove removes every record of the given documents from the build. The
// deletions are queued after everything added before, and before
// everything added after: Meilisearch applies an index's tasks in order, so
// a document removed and then added again ends up with the records of the
// Add. Like Add, it does not wait for them.
func (b *ResearchBuild) Remove(ctx context.Context, docIDs []string) error {
	if err := b.send(ctx); err != nil {
		return err
	}
	for start := 0; start < len(docIDs); start += removeBatch {
		ids, err := OneOf("doc_id", docIDs[start:min(start+removeBatch, len(docIDs))])
		if err != nil {
			return fmt.Errorf("index %s: remove: %w", b.idx.uid, err)
		}
		f, err := And(ids)
		if err != nil {
			return fmt.Errorf("index %s: remove: %w", b.idx.uid, err)
		}
		info, err := b.ix.client.Index(b.idx.uid).DeleteDocumentsByFilter(ctx, f, nil)
		if err != nil {
			return fmt.Errorf("index %s: %w", b.idx.uid, classify(err, "remove documents"))
		}
		b.sent = append(b.sent, sentBatch{task: info.TaskUID})
	}
	return nil
}

// Wait sends what is left and waits until Meilisearch has applied every
// payload and removal sent, each of which must have succeeded.
func (b *ResearchBuild) Wait(ctx context.Context) error {
	if err := b.send(ctx); err != nil {
		return err
	}
	for len(b.sent) > 0 {
		if err := b.ix.wait(ctx, &meilisearch.TaskInfo{TaskUID: b.sent[0].task}, nil, "update the build"); err != nil {
			return fmt.Errorf("index %s: %w", b.idx.uid, err)
		}
		b.confirm()
	}
	return nil
}

// Swap waits as Wait does and then swaps the build in for the live
// research index in one step. On error the live index is as it was, unless
// the error came while waiting for the swap itself, which Meilisearch may
// still apply.
func (b *ResearchBuild) Swap(ctx context.Context) error {
	if err := b.Wait(ctx); err != nil {
		return err
	}
	if err := b.ix.swapIn(ctx, b.spec, b.idx); err != nil {
		return fmt.Errorf("index %s: %w", IndexResearch, err)
	}
	return nil
}

// Close drops the build's index: after Swap, the index it replaced; before,
// an unfinished build. The live index is not touched either way.
func (b *ResearchBuild) Close(ctx context.Context) error {
	if err := b.ix.dropIfExists(ctx, b.idx.uid); err != nil {
		return fmt.Errorf("index %s: %w", b.idx.uid, err)
	}
	return nil
}

// send hands what is buffered to Meilisearch as one payload.
func (b *ResearchBuild) send(ctx context.Context) error {
	if b.buf.Len() == 0 {
		return nil
	}
	info, err := b.ix.client.Index(b.idx.uid).AddDocumentsNdjson(ctx, b.buf.Bytes(), &meilisearch.DocumentOptions{PrimaryKey: &b.spec.PrimaryKey})
	if err != nil {
		return fmt.Errorf("index %s: %w", b.idx.uid, classify(err, "add passages"))
	}
	b.sent = append(b.sent, sentBatch{task: info.TaskUID, docs: b.bufDocs})
	b.buf.Reset()
	b.bufDocs = 0
	return nil
}

// poll confirms the payloads Meilisearch has finished, without waiting for
// the others: progress then shows while the rest is read and sent, and a
// failed payload stops the build at once.
func (b *ResearchBuild) poll(ctx context.Context) error {
	for len(b.sent) > 0 {
		task, err := b.ix.client.GetTask(ctx, b.sent[0].task)
		if err != nil {
			return fmt.Errorf("index %s: %w", b.idx.uid, classify(err, "check the build's tasks"))
		}
		if task.Status == meilisearch.TaskStatusEnqueued || task.Status == meilisearch.TaskStatusProcessing {
			return nil
		}
		if err := taskErr(task, "update the build"); err != nil {
			return fmt.Errorf("index %s: %w", b.idx.uid, err)
		}
		b.confirm()
	}
	return nil
}

// confirm records that the oldest task has been applied.
func (b *ResearchBuild) confirm() {
	docs := b.sent[0].docs
	b.sent = b.sent[1:]
	if docs > 0 { // a removal adds nothing to report
		b.done += docs
		b.confirmed(b.done)
	}
}
