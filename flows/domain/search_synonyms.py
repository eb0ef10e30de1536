"""The search's curated word lists (flows/domain/search_text.py): stop words, synonyms, what colloquial
and English words mean in the bot's pages, and a base vocabulary for splitting compound words.

Words are written as people write them (umlauts, capitals, gendered forms); the search folds and stems
them itself. Keep the lists small and about the bot's topics: every synonym is also a way to find the
wrong page.
"""
from __future__ import annotations

# Words that carry no meaning for the search (German after Snowball's list, colloquial forms, question
# words, and the commonest English words for questions asked in English).
STOP_WORDS_DE = """
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm andern
anders auch auf aus bei bin bis bist da damit dann der den des dem die das dass daß derselbe derselben
denselben desselben demselben dieselbe dieselben dasselbe dazu dein deine deinem deinen deiner deines denn
derer dessen dich dir du dies diese diesem diesen dieser dieses doch dort durch ein eine einem einen einer
eines einig einige einigem einigen einiger einiges einmal er ihn ihm es etwas euer eure eurem euren eurer
eures für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich mich mir ihr ihre ihrem ihren
ihrer ihres euch im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann
kein keine keinem keinen keiner keines können könnte machen man manche manchem manchen mancher manches
mein meine meinem meinen meiner meines mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr
sein seine seinem seinen seiner seines selbst sich sie ihnen sind so solche solchem solchen solcher
solches soll sollte sondern sonst über um und uns unsere unserem unseren unser unseres unter viel vom von
vor während war waren warst was weg weil weiter welche welchem welchen welcher welches wenn werde werden
wie wieder will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwischen
ne nen nem ner n son sone wat wieviel wieviele wievielen warum wann wer wen wem wessen woher wohin womit
bitte danke hallo hi hey moin servus mal halt eigentlich eigtl gibt gibts gibt's geht gehts gerne gern
gehen gehe macht mache machst mehr einfach möglich ja nein okay ok echt genau kannst könnt könnten darf dürfen muss müssen müsste sollen würdest hätte hätten
wäre wären man mans sowas irgendwie irgendwas bzw usw etc eher schon ganz gar denen dem deren beim
""".split()

STOP_WORDS_EN = """
a an the is are am be been being to of in on at for and or what whats how much many does do did can could
would should i im i'm you your me my we our us it its this that these those there with about from as by
when where which who whom why will get gets got have has had was were not no yes please hi hello thanks
any some if than then so into also just
""".split()

# Each group: words that stand for each other (a page may use any of them).
GROUPS: list[list[str]] = [
    ["Ausbildung", "Lehre", "Berufsausbildung", "Lehrstelle", "Ausbildungsplatz", "Ausbildungsstelle"],
    ["Azubi", "Auszubildende", "Auszubildender", "Lehrling", "Azubine"],
    ["Vergütung", "Ausbildungsvergütung", "Gehalt", "Lohn", "Geld", "Bezahlung", "Verdienst", "verdient",
     "verdienen"],
    ["Praktikum", "Schnupperpraktikum", "Schülerpraktikum", "Betriebspraktikum", "Ferienpraktikum", "Praktika"],
    ["Pflege", "Pflegefachfrau", "Pflegefachmann", "Pflegefachkraft", "Krankenpflege", "Altenpflege",
     "Krankenschwester", "Krankenpfleger", "Altenpfleger", "Pflegeausbildung"],
    ["Elektriker", "Elektroniker"],
    ["Klempner", "Installateur", "Anlagenmechaniker", "SHK", "Sanitär"],
    ["Hauswirtschaft", "Hauswirtschafter", "Haushalt"],
    ["Berufsschule", "Berufsschulunterricht", "Pflegeschule", "Blockunterricht"],
    ["Bewerbung", "bewerben", "Bewerbungsschreiben", "Lebenslauf", "Anschreiben"],
    ["Betrieb", "Firma", "Unternehmen", "Arbeitgeber", "Ausbildungsbetrieb", "Betriebe"],
    ["Messe", "Ausbildungsmesse", "Jobmesse", "Berufsmesse"],
    ["Veranstaltung", "Termin", "Event", "Termine", "Veranstaltungen"],
    ["Schulabschluss", "Abschluss", "Zeugnis"],
    ["Realschulabschluss", "Mittlere Reife", "mittlerer Schulabschluss", "MSA", "Realschule"],
    ["Hauptschulabschluss", "Hauptschule"],
    ["Abitur", "Abi", "Hochschulreife"],
    ["Fahrtkosten", "Fahrkarte", "Fahrgeld", "Fahrtkostenzuschuss", "Anfahrt", "pendeln", "Azubiticket", "Deutschlandticket",
     "Fahrweg", "Fahrwege"],
    ["Unterkunft", "Wohnheim", "Internat", "Azubiwohnheim"],
    ["Berufsausbildungsbeihilfe", "BAB", "Beihilfe", "Zuschuss"],
    ["Eltern", "Mutter", "Vater", "Mama", "Papa", "Erziehungsberechtigte"],
    ["Kind", "Sohn", "Tochter"],
    ["Urlaub", "Urlaubstage", "Ferien"],
    ["Arbeitszeit", "Arbeitsstunden", "Stunden", "Überstunden"],
    ["Berichtsheft", "Ausbildungsnachweis"],
    ["Prüfung", "Abschlussprüfung", "Gesellenprüfung", "Zwischenprüfung", "Examen"],
    ["Kammer", "IHK", "HWK", "Handwerkskammer"],
    ["Jugendarbeitsschutz", "Jugendarbeitsschutzgesetz", "minderjährig", "JArbSchG"],
    ["Ausbildungsvertrag", "Vertrag", "Lehrvertrag"],
    ["Cluster", "Ausbildungscluster"],
    ["krank", "Krankmeldung", "Krankschreibung", "Arbeitsunfähigkeit"],
    ["Kündigung", "kündigen", "Abbruch", "abbrechen", "Ausbildungsabbruch"],
    ["Teilzeit", "Teilzeitausbildung"],
    ["Mathe", "Mathematik"],
    ["Mechatroniker", "Mechatronik"],
    ["Maurer", "Mauern"],
    ["Dachdecker", "Dach", "Dächer"],
]

