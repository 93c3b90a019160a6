package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"portal/language"
)

// Quiz is the schema of a module's quiz.yaml, as the quiz layout
// (site/layouts/training/training-quiz.html) reads it:
//
//	passMark: 80                  # percent needed to pass, 0–100
//	questions:
//	  - id: reporting             # unique in the quiz: a-z, 0-9, -
//	    type: single              # single (radio buttons) | multiple (checkboxes)
//	    prompt: "…"               # Markdown
//	    options:                  # two or more
//	      - id: a                 # unique in the question: a-z, 0-9, -
//	        text: "…"             # Markdown
//	    answers: [a]              # ids of the correct options; one for single
//	    explanation: "…"          # Markdown, shown after answering
//	    topic: law                # optional: the pool topic (a-z, 0-9, -)
//	pick: 5                       # optional (graded quizzes): questions per attempt,
//	                              # or per topic: {law: 2, police: 3}
type Quiz struct {
	PassMark  int        `yaml:"passMark"`
	Questions []Question `yaml:"questions"`
}

// Question is one question of a quiz.
type Question struct {
	ID          string   `yaml:"id"`
	Type        string   `yaml:"type"`
	Prompt      string   `yaml:"prompt"`
	Options     []Option `yaml:"options"`
	Answers     []string `yaml:"answers"`
	Explanation string   `yaml:"explanation"`
}

// Option is one possible answer.
type Option struct {
	ID   string `yaml:"id"`
	Text string `yaml:"text"`
}

// Question types.
const (
	Single   = "single"
	Multiple = "multiple"
)

// mapping returns the key → value nodes of a YAML mapping.
func mapping(n *yaml.Node) map[string]field {
	out := map[string]field{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = field{n.Content[i], n.Content[i+1]}
	}
	return out
}

// lintQuiz checks quiz.yaml; url is the quiz page's, for relative links.
func (l *linter) lintQuiz(file, tree, lang, url string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	// Links in prompts, options and explanations are checked as if they were
	// on the quiz page.
	p := &page{file: file, tree: tree, lang: lang, url: url}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		line, msg := yamlErrorLine(err)
		l.problem(file, line, "%s", msg)
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		l.problem(file, 1, "quiz.yaml must be a mapping with passMark and questions")
		return nil
	}
	root := doc.Content[0]
	top := mapping(root)

	if f, ok := top["passMark"]; !ok {
		l.problem(file, root.Line, "missing required field passMark (percent needed to pass, 0–100)")
	} else if n, err := strconv.Atoi(f.value.Value); err != nil || n < 0 || n > 100 {
		l.problem(file, f.value.Line, "passMark must be a whole number from 0 to 100")
	}
	qs, ok := top["questions"]
	if !ok {
		l.problem(file, root.Line, "missing required field questions")
		return nil
	}
	if qs.value.Kind != yaml.SequenceNode || len(qs.value.Content) == 0 {
		l.problem(file, qs.value.Line, "questions must be a non-empty list")
		return nil
	}
	seenQ := map[string]int{}
	topics := map[string]int{} // topic → questions
	var untopical []int        // lines of questions without a topic
	var ids []string
	for i, qn := range qs.value.Content {
		label := fmt.Sprintf("question %d", i+1)
		if qn.Kind != yaml.MappingNode {
			l.problem(file, qn.Line, "%s must be a mapping (id, type, prompt, options, answers, explanation)", label)
			continue
		}
		q := mapping(qn)
		str := func(key string) (string, int, bool) {
			f, ok := q[key]
			if !ok {
				l.problem(file, qn.Line, "%s: missing required field %s", label, key)
				return "", qn.Line, false
			}
			if f.value.Kind != yaml.ScalarNode || strings.TrimSpace(f.value.Value) == "" {
				l.problem(file, f.value.Line, "%s: %s must be non-empty text", label, key)
				return "", f.value.Line, false
			}
			return f.value.Value, f.value.Line, true
		}
		if id, line, ok := str("id"); ok {
			label = fmt.Sprintf("question %q", id)
			if !idPattern.MatchString(id) {
				l.problem(file, line, "%s: ids are lower-case letters, digits and hyphens", label)
			}
			if first, dup := seenQ[id]; dup {
				l.problem(file, line, "%s: duplicate question id (also on line %d)", label, first)
			}
			seenQ[id] = line
			ids = append(ids, id)
		}
		if f, ok := q["topic"]; ok {
			if f.value.Kind != yaml.ScalarNode || !idPattern.MatchString(f.value.Value) {
				l.problem(file, f.value.Line, "%s: topic must be lower-case letters, digits and hyphens", label)
			} else {
				topics[f.value.Value]++
			}
		} else {
			untopical = append(untopical, qn.Line)
		}
		typ, typeLine, typeOK := str("type")
		if typeOK && typ != Single && typ != Multiple {
			l.problem(file, typeLine, "%s: type %q: use single or multiple", label, typ)
			typeOK = false
		}
		if v, line, ok := str("prompt"); ok {
			l.checkText(p, v, line)
		}
		if v, line, ok := str("explanation"); ok {
			l.checkText(p, v, line)
		}

		options := map[string]bool{}
		var optionIDs []string
		if f, ok := q["options"]; !ok {
			l.problem(file, qn.Line, "%s: missing required field options", label)
		} else if f.value.Kind != yaml.SequenceNode || len(f.value.Content) < 2 {
			l.problem(file, f.value.Line, "%s: options must be a list of at least two options", label)
		} else {
			for _, on := range f.value.Content {
				o := mapping(on)
				idf, hasID := o["id"]
				tf, hasText := o["text"]
				if on.Kind != yaml.MappingNode || !hasID || !hasText {
					l.problem(file, on.Line, "%s: each option needs an id and a text", label)
					continue
				}
				if !idPattern.MatchString(idf.value.Value) {
					l.problem(file, idf.value.Line, "%s: option id %q: ids are lower-case letters, digits and hyphens", label, idf.value.Value)
				}
				if options[idf.value.Value] {
					l.problem(file, idf.value.Line, "%s: duplicate option id %q", label, idf.value.Value)
				}
				options[idf.value.Value] = true
				optionIDs = append(optionIDs, idf.value.Value)
				if strings.TrimSpace(tf.value.Value) == "" {
					l.problem(file, tf.value.Line, "%s: option %q has no text", label, idf.value.Value)
				} else {
					l.checkText(p, tf.value.Value, tf.value.Line)
				}
			}
		}

		f, ok := q["answers"]
		switch {
		case !ok:
			l.problem(file, qn.Line, "%s: missing required field answers (the ids of the correct options)", label)
		case f.value.Kind != yaml.SequenceNode || len(f.value.Content) == 0:
			l.problem(file, f.value.Line, "%s: answers must be a non-empty list of option ids, e.g. [a]", label)
		default:
			seen := map[string]bool{}
			for _, an := range f.value.Content {
				if !slices.Contains(optionIDs, an.Value) {
					l.problem(file, an.Line, "%s: answer %q names no option (options: %s)", label, an.Value, strings.Join(optionIDs, ", "))
				}
				if seen[an.Value] {
					l.problem(file, an.Line, "%s: answer %q is listed twice", label, an.Value)
				}
				seen[an.Value] = true
			}
			if typeOK && typ == Single && len(f.value.Content) != 1 {
				l.problem(file, f.value.Line, "%s: a single-choice question has exactly one answer (%d given); use type: multiple", label, len(f.value.Content))
			}
		}
	}
	if f, ok := top["pick"]; ok {
		l.lintPick(file, f, len(qs.value.Content), topics, untopical)
	}
	module := filepath.Base(filepath.Dir(file))
	l.quizzes = append(l.quizzes, quizIDs{tree: tree, module: module, lang: lang, file: file, ids: ids})
	return nil
}

