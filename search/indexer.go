package search

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/meilisearch/meilisearch-go"
)

// Indexer creates indexes, applies their settings and loads documents. It
// needs a key allowed to manage the indexes it touches (or the master key in
// development).
type Indexer struct {
	client   IndexAdmin
	progress io.Writer
	now      func() time.Time // to judge the age of build indexes
}

// IndexAdmin is the part of meilisearch-go's client the Indexer uses: the
// indexes, their documents and settings, and the tasks that change them.
// NewClient's client has it; keys, chats and webhooks are not the
// indexer's business.
type IndexAdmin interface {
	Index(uid string) meilisearch.IndexManager
	GetIndex(ctx context.Context, uid string) (*meilisearch.IndexResult, error)
	ListIndexes(ctx context.Context, param *meilisearch.IndexesQuery) (*meilisearch.IndexesResults, error)
	CreateIndex(ctx context.Context, config *meilisearch.IndexConfig) (*meilisearch.TaskInfo, error)
	DeleteIndex(ctx context.Context, uid string) (*meilisearch.TaskInfo, error)
	SwapIndexes(ctx context.Context, param []*meilisearch.SwapIndexesParams) (*meilisearch.TaskInfo, error)
	GetTask(ctx context.Context, taskUID int64) (*meilisearch.Task, error)
	WaitForTask(ctx context.Context, taskUID int64, interval time.Duration) (*meilisearch.Task, error)
}

// NewIndexer returns an indexer that reports progress to w (nil for none).
func NewIndexer(client IndexAdmin, w io.Writer) *Indexer {
	if w == nil {
		w = io.Discard
	}
	return &Indexer{client: client, progress: w, now: time.Now}
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
	b, err := ix.prepareBuild(ctx, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(ix.progress, "%s: loading %s\n", spec.UID, b.uid)
	// Dropped whatever happens: after the swap it holds the replaced
	// index, before it an unfinished build that no later run would reuse.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
		defer cancel()
		if err := ix.dropIfExists(cctx, b.uid); err != nil {
			fmt.Fprintf(ix.progress, "%s: %s not dropped: %v\n", spec.UID, b.uid, err)
		}
	}()
	for start := 0; start < len(docs); start += batchSize {
		end := min(start+batchSize, len(docs))
		info, err := ix.client.Index(b.uid).AddDocuments(ctx, docs[start:end], &meilisearch.DocumentOptions{PrimaryKey: &spec.PrimaryKey})
		if err := ix.wait(ctx, info, err, "add documents"); err != nil {
			return err
		}
		fmt.Fprintf(ix.progress, "%s: %d/%d documents\n", spec.UID, end, len(docs))
	}
	if err := ix.swapIn(ctx, spec, b); err != nil {
		return err
	}
	fmt.Fprintf(ix.progress, "%s: %d documents live\n", spec.UID, len(docs))
	return nil
}

// dropTimeout bounds the drop of a build index once its run has ended,
// when the run's own context may be gone.
const dropTimeout = 30 * time.Second

// staleBuildAge is the age after which a build index is taken for the
// leftover of a killed run and dropped by the next rebuild of its index.
// Younger ones may belong to a run still going on beside this one, and are
// left alone: each run loads its own.
const staleBuildAge = 6 * time.Hour

// buildIndex is the index one rebuild loads before swapping it in.
type buildIndex struct {
	uid     string
	created time.Time // as Meilisearch recorded it, to notice a drop
}

// buildPrefix starts the name of every build index of uid. Names that
// start with it are reserved for builds: a rebuild drops old ones.
func buildPrefix(uid string) string { return uid + "_build" }

// isBuildOf reports whether index name is a build of uid: the fixed
// name earlier versions used, or a run's own.
func isBuildOf(name, uid string) bool {
	p := buildPrefix(uid)
	return name == p || strings.HasPrefix(name, p+"_")
}

// prepareBuild creates a new index for one rebuild of spec, empty and with
// spec's settings, under a name of its own, so that two runs at once each
// load their own index. It first drops the builds of spec that killed runs
// left behind (see staleBuildAge). The live index is not touched.
func (ix *Indexer) prepareBuild(ctx context.Context, spec IndexSpec) (buildIndex, error) {
	if err := ix.dropStaleBuilds(ctx, spec.UID); err != nil {
		return buildIndex{}, err
	}
	// Random rather than a timestamp: two runs started in the same
	// instant must not share an index.
	uid := buildPrefix(spec.UID) + "_" + strings.ToLower(rand.Text())
	if err := ix.ensure(ctx, IndexSpec{UID: uid, PrimaryKey: spec.PrimaryKey, Settings: spec.Settings}); err != nil {
		return buildIndex{}, err
	}
	got, err := ix.client.GetIndex(ctx, uid)
	if err != nil {
		return buildIndex{}, classify(err, "get index")
	}
	return buildIndex{uid: uid, created: got.CreatedAt}, nil
}

// dropStaleBuilds drops the build indexes of uid created more than
// staleBuildAge ago.
func (ix *Indexer) dropStaleBuilds(ctx context.Context, uid string) error {
	const pageSize = 100
	cutoff := ix.now().Add(-staleBuildAge)
	var stale []string
	for offset := int64(0); ; offset += pageSize {
		res, err := ix.client.ListIndexes(ctx, &meilisearch.IndexesQuery{Offset: offset, Limit: pageSize})
		if err != nil {
			return classify(err, "list indexes")
		}
		for _, r := range res.Results {
			if isBuildOf(r.UID, uid) && r.CreatedAt.Before(cutoff) {
				stale = append(stale, r.UID)
			}
		}
		if len(res.Results) < pageSize {
			break
		}
	}
	for _, name := range stale {
		fmt.Fprintf(ix.progress, "%s: dropping %s, left by an earlier run\n", uid, name)
		if err := ix.dropIfExists(ctx, name); err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
	}
	return nil
}

// swapIn makes the loaded build b the live index spec.UID in one step and
// waits for it: searches see the old index or the new one, never a mix.
// Afterwards b holds the replaced index, for the caller to drop.
func (ix *Indexer) swapIn(ctx context.Context, spec IndexSpec, b buildIndex) error {
	// A build dropped meanwhile (by a run that took it for stale) would
	// have been created again, empty and without settings, by the next
	// payload sent to it: such an index must never go live.
	got, err := ix.client.GetIndex(ctx, b.uid)
	if err != nil {
		return classify(err, "get index "+b.uid)
	}
	if !got.CreatedAt.Equal(b.created) {
		return fmt.Errorf("build index %s was dropped and created again during the build", b.uid)
	}
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
	info, err := ix.client.SwapIndexes(ctx, []*meilisearch.SwapIndexesParams{{Indexes: []string{spec.UID, b.uid}}})
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
