package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/meilisearch/meilisearch-go"
)

// Indexer creates indexes, applies their settings and loads documents. It
// needs a key allowed to manage the indexes it touches (or the master key in
// development).
type Indexer struct {
	client   meilisearch.ServiceManager
	progress io.Writer
}

// NewIndexer returns an indexer that reports progress to w (nil for none).
func NewIndexer(client meilisearch.ServiceManager, w io.Writer) *Indexer {
	if w == nil {
		w = io.Discard
	}
	return &Indexer{client: client, progress: w}
}

// IndexSite replaces the contents of the pages and training indexes with the
// given feed pages. Each index is rebuilt beside the live one and swapped in,
// so searches never see a half-loaded index, and a run killed half-way leaves
// the live index as it was; the next run converges.
func (ix *Indexer) IndexSite(ctx context.Context, pages []Page) error {
	specs, err := Specs()
	if err != nil {
		return err
	}
	byIndex := map[string][]Page{IndexPages: nil, IndexTraining: nil}
	for _, p := range pages {
		uid := IndexPages
		if p.Kind == KindTraining {
			uid = IndexTraining
		}
		byIndex[uid] = append(byIndex[uid], p)
	}
	for _, uid := range []string{IndexPages, IndexTraining} {
		if err := ix.rebuild(ctx, specs[uid], byIndex[uid]); err != nil {
			return fmt.Errorf("index %s: %w", uid, err)
		}
	}
	return nil
}

// batchSize keeps each document payload well under Meilisearch's default
// 100 MB limit for the page sizes the site produces.
const batchSize = 500

func (ix *Indexer) rebuild(ctx context.Context, spec IndexSpec, docs []Page) error {
	fmt.Fprintf(ix.progress, "%s: preparing %s\n", spec.UID, buildName(spec.UID))
	tmp, err := ix.prepareBuild(ctx, spec)
	if err != nil {
		return err
	}
	for start := 0; start < len(docs); start += batchSize {
		end := min(start+batchSize, len(docs))
		info, err := ix.client.Index(tmp).AddDocuments(ctx, docs[start:end], &meilisearch.DocumentOptions{PrimaryKey: &spec.PrimaryKey})
		if err := ix.wait(ctx, info, err, "add documents"); err != nil {
			return err
		}
		fmt.Fprintf(ix.progress, "%s: %d/%d documents\n", spec.UID, end, len(docs))
	}
	if err := ix.swapIn(ctx, spec, tmp); err != nil {
		return err
	}
	if err := ix.dropIfExists(ctx, tmp); err != nil {
		return err
	}
	fmt.Fprintf(ix.progress, "%s: %d documents live\n", spec.UID, len(docs))
	return nil
}

// buildName is the index a rebuild of uid is loaded into.
func buildName(uid string) string { return uid + "_build" }

// prepareBuild creates the index a rebuild of spec is loaded into, empty and
// with spec's settings, after dropping whatever a killed run left there. It
// returns the build index's name. The live index is not touched.
func (ix *Indexer) prepareBuild(ctx context.Context, spec IndexSpec) (string, error) {
	tmp := buildName(spec.UID)
	if err := ix.dropIfExists(ctx, tmp); err != nil {
		return "", err
	}
	return tmp, ix.ensure(ctx, IndexSpec{UID: tmp, PrimaryKey: spec.PrimaryKey, Settings: spec.Settings})
}

// swapIn makes the loaded build tmp the live index spec.UID in one step and
// waits for it: searches see the old index or the new one, never a mix.
// Afterwards tmp holds the replaced index, for the caller to drop.
func (ix *Indexer) swapIn(ctx context.Context, spec IndexSpec, tmp string) error {
	// The live index must exist to be swapped with; a new one gets the
	// settings so that both sides are alike should the swap fail. An
	// existing one is left as it is: it is about to be replaced, and new
	// settings could make Meilisearch re-index it for nothing.
	exists, err := ix.exists(ctx, spec.UID)
	if err != nil {
		return err
	}
	if !exists {
		if err := ix.ensure(ctx, spec); err != nil {
			return err
		}
	}
	info, err := ix.client.SwapIndexes(ctx, []*meilisearch.SwapIndexesParams{{Indexes: []string{spec.UID, tmp}}})
	return ix.wait(ctx, info, err, "swap indexes")
}

// EnsureIndexes creates every index the portal uses, if missing, and applies
// its settings. Running it again changes nothing.
func (ix *Indexer) EnsureIndexes(ctx context.Context) error {
	specs, err := Specs()
	if err != nil {
		return err
	}
	for _, uid := range []string{IndexPages, IndexTraining, IndexResearch} {
		if err := ix.ensure(ctx, specs[uid]); err != nil {
			return fmt.Errorf("index %s: %w", uid, err)
		}
	}
	return nil
}

func (ix *Indexer) ensure(ctx context.Context, spec IndexSpec) error {
	exists, err := ix.exists(ctx, spec.UID)
	if err != nil {
		return err
	}
	if !exists {
		info, err := ix.client.CreateIndex(ctx, &meilisearch.IndexConfig{Uid: spec.UID, PrimaryKey: spec.PrimaryKey})
		if err := ix.wait(ctx, info, err, "create index"); err != nil {
			return err
		}
	}
	settings := spec.Settings
	info, err := ix.client.Index(spec.UID).UpdateSettings(ctx, &settings)
	return ix.wait(ctx, info, err, "update settings")
}

// exists reports whether index uid exists.
func (ix *Indexer) exists(ctx context.Context, uid string) (bool, error) {
	if _, err := ix.client.GetIndex(ctx, uid); err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, classify(err, "get index")
	}
	return true, nil
}

func (ix *Indexer) dropIfExists(ctx context.Context, uid string) error {
	info, err := ix.client.DeleteIndex(ctx, uid)
	if err != nil {
		return classify(err, "delete index")
	}
	// Deleting a missing index is a failed task with index_not_found: fine.
	task, err := ix.client.WaitForTask(ctx, info.TaskUID, 20*time.Millisecond)
	if err != nil {
		return classify(err, "wait for delete")
	}
	if task.Status == meilisearch.TaskStatusFailed && task.Error.Code == meilisearch.APIErrCodeIndexNotFound {
		return nil
	}
	return taskErr(task, "delete index")
}

// wait waits for an enqueued task and turns a failed task into an error:
// WaitForTask itself returns normally when the task failed.
func (ix *Indexer) wait(ctx context.Context, info *meilisearch.TaskInfo, err error, doing string) error {
	if err != nil {
		return classify(err, doing)
	}
	task, err := ix.client.WaitForTask(ctx, info.TaskUID, 20*time.Millisecond)
	if err != nil {
		return classify(err, "wait for "+doing)
	}
	return taskErr(task, doing)
}

func taskErr(task *meilisearch.Task, doing string) error {
	if task.Status != meilisearch.TaskStatusSucceeded {
		return fmt.Errorf("%s: task %d %s: %s (%s)", doing, task.UID, task.Status, task.Error.Message, task.Error.Code)
	}
	return nil
}

func isNotFound(err error) bool {
	var me *meilisearch.Error
	return errors.As(err, &me) && me.StatusCode == 404
}
