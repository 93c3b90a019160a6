package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"portal/access"
	"portal/account"
	"portal/extract/gen"
	"portal/research"
)

// demoResearchCount is how many synthetic records the demo library holds by
// default: enough for facets, paging and permissions to be tried at once.
const demoResearchCount = 320

// seedResearch loads the demo library: synthetic records spread over every
// topic, type, language, access group and TLP label, with generated PDF,
// DOCX, Markdown and text files. Every text says it is synthetic.
func seedResearch(ctx context.Context, svc *research.Service, uploader *account.User, count int, progress io.Writer) error {
	topics, err := research.Topics()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	types := research.Types()
	groups := [][]string{{"members"}, {"victim-identification"}, {"access-blocking"}, {"members", "trainers"},
		{"victim-identification", "access-blocking"}, {"trainers"}}
	labels := access.Labels()
	langs := []string{"en", "en", "en", "fr", "es", "ar"}
	regions := research.Regions()
	countries := []string{"FR", "ES", "DE", "GB", "US", "CA", "AU", "PH", "TH", "KH", "VN", "LA", "BR", "MX", "ZA", "KE", "NG", "MA", "EG", "AE", "JO", "IN", "JP", "NO", "SE", "NL", "IT", "PL"}
	type job struct {
		name string
		meta research.Metadata
		file []byte
	}
	jobs := make(chan job)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	var done atomic.Int64
	// A few uploads at once: Meilisearch batches the tasks they enqueue.
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if _, err := svc.Upload(ctx, uploader, j.meta, j.name, bytes.NewReader(j.file), account.Client{IP: "127.0.0.1", UserAgent: "portal seed demo"}); err != nil {
					select {
					case errs <- fmt.Errorf("upload %s: %w", j.name, err):
					default:
					}
					continue
				}
				if n := int(done.Add(1)); n%40 == 0 || n == count {
					fmt.Fprintf(progress, "research library: %d/%d synthetic records\n", n, count)
				}
			}
		}()
	}
	defer func() { close(jobs); wg.Wait() }()
	for i := range count {
		topic := topics[i%len(topics)]
		typ := types[i%len(types)]
		lang := langs[rng.IntN(len(langs))]
		g := groups[i%len(groups)]
		tlp := labels[(i/len(groups))%len(labels)]
		if tlp == access.Red && len(g) == 1 && g[0] == "members" {
			g = []string{"victim-identification"} // TLP:RED must name its groups
		}
		region := regions[rng.IntN(len(regions))]
		ctry := []string{countries[rng.IntN(len(countries))], countries[rng.IntN(len(countries))]}
		label := topic.Labels[lang]
		if label == "" {
			label = topic.Labels["en"]
		}
		title := fmt.Sprintf("%s: %s (synthetic sample %03d)", strings.ReplaceAll(string(typ), "-", " "), label, i+1)
		title = strings.ToUpper(title[:1]) + title[1:]
		meta := research.Metadata{
			Title: title, Authors: []string{fmt.Sprintf("Synthetic Author %d", rng.IntN(40)+1)},
			Organisation: demoOrganisations[rng.IntN(len(demoOrganisations))],
			Abstract:     demoAbstract(rng, label, lang), Year: 2009 + rng.IntN(17), Language: lang, Type: typ,
			Topics:    []string{topic.ID, topics[rng.IntN(len(topics))].ID},
			Countries: ctry, Regions: []string{region}, AccessGroups: g, TLP: tlp,
		}
		pages := make([]string, 2+rng.IntN(4))
		for p := range pages {
			pages[p] = demoPage(rng, label, p+1)
		}
		var file []byte
		var name string
		switch i % 4 {
		case 0:
			file, err = gen.PDF(title, pages)
			name = fmt.Sprintf("synthetic-%03d.pdf", i+1)
		case 1:
			file, err = gen.DOCX(title, pages)
			name = fmt.Sprintf("synthetic-%03d.docx", i+1)
		case 2:
			file = []byte("# " + title + "\n\n" + strings.Join(pages, "\n\n## Section\n\n") + "\n")
			name = fmt.Sprintf("synthetic-%03d.md", i+1)
		default:
			file = []byte(title + "\n\n" + strings.Join(pages, "\n\n") + "\n")
			name = fmt.Sprintf("synthetic-%03d.txt", i+1)
		}
		if err != nil {
			return fmt.Errorf("generate %s: %w", name, err)
		}
		select {
		case jobs <- job{name, meta, file}:
		case err := <-errs:
			return err
		}
	}
	close(jobs)
	wg.Wait()
	jobs = make(chan job) // for the deferred close
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

var demoOrganisations = []string{
	"Synthetic Research Institute", "Example National Police (synthetic)", "Demo Child Protection NGO",
	"Fictional University Centre for Online Safety", "Sample Regional Cooperation Office",
}

// demoAbstract writes 100–300 words of sober, synthetic text about the
// organisation of the work, never about abuse itself.
func demoAbstract(rng *rand.Rand, topic, lang string) string {
	intro := map[string]string{
		"en": "This is a synthetic record created for demonstration and testing; it describes no real case or person.",
		"fr": "Ceci est une notice synthétique créée pour la démonstration et les tests ; elle ne décrit aucun cas ni aucune personne réels.",
		"es": "Este es un registro sintético creado para demostración y pruebas; no describe ningún caso ni persona reales.",
		"ar": "هذا سجل اصطناعي أُنشئ لأغراض العرض والاختبار، ولا يصف أي حالة أو شخص حقيقي.",
	}[lang]
	var b strings.Builder
	b.WriteString(intro)
	n := 8 + rng.IntN(12)
	for range n {
		b.WriteString(" ")
		b.WriteString(fmt.Sprintf(demoSentences[rng.IntN(len(demoSentences))], topic))
	}
	return b.String()
}

func demoPage(rng *rand.Rand, topic string, page int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Synthetic sample text, page %d. ", page)
	for range 12 + rng.IntN(14) {
		b.WriteString(fmt.Sprintf(demoSentences[rng.IntN(len(demoSentences))], topic))
		b.WriteString(" ")
	}
	return b.String()
}

var demoSentences = []string{
	"The study reviews how agencies coordinate their work on %s across borders.",
	"It summarises the procedures that national central bureaus follow when a request concerns %s.",
	"Interviews with practitioners describe the training needs linked to %s.",
	"The report compares legal frameworks and the time needed to exchange information on %s.",
	"Recommendations focus on secure communication channels, case prioritisation and staff welfare.",
	"The authors note that victim identification depends on timely and well-documented referrals.",
	"Data were aggregated and anonymised; no personal information is included.",
	"The briefing lists points of contact and the steps to request international assistance.",
	"A section discusses how access service providers handle blocking lists and complaints.",
	"The annex outlines indicators for monitoring progress over three years.",
	"Participants stressed the value of shared terminology and of the specialist group's annual meeting.",
	"Further work is proposed on prevention in travel and tourism and on reporting mechanisms.",
}