# One way: what a colloquial, inflected or English word means in the pages. The word itself is kept
# too, at a low weight (it may still be what a page says).
MEANS: dict[str, list[str]] = {
    # money
    "Kohle": ["Vergütung", "Geld", "verdient"], "Knete": ["Vergütung", "Geld"], "Kies": ["Vergütung"],
    "verdiene": ["Vergütung", "verdient"], "bezahlt": ["Vergütung", "Kosten"],
    "zahlen": ["Vergütung", "Kosten"], "zahlt": ["Vergütung", "Kosten"], "bezahlen": ["Vergütung", "Kosten"], "kriegt": ["Vergütung"], "kriege": ["Vergütung"],
    "bekommt": ["Vergütung"], "bekomme": ["Vergütung"], "brutto": ["Vergütung"], "netto": ["Vergütung"],
    "Euro": ["Vergütung"], "Mindestlohn": ["Mindestvergütung", "Vergütung"],
    # time
    "lang": ["Dauer", "Jahre"], "lange": ["Dauer", "Jahre"], "dauert": ["Dauer", "Jahre"],
    "Jahre": ["Dauer"], "Monate": ["Dauer"],
    # ordinals: "1. Lehrjahr" = "im ersten Ausbildungsjahr"
    "1": ["erste"], "2": ["zweite"], "3": ["dritte"], "4": ["vierte"],
    # giving up
    "Bock": ["Lust", "abbrechen", "Kündigung"], "aufhören": ["abbrechen", "Kündigung"],
    "hinschmeißen": ["abbrechen", "Kündigung"], "schmeißen": ["abbrechen"], "wechseln": ["abbrechen", "Wechsel"],
    # people and places
    "Chef": ["Betrieb"], "Schule": ["Berufsschule"],
    "Noten": ["Zeugnis", "Schulabschluss"], "Voraussetzung": ["Schulabschluss"],
    "Voraussetzungen": ["Schulabschluss"], "brauche": ["Schulabschluss", "Voraussetzung"],
    "Zugang": ["Voraussetzung", "Schulabschluss"],
    "Bus": ["Fahrtkosten"], "Zug": ["Fahrtkosten"], "Ticket": ["Fahrtkosten"], "Fahrt": ["Fahrtkosten"],
    "wohnen": ["Unterkunft"], "Wohnung": ["Unterkunft"], "Zimmer": ["Unterkunft"],
    "Lehrjahr": ["Ausbildungsjahr"], "Azubis": ["Auszubildende"],
    "Bau": ["Hochbau", "Tiefbau", "Baustelle"], "Handwerk": ["Handwerksbetrieb"],
    "Roboter": ["Mechatronik", "Automatisierungstechnik"], "Technik": ["Mechatronik", "Elektrotechnik"],
    "Heizung": ["Anlagenmechaniker", "SHK"], "Strom": ["Elektroniker"],
    "Altenheim": ["Pflegeheim", "Pflege"], "Krankenhaus": ["Pflege"], "Senioren": ["Pflege"],
    "kochen": ["Hauswirtschaft"], "Küche": ["Hauswirtschaft"],
    # English
    "pay": ["Vergütung", "verdient"], "paid": ["Vergütung"], "salary": ["Vergütung", "Gehalt"],
    "wage": ["Vergütung"], "earn": ["Vergütung", "verdient", "verdienen"], "money": ["Vergütung", "Geld"],
    "financial": ["Geld", "Beihilfe", "Zuschuss"], "help": ["Hilfe", "Beihilfe", "Unterstützung"],
    "support": ["Unterstützung", "Beihilfe"], "move": ["ausziehen", "Umzug"], "rent": ["Miete"],
    "allowance": ["Vergütung", "Beihilfe"], "minimum": ["Mindestvergütung"],
    "long": ["Dauer"], "duration": ["Dauer"], "years": ["Jahre", "Dauer"], "year": ["Jahr", "Ausbildungsjahr"],
    "first": ["erste"], "second": ["zweite"], "third": ["dritte"],
    "roofer": ["Dachdecker"], "roofing": ["Dachdecker"], "nurse": ["Pflegefachfrau", "Pflegefachmann", "Pflege"],
    "nursing": ["Pflege", "Pflegefachfrau"], "care": ["Pflege"], "carer": ["Pflege"], "caregiver": ["Pflege"],
    "electrician": ["Elektroniker"], "electronics": ["Elektroniker"], "mechatronics": ["Mechatroniker"],
    "bricklayer": ["Maurer"], "mason": ["Maurer"], "plumber": ["Anlagenmechaniker", "Sanitär"],
    "heating": ["Heizung", "Anlagenmechaniker"], "housekeeping": ["Hauswirtschaft"],
    "housekeeper": ["Hauswirtschafter"], "mechanic": ["Mechaniker", "Industriemechaniker"],
    "machine": ["Maschinen"], "operator": ["Anlagenführer"], "road": ["Straßenbau"], "construction": ["Bau"],
    "builder": ["Hochbaufacharbeiter", "Bau"], "coating": ["Oberflächenbeschichter"],
    "apprenticeship": ["Ausbildung"], "apprenticeships": ["Ausbildung"], "apprentice": ["Azubi", "Ausbildung"],
    "training": ["Ausbildung"], "trainee": ["Azubi"], "vocational": ["Berufsschule", "Ausbildung"],
    "internship": ["Praktikum"], "internships": ["Praktikum"], "intern": ["Praktikum"],
    "school": ["Schule", "Berufsschule"], "degree": ["Schulabschluss"], "diploma": ["Schulabschluss"],
    "qualification": ["Schulabschluss"], "requirements": ["Voraussetzung", "Schulabschluss"],
    "apply": ["Bewerbung"], "application": ["Bewerbung"], "cv": ["Lebenslauf"],
    "parents": ["Eltern"], "parent": ["Eltern"], "son": ["Sohn"], "daughter": ["Tochter"], "child": ["Kind"],
    "company": ["Betrieb"], "companies": ["Betriebe"], "employer": ["Betrieb"],
    "fair": ["Messe"], "fairs": ["Messe"], "event": ["Veranstaltung"], "events": ["Veranstaltung"],
    "travel": ["Fahrtkosten"], "commute": ["Fahrtkosten", "pendeln"], "accommodation": ["Unterkunft"],
    "grant": ["Beihilfe"], "exam": ["Prüfung"], "holiday": ["Urlaub"], "holidays": ["Urlaub"],
    "vacation": ["Urlaub"], "contract": ["Ausbildungsvertrag"], "quit": ["Kündigung"], "cancel": ["Kündigung"],
    "quiz": ["Berufe-Check", "Quiz"], "result": ["Ergebnis"], "results": ["Ergebnis"], "see": ["sehen"],
    "test": ["Berufe-Check", "Prüfung"], "dual": ["duale"], "system": ["Ausbildung"],
    "probation": ["Probezeit"], "hours": ["Arbeitszeit"], "sick": ["krank"], "job": ["Beruf", "Ausbildung"],
    "jobs": ["Berufe", "Ausbildung"], "profession": ["Beruf"], "work": ["arbeiten", "Beruf"],
}

# Words that name who asks rather than what about ("mein Kind"): they count less.
WEAK = ["Kind", "Kinder", "Sohn", "Tochter", "Jugendliche", "Jugendlichen", "Leute", "Mensch", "Menschen", "Person",
        "child", "kid", "kids", "son", "daughter", "people", "Deutschland", "Germany"]

# Parts of compound words the search should know even if no page uses them alone ("Dachdeckerlehre",
# "Lehrjahr"); the pages' own words are added when the index is built.
LEXICON = """
ausbildung lehre lehr jahr monat beruf berufs schule schul betrieb geld vergütung mindest praktikum pflege
fach frau mann kraft dachdecker bau hoch tief straße straßen elektro elektronik technik mechanik
mechaniker anlage anlagen heizung sanitär klima haus wirtschaft koch küche arbeit zeit stelle platz
messe tag woche abend info veranstaltung termin eltern kind schüler azubi lehrling abschluss prüfung vertrag kosten fahrt ticket
wohn heim bewerbung gespräch informatik system energie gebäude maschine maschinen führer metall holz
industrie automatisierung programm handwerk meister geselle gesellen kammer schicht dienst
""".split()
