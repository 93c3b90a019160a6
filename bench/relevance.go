package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// RelevanceResult is the judged set's evaluation (package relevance), as
// its test writes it.
type RelevanceResult struct {
	Queries int                `json:"queries"`
	NDCG    float64            `json:"ndcg10"`
	Success float64            `json:"success3"`
	ByLang  map[string]float64 `json:"ndcg10_by_lang"`
	Misses  []string           `json:"misses"`
}

// Relevance runs the judged relevance set through its own test, which
// starts its own portal and Meilisearch over the public site and the fixed
// synthetic library: the evaluation `make test` checks against its floors,
// run again here so that the report shows ranking beside speed from the
// same code.
func Relevance(ctx context.Context, root, work string) (*RelevanceResult, []byte, error) {
	out := filepath.Join(work, "relevance.json")
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^TestJudgedRelevance$", "./relevance")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PORTAL_RELEVANCE_REPORT="+out)
	log, err := cmd.CombinedOutput()
	if err != nil {
		return nil, log, fmt.Errorf("judged relevance set: %w", err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return nil, log, fmt.Errorf("judged relevance set: %w", err)
	}
	var r RelevanceResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, log, fmt.Errorf("judged relevance set: %w", err)
	}
	return &r, log, nil
}
