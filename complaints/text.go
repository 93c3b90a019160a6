package complaints

import (
	"slices"
	"strings"
	"time"

	"portal/mail"
)

// The words the procedure shows and mails in the complainant's language:
// outcomes, reasons, the reviewers' message templates and the mails. The
// pages' own words are Hugo's (site/i18n); these are the ones the portal
// itself writes. French, Spanish and Arabic need a native speaker's check
// before publication (see the report of issue 17).

// reasons lists the reason codes of each outcome, in the order a reviewer
// is offered them.
var reasons = map[string][]string{
	Upheld:         {"material-removed", "new-owner", "listed-in-error"},
	Rejected:       {"criteria-still-met", "listing-not-shown-wrong"},
	NoLongerListed: {"already-removed"},
}

// Outcome lists the outcomes; Reasons the reason codes of one.
func OutcomeNames() []string { return []string{Upheld, Rejected, NoLongerListed} }

// Reasons returns the reason codes of an outcome.
func Reasons(outcome string) []string { return slices.Clone(reasons[outcome]) }

// ValidReason reports whether reason is one of outcome's.
func ValidReason(outcome, reason string) bool { return slices.Contains(reasons[outcome], reason) }

type words map[string]string // by language

var labels = map[string]words{
	Upheld: {"en": "Upheld: the domain will be removed from the list.",
		"fr": "Réclamation acceptée : le domaine sera retiré de la liste.",
		"es": "Reclamación aceptada: el dominio se retirará de la lista.",
		"ar": "قُبلت الشكوى: سيُحذف النطاق من القائمة."},
	Rejected: {"en": "Rejected: the domain stays on the list.",
		"fr": "Réclamation rejetée : le domaine reste sur la liste.",
		"es": "Reclamación rechazada: el dominio permanece en la lista.",
		"ar": "رُفضت الشكوى: يبقى النطاق في القائمة."},
	NoLongerListed: {"en": "The domain is no longer on the list.",
		"fr": "Le domaine ne figure plus sur la liste.",
		"es": "El dominio ya no figura en la lista.",
		"ar": "لم يعد النطاق مدرجًا في القائمة."},
	"material-removed": {"en": "The material that led to the listing is no longer on the domain.",
		"fr": "Le contenu qui a motivé l'inscription ne se trouve plus sur le domaine.",
		"es": "El contenido que motivó la inclusión ya no se encuentra en el dominio.",
		"ar": "لم يعد المحتوى الذي أدى إلى الإدراج موجودًا على النطاق."},
	"new-owner": {"en": "The domain has a new owner with no connection to the listing.",
		"fr": "Le domaine a un nouveau propriétaire sans lien avec l'inscription.",
		"es": "El dominio tiene un nuevo titular sin relación con la inclusión.",
		"ar": "للنطاق مالك جديد لا صلة له بالإدراج."},
	"listed-in-error": {"en": "The domain was listed in error.",
		"fr": "Le domaine a été inscrit par erreur.",
		"es": "El dominio se incluyó por error.",
		"ar": "أُدرج النطاق عن طريق الخطأ."},
	"criteria-still-met": {"en": "The domain still meets the criteria of the list.",
		"fr": "Le domaine remplit toujours les critères de la liste.",
		"es": "El dominio sigue cumpliendo los criterios de la lista.",
		"ar": "لا يزال النطاق مستوفيًا لمعايير القائمة."},
	"listing-not-shown-wrong": {"en": "The complaint does not show that the listing is wrong.",
		"fr": "La réclamation ne démontre pas que l'inscription est erronée.",
		"es": "La reclamación no demuestra que la inclusión sea errónea.",
		"ar": "لا تُثبت الشكوى أن الإدراج خاطئ."},
	"already-removed": {"en": "The domain had already been removed from the list.",
		"fr": "Le domaine avait déjà été retiré de la liste.",
		"es": "El dominio ya se había retirado de la lista.",
		"ar": "كان النطاق قد حُذف من القائمة من قبل."},
}

// Label returns the words for an outcome or reason code in lang.
func Label(code, lang string) string {
	w := labels[code]
	if t, ok := w[lang]; ok {
		return t
	}
	return w["en"]
}

