package bench

import "strings"

// Word lists of the synthetic corpus. The domain terms are those of the
// group's work (the portal's topics, synonyms and public pages); the rest
// is ordinary prose vocabulary, so that term frequencies look like real
// reports: a few very common words, a long tail of rare ones.

var englishDomain = strings.Fields(`
child children victim victims identification exploitation abuse material online offender offenders
investigation investigations investigator investigators police policing cooperation international
database image images video videos analysis analyst analysts forensic forensics digital evidence
grooming sextortion extortion livestreaming streaming trafficking travelling traveller tourism
access blocking domain domains provider providers hotline hotlines report reports reporting referral
referrals notice notices yellow green specialist group secretariat bureau national central liaison
interpol icse csam csem ncb vgt circamp inhope unodc europol taskforce partnership partnerships
legislation legal law laws prosecution prosecutor prosecutors court courts sentence sentencing
prevention awareness education training curriculum module modules trainer trainers workshop workshops
capacity building guideline guidelines procedure procedures protocol protocols standard standards
platform platforms industry company companies moderation detection hashing hash hashes classifier
encryption anonymisation darknet network networks forum forums messaging application applications
cryptocurrency payment payments financial transaction transactions undercover operation operations
jurisdiction jurisdictions extradition mutual assistance request requests warrant warrants seizure
device devices phone phones computer computers storage cloud metadata geolocation timestamp
survivor survivors support safeguarding welfare wellbeing counselling rehabilitation recovery
risk risks assessment assessments management supervision registration registry monitoring
emerging technology technologies artificial intelligence synthetic generated deepfake deepfakes
border borders travel airline airlines hotel hotels destination destinations region regions
country countries cross-border transnational regional global national local municipal
statistics data dataset datasets trend trends survey surveys study studies research findings
recommendation recommendations strategy strategies policy policies framework frameworks
coordination coordinator meeting meetings conference conferences briefing briefings
case cases casework caseload backlog triage prioritisation deconfliction intelligence
public private sector sectors ngo ngos civil society community communities school schools
parent parents carer carers teacher teachers adolescent adolescents minor minors age ages
vulnerable vulnerability vulnerabilities harm harms impact impacts outcome outcomes
`)

var englishCommon = strings.Fields(`
the of and to in a is that for on with as by are this be from or at which have was were has
an not their it its been these more also such other between within all can may should would
will than into most some they there both each through during under where when how what who
new first second third several many number level levels time times year years period periods
approach approaches process processes system systems service services work working role roles
practice practices response responses need needs use used using based including include
increase increased increasing reduce reduced reduction improve improved improvement improvements
effective effectiveness challenge challenges issue issues problem problems question questions
example examples evidence-based significant important key main major further current recent
available relevant specific general common particular different similar various limited
provide provided provides ensure ensures develop developed development identify identified
describe described show shown found suggest suggests indicate indicates consider considered
result results review reviewed evaluate evaluation examine examined explore explored
information knowledge understanding experience experiences professional professionals
organisation organisations agency agencies authority authorities institution institutions
area areas field fields context contexts environment environments factor factors element
resource resources tool tools method methods methodology sample participants interview interviews
support supported across among against without however therefore although while because
high low large small long short early late often rarely usually always never together
part parts form forms type types kind range order case-by-case access-related follow-up
`)

var frenchWords = strings.Fields(`
enfant enfants victime victimes identification exploitation sexuelle abus matériel en ligne
enquête enquêtes enquêteur police coopération internationale base de données image images
prévention sensibilisation formation signalement signalements plateforme plateformes
délinquant délinquants itinérants blocage accès domaine fournisseur protection mineurs
le la les des du un une et dans pour par sur avec est sont qui que au aux ces cette leur
rapport étude analyse recommandations stratégie politique cadre pays région régions
justice tribunal procédure poursuites législation loi lois preuve preuves numérique
`)

var spanishWords = strings.Fields(`
niño niños niña víctima víctimas identificación explotación sexual abuso material en línea
investigación investigaciones investigador policía cooperación internacional base de datos
prevención sensibilización formación denuncia denuncias plataforma plataformas delincuente
delincuentes itinerantes bloqueo acceso dominio proveedor protección menores el la los las
del un una y en para por con es son que al estos esta su informe estudio análisis
recomendaciones estrategia política marco país región regiones justicia tribunal
procedimiento enjuiciamiento legislación ley leyes prueba pruebas digital
`)

var arabicWords = strings.Fields(`
الأطفال طفل الضحايا ضحية تحديد هوية الاستغلال الجنسي الاعتداء مواد عبر الإنترنت التحقيق
الشرطة التعاون الدولي قاعدة بيانات الصور الوقاية التوعية التدريب الإبلاغ المنصات الجناة
المتنقلون حجب الوصول مزود الحماية القاصرين في من على إلى مع هذه التي الذي تقرير دراسة
تحليل توصيات استراتيجية سياسة إطار البلد المنطقة العدالة المحكمة الإجراءات التشريعات
القانون الأدلة الرقمية الابتزاز الاتجار السياحة الإنتربول المكتب المركزي الوطني
`)

var surnames = strings.Fields(`
Adeyemi Almeida Andersson Bakker Benali Bianchi Castillo Chen Dubois Eriksen Fernández Fischer
García Haddad Hansen Ibrahim Ivanova Jansen Kaur Kowalski Laurent Lindqvist Mahmoud Martin
Moreau Müller Nakamura Novak Okafor Olsen Petrov Rahman Rossi Santos Schmidt Silva Takahashi
Tanaka Van Dijk Wang Weber Yilmaz Zhang Ortiz Mensah Osei Nguyen Pereira Dimitrov Horvat
`)

var initials = strings.Fields(`A B C D E F G H J K L M N O P R S T V W Y`)

var organisations = []string{
	"Synthetic Institute for Child Protection Research (fictitious)",
	"Example National Central Bureau (synthetic)",
	"Fictional University Centre for Online Harm Studies",
	"Imaginary Hotline Network (synthetic data)",
	"Sample Ministry of Justice (fictitious)",
	"Placeholder Police Academy (synthetic)",
	"Test Foundation for Children (fictitious)",
	"Synthetic Regional Taskforce",
}

// typeWeights mirrors research.Types (kept in sync by the equivalence
// check: a type the portal refused would fail it).
var docTypes = []string{"study", "report", "briefing", "case-study", "training-material", "meeting-material", "guideline"}

var regions = []string{"africa", "americas", "asia-pacific", "europe", "middle-east-north-africa", "global"}

// accessGroups are the groups documents are shared with.
var accessGroups = []string{"members", "victim-identification", "access-blocking", "trainers"}

var tlpLabels = []string{"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"}

// tlpWeights: most material is GREEN or AMBER, little is RED.
var tlpWeights = []int{15, 35, 30, 12, 8}

// defaultTopics is used when research/topics.json cannot be read.
var defaultTopics = strings.Fields(`online-sexual-exploitation child-sexual-abuse-material victim-identification
access-blocking travelling-sex-offenders sextortion grooming live-streaming trafficking
international-cooperation industry-cooperation legislation prevention offender-management victim-support`)

var defaultCountries = strings.Fields(`FR DE ES GB US CA BR AR MX NG KE ZA EG MA JO AE IN TH PH ID JP KR AU NZ SE NO NL BE IT PL`)
