package search_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"portal/search"
	"portal/search/meilitest"
)

// Each key the portal provisions passes the check against its own spec and
// fails it against a narrower one, naming the rights it holds beyond it;
// the serving key cannot delete an index, and the probes change nothing.
func TestCheckKeyAgainstRealMeilisearch(t *testing.T) {
	m := meilitest.Start(t)
	ctx := t.Context()
	master := search.NewClient(m.URL, m.MasterKey)
	keys := map[string]string{}
	specs := []search.KeySpec{search.SearchKey(), search.IndexingKey(), search.AdminKey()}
	for _, spec := range specs {
		k, err := search.ProvisionKey(ctx, master, spec, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keys[spec.Name] = k
	}
	admin := search.NewIndexer(search.NewClient(m.URL, keys[search.AdminKey().Name]), nil)
	if err := admin.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	// A key scoped to the research index alone, with index management on
	// it beside the indexing rights: the probes on the index serve feeds
	// find what the probes on other indexes cannot.
	scoped := search.IndexingKey()
	scoped.UID, scoped.Name = "0d4b8e52-3c1f-4b7a-9a55-6f0b7c2d9e99", "scoped-manager"
	scoped.Actions = append(scoped.Actions, "indexes.create", "indexes.update", "indexes.swap", "settings.update")
	k, err := search.ProvisionKey(ctx, master, scoped, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys[scoped.Name] = k
	// A key that reaches the research index through a pattern and may
	// delete indexes: the pattern probe finds it without deleting any.
	patterned := search.IndexingKey()
	patterned.UID, patterned.Name = "0d4b8e52-3c1f-4b7a-9a55-6f0b7c2d9e98", "patterned-deleter"
	patterned.Actions = append(patterned.Actions, "indexes.delete")
	patterned.Indexes = []string{search.IndexResearch + "*"}
	if keys[patterned.Name], err = search.ProvisionKey(ctx, master, patterned, time.Now()); err != nil {
		t.Fatal(err)
	}
	tasksBefore, err := master.GetTasks(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}

	for _, spec := range specs {
		if err := search.CheckKey(ctx, m.URL, keys[spec.Name], spec); err != nil {
			t.Errorf("%s against its own spec: %v", spec.Name, err)
		}
	}
	for _, c := range []struct {
		key  string
		spec search.KeySpec
		want []string // rights the error must name
	}{
		{keys[search.AdminKey().Name], search.IndexingKey(), []string{"indexes.delete", "indexes.swap", "indexes.create", "documents.get on research", "settings.update"}},
		{m.MasterKey, search.IndexingKey(), []string{"keys.get", "keys.create", "indexes.delete", "search on research"}},
		{keys[search.IndexingKey().Name], search.SearchKey(), []string{"documents.add on research", "documents.delete on research", "tasks.get"}},
		{keys[search.SearchKey().Name], search.IndexingKey(), []string{"search on research", "version"}},
		{keys[scoped.Name], search.IndexingKey(), []string{"indexes.create on research", "indexes.update on research", "indexes.swap on research", "settings.update on research"}},
		{keys[patterned.Name], search.IndexingKey(), []string{"indexes.delete on research (through an index pattern)"}},
		{keys[search.AdminKey().Name], search.SearchKey(), []string{"indexes.delete on research (through an index pattern)", "indexes.delete on pages (through an index pattern)"}},
	} {
		err := search.CheckKey(ctx, m.URL, c.key, c.spec)
		if !errors.Is(err, search.ErrKeyRights) {
			t.Errorf("check against %s = %v, want ErrKeyRights", c.spec.Name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("check against %s: %v\ndoes not name %q", c.spec.Name, err, w)
			}
		}
	}

	// The probes left no task behind: nothing was enqueued, so nothing
	// was changed.
	tasksAfter, err := master.GetTasks(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tasksAfter.Total != tasksBefore.Total {
		t.Errorf("tasks: %d before the checks, %d after", tasksBefore.Total, tasksAfter.Total)
	}

	// The serving key may not drop an index; the research index is still there.
	for _, name := range []string{search.IndexingKey().Name, search.SearchKey().Name, scoped.Name} {
		_, err := search.NewClient(m.URL, keys[name]).DeleteIndex(ctx, search.IndexResearch)
		if err == nil || !strings.Contains(err.Error(), "invalid_api_key") {
			t.Errorf("%s deleting the research index: %v, want invalid_api_key", name, err)
		}
	}
	if _, err := master.GetIndex(ctx, search.IndexResearch); err != nil {
		t.Errorf("research index after the attempts: %v", err)
	}
}
