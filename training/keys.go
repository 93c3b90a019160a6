package training

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"
)

// A graded quiz's answer key and explanations never pass through Hugo's
// output (site/layouts/_partials/training/module.html drops them): the
// portal reads them here, from the module's quiz.yaml files in the content
// tree, each time the catalogue is read.

// quizKeyFile is the part of a quiz.yaml the portal marks with.
type quizKeyFile struct {
	Questions []struct {
		ID          string   `yaml:"id"`
		Answers     []string `yaml:"answers"`
		Explanation string   `yaml:"explanation"`
	} `yaml:"questions"`
}

// quizFile is where a module's quiz.yaml is in one language.
func quizFile(contentDir string, m *Module, lang string) string {
	if m.Restricted {
		return filepath.Join(contentDir, "members", lang, "training", m.ID, "quiz.yaml")
	}
	return filepath.Join(contentDir, lang, "training", m.ID, "quiz.yaml")
}

// loadKeys fills in the answer keys and explanations of the graded
// modules. A module whose key cannot be read, or does not fit the
// questions the build published, keeps keyErr and cannot be marked; the
// others are not held back by it.
func loadKeys(contentDir string, modules map[string]*Module, log *slog.Logger) {
	for _, m := range modules {
		if !m.Quiz.Graded {
			continue
		}
		if err := m.loadKey(contentDir); err != nil {
			m.keyErr = err
			log.Error("training: a graded quiz's answer key cannot be read; the quiz cannot be marked",
				"module", m.ID, "error", err)
		}
	}
}

func (m *Module) loadKey(contentDir string) error {
	m.explanations = map[string]map[string]string{}
	for i, lang := range m.Langs {
		b, err := os.ReadFile(quizFile(contentDir, m, lang))
		if err != nil {
			if i > 0 && errors.Is(err, os.ErrNotExist) {
				continue // a translation without its own file explains in the canonical language
			}
			return fmt.Errorf("answer key: %w", err)
		}
		var f quizKeyFile
		if err := yaml.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("answer key %s: %w", quizFile(contentDir, m, lang), err)
		}
		ex := map[string]string{}
		for _, k := range f.Questions {
			ex[k.ID] = k.Explanation
			if i > 0 {
				continue // the key is the canonical language's
			}
			q := m.question(k.ID)
			if q == nil {
				return fmt.Errorf("answer key names question %q, which the build does not publish", k.ID)
			}
			if len(k.Answers) == 0 || (q.Type == "single" && len(k.Answers) != 1) {
				return fmt.Errorf("question %q: bad answer key", k.ID)
			}
			for _, a := range k.Answers {
				if !slices.Contains(q.Options, a) {
					return fmt.Errorf("question %q: answer %q is not an option", k.ID, a)
				}
			}
			q.Answers = slices.Clone(k.Answers)
		}
		m.explanations[lang] = ex
	}
	for _, q := range m.Questions {
		if len(q.Answers) == 0 {
			return fmt.Errorf("question %q has no answer key", q.ID)
		}
	}
	return nil
}