var templates = map[string]words{
	"acknowledgement": {
		"en": "Your complaint has been received and is now under review.",
		"fr": "Votre réclamation a été reçue et est en cours d'examen.",
		"es": "Hemos recibido su reclamación y está en examen.",
		"ar": "تم استلام شكواك وهي الآن قيد المراجعة."},
	"request-information": {
		"en": "To review your complaint we need more information. Please answer with a message on your case's status page. Never send or link to any material.",
		"fr": "Pour examiner votre réclamation, nous avons besoin d'informations complémentaires. Veuillez répondre par un message sur la page de suivi de votre dossier. N'envoyez jamais aucun contenu et ne donnez jamais de lien vers un contenu.",
		"es": "Para examinar su reclamación necesitamos más información. Responda con un mensaje en la página de seguimiento de su caso. No envíe nunca ningún contenido ni enlaces a él.",
		"ar": "نحتاج إلى مزيد من المعلومات لمراجعة شكواك. يُرجى الرد برسالة في صفحة متابعة قضيتك. لا ترسل أي محتوى ولا روابط إليه أبدًا."},
	"progress": {
		"en": "Your complaint is still under review. We will write to you again when a decision has been made.",
		"fr": "Votre réclamation est toujours en cours d'examen. Nous vous écrirons de nouveau lorsqu'une décision aura été prise.",
		"es": "Su reclamación sigue en examen. Le escribiremos de nuevo cuando se haya tomado una decisión.",
		"ar": "لا تزال شكواك قيد المراجعة. سنكتب إليك مجددًا عند اتخاذ قرار."},
}

// TemplateNames lists the reviewers' message templates.
func TemplateNames() []string { return []string{"acknowledgement", "request-information", "progress"} }

func templateText(name, lang string) (string, bool) {
	w, ok := templates[name]
	if !ok {
		return "", false
	}
	if t, ok := w[lang]; ok {
		return t, true
	}
	return w["en"], true
}

// mailWords are the mails' sentences; {number}, {domain}, {link}, {date},
// {outcome}, {reason} are replaced.
var mailWords = map[string]words{
	"confirm-subject": {"en": "Confirm your complaint", "fr": "Confirmez votre réclamation",
		"es": "Confirme su reclamación", "ar": "أكّد شكواك"},
	"confirm-body": {
		"en": "A complaint about the domain {domain} was filed on the portal of INTERPOL's Specialist Group on Crimes Against Children with this e-mail address.\n\nTo open the case, follow this link:\n\n{link}\n\nThe link works once and expires on {date}. If you did not file this complaint, ignore this message: no case will be opened.\n",
		"fr": "Une réclamation concernant le domaine {domain} a été déposée avec cette adresse électronique sur le portail du Groupe de spécialistes d'INTERPOL sur les infractions contre les enfants.\n\nPour ouvrir le dossier, suivez ce lien :\n\n{link}\n\nLe lien ne fonctionne qu'une fois et expire le {date}. Si vous n'avez pas déposé cette réclamation, ignorez ce message : aucun dossier ne sera ouvert.\n",
		"es": "Se ha presentado con esta dirección de correo electrónico una reclamación sobre el dominio {domain} en el portal del Grupo de especialistas de INTERPOL sobre delitos contra niños.\n\nPara abrir el caso, siga este enlace:\n\n{link}\n\nEl enlace funciona una sola vez y caduca el {date}. Si usted no presentó esta reclamación, ignore este mensaje: no se abrirá ningún caso.\n",
		"ar": "قُدّمت شكوى بشأن النطاق {domain} على بوابة فريق الإنتربول المتخصص المعني بالجرائم ضد الأطفال باستخدام عنوان البريد الإلكتروني هذا.\n\nلفتح القضية، اتبع هذا الرابط:\n\n{link}\n\nيعمل الرابط مرة واحدة وتنتهي صلاحيته في {date}. إذا لم تقدّم هذه الشكوى، فتجاهل هذه الرسالة: لن تُفتح أي قضية.\n"},
	"opened-subject": {"en": "Your complaint {number} is open", "fr": "Votre réclamation {number} est ouverte",
		"es": "Su reclamación {number} está abierta", "ar": "شكواك {number} مفتوحة"},
	"opened-body": {
		"en": "Your complaint about the domain {domain} is open under the case number {number}.\n\nFollow it, and write to the reviewers while it is open, on your private status page:\n\n{link}\n\nKeep this link to yourself: whoever has it can read the case. Never send or link to any material.\n",
		"fr": "Votre réclamation concernant le domaine {domain} est ouverte sous le numéro de dossier {number}.\n\nSuivez-la, et écrivez aux examinateurs tant qu'elle est ouverte, sur votre page de suivi personnelle :\n\n{link}\n\nGardez ce lien pour vous : quiconque le détient peut lire le dossier. N'envoyez jamais aucun contenu et ne donnez jamais de lien vers un contenu.\n",
		"es": "Su reclamación sobre el dominio {domain} está abierta con el número de caso {number}.\n\nSígala, y escriba a los revisores mientras esté abierta, en su página de seguimiento privada:\n\n{link}\n\nNo comparta este enlace: quien lo tenga puede leer el caso. No envíe nunca ningún contenido ni enlaces a él.\n",
		"ar": "شكواك بشأن النطاق {domain} مفتوحة تحت رقم القضية {number}.\n\nتابعها، وراسل المراجعين ما دامت مفتوحة، عبر صفحة المتابعة الخاصة بك:\n\n{link}\n\nاحتفظ بهذا الرابط لنفسك: يستطيع كل من يملكه قراءة القضية. لا ترسل أي محتوى ولا روابط إليه أبدًا.\n"},
	"change-subject": {"en": "Your complaint {number} has changed", "fr": "Votre réclamation {number} a évolué",
		"es": "Su reclamación {number} ha cambiado", "ar": "طرأ تغيير على شكواك {number}"},
	"under-review": {"en": "Your case {number} is now under review.", "fr": "Votre dossier {number} est en cours d'examen.",
		"es": "Su caso {number} está ahora en examen.", "ar": "قضيتك {number} قيد المراجعة الآن."},
	"message": {"en": "There is a new message from the reviewers on your case {number}.",
		"fr": "Les examinateurs ont laissé un nouveau message dans votre dossier {number}.",
		"es": "Hay un nuevo mensaje de los revisores en su caso {number}.",
		"ar": "توجد رسالة جديدة من المراجعين في قضيتك {number}."},
	"decided": {"en": "A decision has been made on your case {number}:\n\n{outcome}\n{reason}\n\nThe case is now closed.",
		"fr": "Une décision a été prise sur votre dossier {number} :\n\n{outcome}\n{reason}\n\nLe dossier est désormais clos.",
		"es": "Se ha tomado una decisión sobre su caso {number}:\n\n{outcome}\n{reason}\n\nEl caso queda cerrado.",
		"ar": "اتُّخذ قرار بشأن قضيتك {number}:\n\n{outcome}\n{reason}\n\nأُغلقت القضية الآن."},
	"see-status": {
		"en": "Read it on your status page, with the link in the message that opened your case. Complaints: {link}\n",
		"fr": "Consultez-la sur votre page de suivi, avec le lien du message qui a ouvert votre dossier. Réclamations : {link}\n",
		"es": "Consúltela en su página de seguimiento, con el enlace del mensaje que abrió su caso. Reclamaciones: {link}\n",
		"ar": "اطّلع عليها في صفحة المتابعة الخاصة بك، عبر الرابط الوارد في الرسالة التي فُتحت بها قضيتك. الشكاوى: {link}\n"},
}

