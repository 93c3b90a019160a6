package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"portal/search"
	"portal/search/meilitest"
)

// Meili is the harness's own Meilisearch with the portal's keys.
type Meili struct {
	*meilitest.Instance
	SearchKey    string
	SearchKeyUID string
	IndexingKey  string
	AdminKey     string
	Version      string
	http         *http.Client
}

// NewHTTPClient returns the client both sides of every load use: no
// compression (asking Meilisearch for gzip costs ~44 ms a search, measured
// on this machine), conns connections kept alive.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			DisableCompression:  true,
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// StartMeili runs a fresh Meilisearch with its data in dir and provisions
// the portal's search and admin keys, as `portal meili keys` does.
func StartMeili(ctx context.Context, dir string) (*Meili, error) {
	inst, err := meilitest.Run(dir)
	if err != nil {
		return nil, err
	}
	m := &Meili{Instance: inst, http: NewHTTPClient(8)}
	master := search.NewClient(inst.URL, inst.MasterKey)
	now := time.Now()
	if m.SearchKey, err = search.ProvisionKey(ctx, master, search.SearchKey(), now); err != nil {
		m.Stop()
		return nil, err
	}
	m.SearchKeyUID = search.SearchKey().UID
	if m.IndexingKey, err = search.ProvisionKey(ctx, master, search.IndexingKey(), now); err != nil {
		m.Stop()
		return nil, err
	}
	if m.AdminKey, err = search.ProvisionKey(ctx, master, search.AdminKey(), now); err != nil {
		m.Stop()
		return nil, err
	}
	var v struct {
		PkgVersion string `json:"pkgVersion"`
	}
	if err := m.do(ctx, http.MethodGet, "/version", m.AdminKey, "", nil, &v); err == nil {
		m.Version = v.PkgVersion
	}
	return m, nil
}

// Stop ends Meilisearch.
func (m *Meili) Stop() {
	if m != nil && m.Process != nil {
		_ = m.Process.Stop()
	}
}

// Admin returns a client holding the portal's index-management key.
func (m *Meili) Admin() meilisearch.ServiceManager { return search.NewClient(m.URL, m.AdminKey) }

// do sends one request to Meilisearch and decodes a JSON answer into out.
func (m *Meili) do(ctx context.Context, method, path, key, contentType string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.URL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

type taskInfo struct {
	TaskUID int64  `json:"taskUid"`
	UID     int64  `json:"uid"`
	Status  string `json:"status"`
	Error   *struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

// waitTask polls a task every 10 ms until it ends and fails on a failed
// task (WaitForTask itself does not).
func (m *Meili) waitTask(ctx context.Context, uid int64) error {
	for {
		var t taskInfo
		if err := m.do(ctx, http.MethodGet, fmt.Sprintf("/tasks/%d", uid), m.AdminKey, "", nil, &t); err != nil {
			return err
		}
		switch t.Status {
		case "succeeded":
			return nil
		case "failed", "canceled":
			msg := ""
			if t.Error != nil {
				msg = t.Error.Code + ": " + t.Error.Message
			}
			return fmt.Errorf("task %d %s: %s", uid, t.Status, msg)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// RecreateIndex deletes index uid if it exists and creates it empty with
// the settings the portal gives the research index (synonyms included).
func (m *Meili) RecreateIndex(ctx context.Context, uid string) error {
	var t taskInfo
	if err := m.do(ctx, http.MethodDelete, "/indexes/"+uid, m.AdminKey, "", nil, &t); err == nil {
		_ = m.waitTask(ctx, t.TaskUID) // a missing index is a failed task: fine
	} else if !strings.Contains(err.Error(), "404") {
		return err
	}
	specs, err := search.Specs()
	if err != nil {
		return err
	}
	spec := specs[search.IndexResearch]
	body, _ := json.Marshal(map[string]string{"uid": uid, "primaryKey": spec.PrimaryKey})
	if err := m.do(ctx, http.MethodPost, "/indexes", m.AdminKey, "application/json", body, &t); err != nil {
		return err
	}
	if err := m.waitTask(ctx, t.TaskUID); err != nil {
		return err
	}
	settings, err := json.Marshal(spec.Settings)
	if err != nil {
		return err
	}
	if err := m.do(ctx, http.MethodPatch, "/indexes/"+uid+"/settings", m.AdminKey, "application/json", settings, &t); err != nil {
		return err
	}
	return m.waitTask(ctx, t.TaskUID)
}

// DeleteIndex removes index uid.
func (m *Meili) DeleteIndex(ctx context.Context, uid string) error {
	var t taskInfo
	if err := m.do(ctx, http.MethodDelete, "/indexes/"+uid, m.AdminKey, "", nil, &t); err != nil {
		return err
	}
	return m.waitTask(ctx, t.TaskUID)
}

// maxPayload keeps each NDJSON upload under Meilisearch's default 100 MB
// payload limit.
const maxPayload = 64 << 20

// BulkNDJSON uploads NDJSON documents to index uid in as few payloads as
// the size limit allows, waits for every task, and returns the wall time
// from the first byte sent to the last task's success.
func (m *Meili) BulkNDJSON(ctx context.Context, uid string, ndjson []byte) (time.Duration, error) {
	start := time.Now()
	var tasks []int64
	for len(ndjson) > 0 {
		n := len(ndjson)
		if n > maxPayload {
			n = bytes.LastIndexByte(ndjson[:maxPayload], '\n') + 1
		}
		var t taskInfo
		if err := m.do(ctx, http.MethodPost, "/indexes/"+uid+"/documents?primaryKey=id", m.AdminKey, "application/x-ndjson", ndjson[:n], &t); err != nil {
			return 0, err
		}
		tasks = append(tasks, t.TaskUID)
		ndjson = ndjson[n:]
	}
	for _, t := range tasks {
		if err := m.waitTask(ctx, t); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// DocumentCount returns the number of documents in index uid.
func (m *Meili) DocumentCount(ctx context.Context, uid string) (int, error) {
	var st struct {
		NumberOfDocuments int `json:"numberOfDocuments"`
	}
	err := m.do(ctx, http.MethodGet, "/indexes/"+uid+"/stats", m.AdminKey, "", nil, &st)
	return st.NumberOfDocuments, err
}

// TenantToken mints a tenant token with the rules the portal gives a
// member (the search package's tokens do the same: one filter for every index), signed
// with the search key.
func (m *Meili) TenantToken(filter string, lifetime time.Duration) (string, error) {
	rules := map[string]any{}
	for _, idx := range []string{search.IndexResearch, search.IndexPages, search.IndexTraining} {
		rules[idx] = map[string]any{"filter": filter}
	}
	c := meilisearch.New(m.URL, meilisearch.WithAPIKey(m.SearchKey))
	return c.GenerateTenantToken(m.SearchKeyUID, rules, &meilisearch.TenantTokenOptions{APIKey: m.SearchKey, ExpiresAt: time.Now().Add(lifetime)})
}