// lintPick checks a pool: enough questions for each attempt, per topic
// when the pick is per topic, and no question that would never be asked.
func (l *linter) lintPick(file string, f field, questions int, topics map[string]int, untopical []int) {
	switch f.value.Kind {
	case yaml.ScalarNode:
		n, err := strconv.Atoi(f.value.Value)
		if err != nil || n < 1 {
			l.problem(file, f.value.Line, "pick must be a whole number of at least 1, or topics with numbers ({law: 2})")
		} else if n > questions {
			l.problem(file, f.value.Line, "pick %d: the quiz has only %d questions", n, questions)
		}
	case yaml.MappingNode:
		picked := map[string]bool{}
		for topic, tf := range mapping(f.value) {
			picked[topic] = true
			n, err := strconv.Atoi(tf.value.Value)
			switch {
			case err != nil || n < 1:
				l.problem(file, tf.value.Line, "pick: topic %q needs a whole number of at least 1", topic)
			case topics[topic] < n:
				l.problem(file, tf.value.Line, "pick: topic %q asks %d questions but has %d", topic, n, topics[topic])
			}
		}
		for topic := range topics {
			if !picked[topic] {
				l.problem(file, f.value.Line, "pick: topic %q has questions but pick asks none of them", topic)
			}
		}
		for _, line := range untopical {
			l.problem(file, line, "question without a topic: pick draws per topic, so it would never be asked")
		}
	default:
		l.problem(file, f.value.Line, "pick must be a number or topics with numbers ({law: 2})")
	}
}

// quizIDs are the question ids of one language's quiz.yaml.
type quizIDs struct {
	tree, module, lang, file string
	ids                      []string
}

// compareQuizzes: every translation of a quiz has the source language's
// questions, no more and no fewer (a pool drawn in one language must be
// drawable in all).
func (l *linter) compareQuizzes() {
	src := map[string]quizIDs{}
	for _, q := range l.quizzes {
		if q.lang == language.Source {
			src[q.tree+"/"+q.module] = q
		}
	}
	for _, q := range l.quizzes {
		s, ok := src[q.tree+"/"+q.module]
		if !ok || q.lang == language.Source {
			continue
		}
		for _, id := range s.ids {
			if !slices.Contains(q.ids, id) {
				l.problem(q.file, 0, "question %q of %s is not translated", id, l.rel(s.file))
			}
		}
		for _, id := range q.ids {
			if !slices.Contains(s.ids, id) {
				l.problem(q.file, 0, "question %q is not in %s", id, l.rel(s.file))
			}
		}
	}
}
