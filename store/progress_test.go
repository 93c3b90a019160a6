package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/training"
)

func TestProgressRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		for _, id := range []string{"u1", "u2"} {
			if err := insertUser(ctx, db, id); err != nil {
				t.Fatal(err)
			}
		}
		p := db.Progress()
		at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		err := p.Update(ctx, func(tx training.Tx) error {
			for range 2 { // marking twice is marking once
				if err := tx.MarkLesson(ctx, "u1", "m", "01-a", at); err != nil {
					return err
				}
			}
			if err := tx.MarkLesson(ctx, "u1", "m", "02-b", at); err != nil {
				return err
			}
			if err := tx.MarkLesson(ctx, "u2", "other", "01-a", at); err != nil {
				return err
			}
			for _, a := range []training.Attempt{
				{UserID: "u1", Module: "m", Lang: "en", Score: 50, At: at, Results: []training.QuestionResult{{ID: "q1", Correct: true}, {ID: "q2"}}},
				{UserID: "u1", Module: "m", Lang: "en", Score: 100, Passed: true, At: at, Results: []training.QuestionResult{{ID: "q1", Correct: true}, {ID: "q2", Correct: true}}},
				{UserID: "u2", Module: "m", Lang: "fr", Score: 0, At: at, Results: []training.QuestionResult{{ID: "q1"}, {ID: "q2"}}},
			} {
				if err := tx.InsertAttempt(ctx, &a); err != nil {
					return err
				}
			}
			return tx.InsertCompletion(ctx, &training.Completion{ID: strings.Repeat("c", 32), UserID: "u1", Module: "m",
				ModuleTitle: "Module", Lang: "en", CodeHash: strings.Repeat("h", 64), BestScore: 100, IssuedAt: at})
		})
		if err != nil {
			t.Fatal(err)
		}
		err = p.View(ctx, func(tx training.Tx) error {
			done, err := tx.LessonsDone(ctx, "u1", "m")
			if err != nil || !slices.Equal(done, []string{"01-a", "02-b"}) {
				t.Errorf("LessonsDone = %v, %v", done, err)
			}
			best, n, err := tx.BestScore(ctx, "u1", "m")
			if err != nil || best != 100 || n != 2 {
				t.Errorf("BestScore = %d, %d, %v", best, n, err)
			}
			if best, n, err := tx.BestScore(ctx, "u2", "none"); err != nil || best != 0 || n != 0 {
				t.Errorf("BestScore without attempts = %d, %d, %v", best, n, err)
			}
			c, err := tx.CompletionByCode(ctx, strings.Repeat("h", 64))
			if err != nil || c.UserID != "u1" || c.LearnerName != "u1" || !c.IssuedAt.Equal(at) || c.ModuleTitle != "Module" {
				t.Errorf("CompletionByCode = %+v, %v", c, err)
			}
			if _, err := tx.CompletionByCode(ctx, strings.Repeat("0", 64)); !errors.Is(err, training.ErrNotFound) {
				t.Errorf("unknown code: %v", err)
			}
			if _, err := tx.Completion(ctx, "u2", "m"); !errors.Is(err, training.ErrNotFound) {
				t.Errorf("no completion: %v", err)
			}
			if n, err := tx.Started(ctx, "m"); err != nil || n != 2 {
				t.Errorf("Started = %d, %v", n, err)
			}
			if n, err := tx.Attempts(ctx, "m"); err != nil || n != 3 {
				t.Errorf("Attempts = %d, %v", n, err)
			}
			scores, err := tx.BestScores(ctx, "m")
			slices.Sort(scores)
			if err != nil || !slices.Equal(scores, []int{0, 100}) {
				t.Errorf("BestScores = %v, %v", scores, err)
			}
			tallies, err := tx.QuestionTallies(ctx, "m")
			want := []training.QuestionTally{{Question: "q1", Answered: 3, Missed: 1}, {Question: "q2", Answered: 3, Missed: 2}}
			if err != nil || !slices.Equal(tallies, want) {
				t.Errorf("QuestionTallies = %+v, %v", tallies, err)
			}
			cs, err := tx.Completions(ctx, "m")
			if err != nil || len(cs) != 1 || cs[0].BestScore != 100 {
				t.Errorf("Completions = %+v, %v", cs, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// One completion per learner and module; completions never change.
		err = p.Update(ctx, func(tx training.Tx) error {
			return tx.InsertCompletion(ctx, &training.Completion{ID: strings.Repeat("d", 32), UserID: "u1", Module: "m",
				ModuleTitle: "Module", Lang: "en", CodeHash: strings.Repeat("e", 64), BestScore: 100, IssuedAt: at})
		})
		if err == nil {
			t.Error("a second completion of the same module was stored")
		}
		if _, err := db.writer.ExecContext(ctx, `UPDATE training_completions SET user_id = 'u2'`); err == nil {
			t.Error("a completion was changed")
		}
	})
}