func say(key, lang string, vars map[string]string) string {
	w := mailWords[key]
	t, ok := w[lang]
	if !ok {
		t = w["en"]
	}
	for k, v := range vars {
		t = strings.ReplaceAll(t, "{"+k+"}", v)
	}
	return t
}

const dateFormat = "2006-01-02 15:04 UTC"

func confirmationMail(f Form, link string, expires time.Time) mail.Message {
	return mail.Message{To: f.Email, Subject: say("confirm-subject", f.Lang, nil),
		Text: say("confirm-body", f.Lang, map[string]string{"link": link, "date": expires.UTC().Format(dateFormat), "domain": f.Domain})}
}

func openedMail(c Case, link string) mail.Message {
	v := map[string]string{"number": c.Number, "domain": c.Domain, "link": link}
	return mail.Message{To: c.Email, Subject: say("opened-subject", c.Lang, v), Text: say("opened-body", c.Lang, v)}
}

// changeMail tells the complainant that the case changed; what key says.
func changeMail(c Case, hint, key string) mail.Message {
	v := map[string]string{"number": c.Number, "link": hint}
	return mail.Message{To: c.Email, Subject: say("change-subject", c.Lang, v),
		Text: say(key, c.Lang, v) + "\n\n" + say("see-status", c.Lang, v)}
}

func decisionMail(c Case, hint string) mail.Message {
	v := map[string]string{"number": c.Number, "link": hint, "outcome": Label(c.Outcome, c.Lang), "reason": Label(c.Reason, c.Lang)}
	text := say("decided", c.Lang, v)
	if c.DecisionText != "" {
		text += "\n\n" + c.DecisionText
	}
	return mail.Message{To: c.Email, Subject: say("change-subject", c.Lang, v), Text: text + "\n\n" + say("see-status", c.Lang, v)}
}
