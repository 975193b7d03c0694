"""Word lists and per-country reference data for the demo generator.

Everything here is plain data (plus a few tiny helpers that pre-compute the
spelling variants once at import time, so the generator's inner loop only
picks from ready-made lists).  Street names, cities and postcode ranges are
real and plausible; the companies built from them are fictional.
"""

from __future__ import annotations

import re

from unidecode import unidecode

# --------------------------------------------------------------------------
# Countries
# --------------------------------------------------------------------------

# code -> (English name, currency, language(s), share of customers in %)
COUNTRIES: dict[str, tuple[str, str, str, float]] = {
    "GB": ("United Kingdom", "GBP", "en", 21),
    "DE": ("Germany", "EUR", "de", 16),
    "US": ("United States", "USD", "en", 14),
    "FR": ("France", "EUR", "fr", 11),
    "NL": ("Netherlands", "EUR", "nl", 9),
    "IE": ("Ireland", "EUR", "en", 5),
    "ES": ("Spain", "EUR", "es", 6),
    "IT": ("Italy", "EUR", "it", 6),
    "BE": ("Belgium", "EUR", "fr/nl", 5),
    "SE": ("Sweden", "SEK", "sv", 7),
}
COUNTRY_CODES = tuple(COUNTRIES)
COUNTRY_WEIGHTS = tuple(v[3] for v in COUNTRIES.values())

# How systems write country names when they don't use the ISO code.  Every
# value here resolves with ``pycountry.countries.lookup`` (case-insensitive).
COUNTRY_NAMES = {code: v[0] for code, v in COUNTRIES.items()}

# Word used in a foreign subsidiary's name ("Acme Deutschland GmbH").
SUBSIDIARY_COUNTRY_WORD = {
    "GB": ["(UK)", "UK", "Great Britain"],
    "DE": ["Deutschland", "Germany"],
    "US": ["USA", "US", "America"],
    "FR": ["France"],
    "NL": ["Nederland", "Netherlands", "Benelux"],
    "IE": ["Ireland", "Éire"],
    "ES": ["España", "Iberia", "Spain"],
    "IT": ["Italia", "Italy"],
    "BE": ["Belgium", "Belgique", "België"],
    "SE": ["Sverige", "Sweden", "Nordic"],
}
# How PSA users tag a group member to tell it apart ("Acme (DE)", "Acme - Germany").
PSA_COUNTRY_TAG = {
    "GB": ["UK", "GB", "United Kingdom"],
    "DE": ["DE", "Germany", "GER"],
    "US": ["US", "USA", "United States"],
    "FR": ["FR", "France"],
    "NL": ["NL", "Netherlands"],
    "IE": ["IE", "Ireland", "IRL"],
    "ES": ["ES", "Spain"],
    "IT": ["IT", "Italy"],
    "BE": ["BE", "Belgium"],
    "SE": ["SE", "Sweden"],
}

# --------------------------------------------------------------------------
# Legal forms: country -> [(weight, [canonical spelling, other spellings...])]
# The first spelling is the registered one (used in the ERP's legal name most
# of the time); the others are how people actually type it.  "" means the
# suffix was left off.  A leading "," attaches without a space ("Acme, Inc.").
# --------------------------------------------------------------------------

LEGAL_FORMS: dict[str, list[tuple[float, list[str]]]] = {
    "GB": [
        (80, ["Limited", "Ltd", "Ltd.", "LTD", "Limited", "Ltd"]),
        (9, ["PLC", "plc", "Plc", "Public Limited Company"]),
        (11, ["LLP", "L.L.P.", "LLP"]),
    ],
    "IE": [
        (70, ["Limited", "Ltd", "Ltd.", "Teoranta", "Ltd"]),
        (20, ["DAC", "Designated Activity Company", "D.A.C."]),
        (10, ["PLC", "plc", "Public Limited Company"]),
    ],
    "DE": [
        (68, ["GmbH", "Gmbh", "G.m.b.H.", "GMBH", "GmbH"]),
        (14, ["AG", "Aktiengesellschaft", "AG"]),
        (13, ["GmbH & Co. KG", "GmbH & Co KG", "GmbH u. Co. KG", "GmbH + Co. KG"]),
        (5, ["SE", "S.E."]),
    ],
    "FR": [
        (55, ["SAS", "S.A.S.", "S.A.S", "Sas", "SAS"]),
        (20, ["SA", "S.A.", "SA"]),
        (25, ["SARL", "S.A.R.L.", "Sarl", "S.à r.l."]),
    ],
    "NL": [
        (90, ["B.V.", "BV", "B.V", "Bv", "B.V."]),
        (10, ["N.V.", "NV", "N.V"]),
    ],
    "BE": [
        (55, ["BV", "B.V.", "SRL", "BV/SRL", "bv"]),
        (45, ["NV", "SA", "N.V.", "S.A.", "NV/SA"]),
    ],
    "US": [
        (60, ["Inc.", "Inc", "Incorporated", ", Inc.", "INC"]),
        (28, ["LLC", "L.L.C.", ", LLC", "Llc"]),
        (12, ["Corporation", "Corp.", "Corp", "Co."]),
    ],
    "ES": [
        (70, ["S.L.", "SL", "S.L", "Sociedad Limitada", "S.L.U."]),
        (30, ["S.A.", "SA", "S.A", "Sociedad Anónima"]),
    ],
    "IT": [
        (70, ["S.r.l.", "Srl", "SRL", "S.R.L.", "s.r.l."]),
        (30, ["S.p.A.", "SpA", "S.P.A.", "Spa"]),
    ],
    "SE": [
        (100, ["AB", "Aktiebolag", "AB (publ)", "Ab"]),
    ],
}

# Words a group's head company adds to its legal name.
HOLDING_WORDS = {
    "en": ["Holdings", "Group", "Holdings", "International"],
    "de": ["Holding", "Gruppe", "Holding", "Group"],
    "fr": ["Groupe", "Holding", "Participations"],
    "nl": ["Holding", "Groep", "Group"],
    "es": ["Grupo", "Holding", "Corporación"],
    "it": ["Holding", "Gruppo", "Group"],
    "sv": ["Holding", "Koncern", "Group"],
}
# Words that make a division's name ("Acme Consulting Digital Ltd").
DIVISION_WORDS = [
    "Digital", "Services", "Technology", "Advisory", "Property", "Finance",
    "Logistics", "Solutions", "Retail", "Energy", "Engineering", "Health",
    "Capital", "Systems", "Labs", "Ventures", "Trading", "Operations",
    "Managed Services", "Analytics", "Infrastructure", "Projects", "Leasing",
]

# --------------------------------------------------------------------------
# Industries: key -> (CRM picklist label, PSA sector label, words by language)
# --------------------------------------------------------------------------

INDUSTRIES: dict[str, tuple[str, str, dict[str, list[str]]]] = {
    "logistics": ("Transportation", "Transport & Logistics", {
        "en": ["Logistics", "Freight", "Transport", "Shipping", "Haulage", "Distribution"],
        "de": ["Logistik", "Spedition", "Transporte", "Logistik"],
        "fr": ["Transports", "Logistique", "Messageries"],
        "nl": ["Logistiek", "Transport", "Expeditie"],
        "es": ["Transportes", "Logística"],
        "it": ["Trasporti", "Logistica", "Spedizioni"],
        "sv": ["Logistik", "Transport", "Frakt", "Åkeri"],
    }),
    "manufacturing": ("Manufacturing", "Industrial", {
        "en": ["Engineering", "Manufacturing", "Industries", "Precision", "Components", "Fabrications"],
        "de": ["Maschinenbau", "Anlagenbau", "Metallbau", "Präzisionstechnik", "Werkzeugbau", "Antriebstechnik"],
        "fr": ["Industries", "Mécanique", "Ingénierie", "Usinage"],
        "nl": ["Techniek", "Machinebouw", "Metaalbewerking", "Installatietechniek"],
        "es": ["Industrias", "Ingeniería", "Mecanizados"],
        "it": ["Meccanica", "Industrie", "Impianti", "Officine"],
        "sv": ["Verkstad", "Industri", "Mekaniska", "Teknik"],
    }),
    "financial": ("Financial Services", "FSI", {
        "en": ["Capital", "Finance", "Asset Management", "Investments", "Wealth", "Bank"],
        "de": ["Finanz", "Vermögensverwaltung", "Bank", "Kapital"],
        "fr": ["Finance", "Gestion", "Capital", "Banque"],
        "nl": ["Vermogensbeheer", "Bank", "Financiële Diensten"],
        "es": ["Finanzas", "Capital", "Gestión", "Banca"],
        "it": ["Finanziaria", "Capital", "Gestioni", "Banca"],
        "sv": ["Kapital", "Finans", "Förvaltning", "Bank"],
    }),
    "insurance": ("Insurance", "FSI", {
        "en": ["Insurance", "Assurance", "Underwriting"],
        "de": ["Versicherung", "Versicherungen", "Assekuranz"],
        "fr": ["Assurances", "Mutuelle"],
        "nl": ["Verzekeringen", "Assurantiën"],
        "es": ["Seguros"],
        "it": ["Assicurazioni"],
        "sv": ["Försäkring"],
    }),
    "technology": ("Technology", "TMT", {
        "en": ["Software", "Systems", "Technologies", "Digital", "Data", "Analytics", "Networks", "Cloud"],
        "de": ["Software", "Systemhaus", "Informationstechnik", "Datentechnik"],
        "fr": ["Informatique", "Technologies", "Logiciels", "Numérique"],
        "nl": ["Automatisering", "Software", "ICT"],
        "es": ["Tecnologías", "Sistemas", "Informática"],
        "it": ["Informatica", "Tecnologie", "Sistemi"],
        "sv": ["Data", "System", "IT"],
    }),
    "retail": ("Retail", "Retail & Consumer", {
        "en": ["Retail", "Stores", "Trading", "Brands", "Outfitters"],
        "de": ["Handel", "Warenhaus", "Handelsgesellschaft"],
        "fr": ["Distribution", "Commerce", "Magasins"],
        "nl": ["Groothandel", "Retail", "Handelsonderneming"],
        "es": ["Distribuciones", "Comercial"],
        "it": ["Distribuzione", "Commerciale"],
        "sv": ["Handel", "Varuhus"],
    }),
    "food": ("Consumer Goods", "Retail & Consumer", {
        "en": ["Foods", "Bakeries", "Brewing", "Beverages", "Dairies"],
        "de": ["Lebensmittel", "Feinkost", "Brauerei", "Molkerei"],
        "fr": ["Alimentaire", "Boulangeries", "Vins", "Fromageries"],
        "nl": ["Voeding", "Zuivel", "Bakkerij"],
        "es": ["Alimentación", "Bodegas", "Conservas"],
        "it": ["Alimentari", "Caseificio", "Vini", "Pastificio"],
        "sv": ["Livsmedel", "Bryggeri", "Mejeri"],
    }),
    "energy": ("Energy", "Energy & Utilities", {
        "en": ["Energy", "Power", "Renewables", "Utilities"],
        "de": ["Energie", "Solar", "Energietechnik", "Windkraft"],
        "fr": ["Énergie", "Énergies", "Électricité"],
        "nl": ["Energie", "Duurzame Energie"],
        "es": ["Energía", "Renovables", "Eléctrica"],
        "it": ["Energia", "Elettrica", "Rinnovabili"],
        "sv": ["Energi", "Kraft", "Vindkraft"],
    }),
    "construction": ("Construction", "Real Estate & Construction", {
        "en": ["Construction", "Builders", "Developments", "Contractors", "Homes"],
        "de": ["Bau", "Bauunternehmung", "Hochbau", "Tiefbau"],
        "fr": ["Construction", "Bâtiment", "BTP"],
        "nl": ["Bouw", "Bouwgroep", "Aannemersbedrijf"],
        "es": ["Construcciones", "Obras"],
        "it": ["Costruzioni", "Edilizia"],
        "sv": ["Bygg", "Byggnads", "Entreprenad"],
    }),
    "real_estate": ("Real Estate", "Real Estate & Construction", {
        "en": ["Properties", "Estates", "Real Estate"],
        "de": ["Immobilien", "Grundbesitz"],
        "fr": ["Immobilier", "Foncière"],
        "nl": ["Vastgoed", "Onroerend Goed"],
        "es": ["Inmobiliaria", "Patrimonial"],
        "it": ["Immobiliare"],
        "sv": ["Fastigheter"],
    }),
    "healthcare": ("Healthcare", "Health & Life Sciences", {
        "en": ["Healthcare", "Medical", "Pharma", "Biotech", "Life Sciences", "Diagnostics"],
        "de": ["Medizintechnik", "Pharma", "Klinik", "Gesundheit"],
        "fr": ["Santé", "Pharmaceutique", "Laboratoires", "Médical"],
        "nl": ["Zorg", "Medisch", "Farma"],
        "es": ["Salud", "Farmacéutica", "Laboratorios"],
        "it": ["Farmaceutici", "Sanità", "Laboratori"],
        "sv": ["Medicin", "Vård", "Läkemedel"],
    }),
    "telecom": ("Telecommunications", "TMT", {
        "en": ["Telecom", "Communications", "Networks"],
        "de": ["Telekommunikation", "Kommunikation"],
        "fr": ["Télécom", "Télécommunications"],
        "nl": ["Telecom", "Communicatie"],
        "es": ["Telecomunicaciones"],
        "it": ["Telecomunicazioni"],
        "sv": ["Telekom"],
    }),
    "media": ("Media", "TMT", {
        "en": ["Media", "Publishing", "Studios", "Broadcasting"],
        "de": ["Medien", "Verlag"],
        "fr": ["Médias", "Éditions", "Productions"],
        "nl": ["Media", "Uitgeverij"],
        "es": ["Medios", "Ediciones"],
        "it": ["Media", "Edizioni"],
        "sv": ["Media", "Förlag"],
    }),
    "automotive": ("Automotive", "Industrial", {
        "en": ["Motors", "Automotive", "Vehicles"],
        "de": ["Automobil", "Fahrzeugbau", "Autohaus"],
        "fr": ["Automobiles", "Équipements"],
        "nl": ["Automotive", "Voertuigen"],
        "es": ["Automoción"],
        "it": ["Automobili", "Veicoli"],
        "sv": ["Fordon", "Bil"],
    }),
    "chemicals": ("Chemicals", "Industrial", {
        "en": ["Chemicals", "Materials", "Coatings", "Polymers"],
        "de": ["Chemie", "Kunststoffe", "Werkstoffe"],
        "fr": ["Chimie", "Matériaux"],
        "nl": ["Chemie", "Coatings"],
        "es": ["Química", "Materiales"],
        "it": ["Chimica", "Polimeri"],
        "sv": ["Kemi", "Material"],
    }),
    "business_services": ("Business Services", "Professional Services", {
        "en": ["Consulting", "Advisory", "Partners", "Associates", "Solutions"],
        "de": ["Beratung", "Consulting", "Partner"],
        "fr": ["Conseil", "Associés"],
        "nl": ["Advies", "Adviesgroep", "Partners"],
        "es": ["Consultores", "Asesores"],
        "it": ["Consulenza", "Associati"],
        "sv": ["Konsult", "Rådgivning"],
    }),
    "hospitality": ("Hospitality", "Travel & Hospitality", {
        "en": ["Hotels", "Hospitality", "Leisure", "Travel"],
        "de": ["Hotels", "Touristik", "Reisen"],
        "fr": ["Hôtels", "Voyages", "Hôtellerie"],
        "nl": ["Hotels", "Reizen", "Horeca"],
        "es": ["Hoteles", "Viajes"],
        "it": ["Hotel", "Viaggi", "Turismo"],
        "sv": ["Hotell", "Resor"],
    }),
}
INDUSTRY_KEYS = tuple(INDUSTRIES)
INDUSTRY_WEIGHTS = (9, 12, 9, 5, 12, 7, 6, 5, 7, 5, 7, 3, 3, 4, 3, 6, 3)
assert len(INDUSTRY_WEIGHTS) == len(INDUSTRY_KEYS)

# Languages that put the activity first ("Transports Dubois", "Construcciones García").
INDUSTRY_FIRST = {"fr": 0.55, "es": 0.6, "it": 0.35, "en": 0.0, "de": 0.0, "nl": 0.0, "sv": 0.0}

# --------------------------------------------------------------------------
# Name parts
# --------------------------------------------------------------------------

SURNAMES = {
    "en": """Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker
    White Roberts Green Hall Wood Jackson Clarke Hargreaves Whitfield Ashworth Pemberton Fairbanks Holloway
    Kendall Marsh Bradley Fletcher Sutton Harding Lawson Barrett Caldwell Prescott Thornton Blackwood
    Winslow Hartley Radcliffe Ellison Cartwright Fenwick Langley Bancroft Murphy Kelly O'Brien Byrne Ryan
    O'Sullivan Walsh McCarthy Doyle Kennedy Lynch Gallagher Brennan Quinn Miller Davis Anderson Carter
    Mitchell Parker Collins Morgan Cooper Reed Bailey Hayes Foster Bennett Sullivan Russell Griffin
    Whitman Sinclair Ramsey Aldridge Kingsley""".split(),
    "de": """Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer
    Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt
    Werner Krause Meier Lehmann Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz
    Möller Weiß Jung Hahn Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann
    Albrecht Brandt Sommer Voigt Engel Seidel Ziegler Kühn Pohl Horn Busch Bergmann Thomas Voß Sauer""".split(),
    "fr": """Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre
    Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefebvre Mercier Dupont Lambert
    Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc Guérin Muller Henry Roussel Nicolas Perrin
    Morin Mathieu Clément Gauthier Dumont Lopez Fontaine Chevalier Robin Masson Sanchez Gérard Nguyen
    Boyer Denis Lemaire Duval Joly Gautier Roger Roche Roy Noël Meyer Lucas Meunier Jean Perez Marchand""".split(),
    "nl": """De Jong|Jansen|De Vries|Van den Berg|Van Dijk|Bakker|Janssen|Visser|Smit|Meijer|De Boer|Mulder|
    De Groot|Bos|Vos|Peters|Hendriks|Van Leeuwen|Dekker|Brouwer|De Wit|Dijkstra|Smits|De Graaf|Van der Meer|
    Van der Linden|Kok|Jacobs|De Haan|Vermeulen|Van den Heuvel|Van der Veen|Van den Broek|De Bruijn|
    De Bruin|Van der Heijden|Schouten|Van Beek|Willems|Van Vliet|Van de Ven|Hoekstra|Maas|Verhoeven|Koster|
    Van Dam|Prins|Blom|Huisman|Peeters|Claes|Goossens|Wouters|Maes|Mertens|Willaert|Lambrechts|Dubois""",
    "es": """García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz
    Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez Ramos Gil
    Ramírez Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio Marín Sanz Iglesias
    Núñez Medina Garrido Cortés Castillo Santos Lozano Guerrero Cano Prieto Méndez Cruz Calvo Gallego
    Vidal León Herrera Márquez Peña Flores Cabrera Campos Vega Fuentes Carrasco Diez Caballero Reyes""".split(),
    "it": """Rossi|Russo|Ferrari|Esposito|Bianchi|Romano|Colombo|Ricci|Marino|Greco|Bruno|Gallo|Conti|De Luca|
    Mancini|Costa|Giordano|Rizzo|Lombardi|Moretti|Barbieri|Fontana|Santoro|Mariani|Rinaldi|Caruso|Ferrara|Galli|
    Martini|Leone|Longo|Gentile|Martinelli|Vitale|Lombardo|Serra|Coppola|De Santis|D'Angelo|Marchetti|Parisi|Villa|
    Conte|Ferraro|Ferri|Fabbri|Bianco|Marini|Grasso|Valentini|Messina|Sala|De Angelis|Gatti|Pellegrini|Palumbo|
    Sanna|Farina|Rizzi|Monti|Cattaneo|Morelli|Amato|Silvestri|Mazza|Testa""",
    "sv": """Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson Pettersson
    Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson Olofsson Lindström Lindqvist
    Lindgren Axelsson Berg Bergström Lundberg Lind Lundgren Lundqvist Mattsson Berglund Fredriksson Sandberg
    Henriksson Forsberg Sjöberg Wallin Engström Eklund Danielsson Lundin Håkansson Björk Bergman Gunnarsson
    Holm Wikström Samuelsson Isaksson Fransson Bergqvist Nyström Holmberg Arvidsson Löfgren Söderberg""".split(),
}


SURNAMES["nl"] = [s.strip() for s in SURNAMES["nl"].split("|") if s.strip()]  # type: ignore[union-attr]
SURNAMES["it"] = [s.strip() for s in SURNAMES["it"].split("|") if s.strip()]  # type: ignore[union-attr]

# Abstract / nature words that start an English-style brand ("Blue Harbour Logistics").
BRAND_WORDS_EN = """Blue Green Red North South East West Silver Golden Bright Clear First Prime Summit Apex Core
True Pioneer Horizon Beacon Crown Oak Cedar Maple Willow Falcon Eagle Harbour Bridge Stone River Meadow Fox
Lion Atlas Phoenix Orion Nova Vertex Quantum Vector Sterling Regal Royal Union Premier Keystone Cornerstone
Lighthouse Anchor Compass Granite Ironbridge Kingfisher Greenfield Northgate Westbrook Ashford Riverside
Highland Lakeside Oakwood Redwood Blackstone Whitehall Brookfield Fairway Clearwater Evergreen Northstar
Bluewater Silverline Goldcrest Ironwood Stonegate Windmill Sunrise Skyline Trident Pinnacle Meridian Elm
Heron Osprey Raven Wren Juniper Hawthorn Alder Birch Aspen Summit Crescent Harvest Coastal Alpine Arctic
Tidal Solar Lunar Polar Vantage Zenith Fusion Catalyst Momentum Paragon Sapphire Emerald Ruby Onyx Cobalt
Indigo Scarlet Amber""".split()
BRAND_WORDS_LOCAL = {
    "de": """Nord Süd Ost West Alpen Stern Adler Falken Eichen Linden Berg Brücken Hanse Kronen Sonnen Löwen
    Rhein Elbe Main Spree Isar Weser Ruhr Harz Taunus Eifel Allgäu Franken Schwarzwald Bodensee Alster
    Nordlicht Greif Kranich Tannen Birken Buchen Felsen Quell Blau Grün""".split(),
    "fr": """Loire Rhône Seine Provence Alpes Atlantique Bretagne Normandie Aquitaine Garonne Vosges Jura
    Méditerranée Champagne Gascogne Azur Horizon Étoile Soleil Lumière Avenir Océan Montagne Cèdre Chêne
    Olivier Lavande Phare Rivage Sommet""".split(),
    "nl": """Amstel Maas Zuider Holland Delta Waal IJssel Veluwe Noordzee Rijnmond Brabant Friesland Polder
    Duin Tulp Molen Kanaal Haven Eiland Horizon Lindeboom Eikenhof Zonnehof Noorder Wester Ooster""".split(),
    "es": """Ibérica Levante Cantábrica Mediterránea Atlántica Castilla Andaluza Galaica Ebro Tajo Guadalquivir
    Pirenaica Sol Luna Estrella Horizonte Norte Sur Olivo Roble Faro Cumbre Mar Sierra Alba""".split(),
    "it": """Adriatica Tirrenica Lombarda Padana Alpina Ligure Toscana Veneta Sabauda Etna Vesuvio Tevere
    Aurora Stella Sole Luna Orizzonte Faro Vetta Olivo Quercia Cipresso Leone Aquila Falco Nord Sud""".split(),
    "sv": """Nordic Norrland Mälar Skandia Vasa Göta Svea Baltic Öresund Fjäll Norden Lapland Polar Björk
    Gran Tall Ek Sjö Älv Fyr Norr Väst Öst Syd Stjärn Sol Havs""".split(),
}
PLACE_WORDS = {
    "GB": "Thames Pennine Cotswold Mersey Severn Wessex Northumbria Cambrian Chiltern Trent Solent Clyde Tyne Avon Mendip Humber Forth Medway Kennet".split(),
    "US": "Hudson|Pacific|Atlantic|Liberty|Lakeshore|Keystone|Cascade|Sierra|Prairie|Empire|Lone Star|Golden Gate|Great Lakes|Bay State|Blue Ridge|Potomac|Ozark|Sonoran|Tidewater".split("|"),
    "IE": "Liffey Shannon Emerald Wicklow Connacht Munster Leinster Celtic Kerry Burren Boyne Slaney Barrow Corrib".split(),
    "BE": "Schelde Ardennes Brabant Flanders Wallonie Kempen Sonian Leie Dijle Meuse".split(),
}

# Invented brand syllables ("Zentrova", "Quorix").
COINED_HEADS = """Ar Vex Quor Zen Tel Nov Cor Lum Sol Ver Ax Tri Kin Mer Dyn Syn Omni Pro Inter Nex Vir Cal Bel
Tor Ori Ast Hel Lyr Cyr Fen Val Zor Qua Ix Ev Ul Ob Mag Sen Tar Ven Kal Lex Rad Vol Pyr Tes Nim Cap Gal""".split()
COINED_MIDS = ["", "", "", "ra", "ve", "li", "no", "ta", "vi", "ro", "de", "ma", "si", "lo", "ne", "ri", "ca", "to"]
COINED_TAILS = """a ex on ia ix ora ium ent us is ico ava era ant ero ity ara io eon os ova ynx yx ar el ine ic""".split()

# Two-letter/three-letter acronyms are generated from these letters.
ACRONYM_LETTERS = "ABCDEFGHJKLMNPRSTVW"

# --------------------------------------------------------------------------
# People (the firm's account owners and project managers)
# --------------------------------------------------------------------------

FIRST_NAMES = """James Oliver Sophie Emma Thomas Charlotte Daniel Hannah Lukas Anna Felix Lea Julien Camille
Louis Chloé Daan Sanne Lars Emma Pablo Lucía Marco Giulia Erik Astrid Liam Aoife Sean Siobhan Michael
Sarah David Jennifer Matthias Katrin Stefan Julia Pierre Claire Jeroen Femke Javier Elena Alessandro
Francesca Johan Ingrid Rachel Priya Arjun Mei Tomasz Katarzyna Andreas Nadia Samuel Laura""".split()
LAST_NAMES = (SURNAMES["en"][:30] + SURNAMES["de"][:15] + SURNAMES["fr"][:12] + SURNAMES["nl"][:10]
              + SURNAMES["es"][:8] + SURNAMES["it"][:8] + SURNAMES["sv"][:8] + ["Patel", "Shah", "Kowalski", "Nowak", "Chen", "Singh"])

# --------------------------------------------------------------------------
# Cities: country -> [(local name, [other spellings], weight, postcode spec, phone area, extra)]
#   postcode spec by country:
#     GB: list of outward codes; DE/FR/ES/IT/US/BE: list of (lo, hi) ints;
#     NL: (lo, hi) 4-digit ranges; IE: list of Eircode routing keys; SE: (lo, hi) 5-digit ranges
#   extra: US state; IT province; BE language ("fr"/"nl"/"bi"); FR cedex-able flag
# --------------------------------------------------------------------------

CITIES: dict[str, list[tuple]] = {
    "GB": [
        ("London", [], 40, ["EC1A", "EC1V", "EC2A", "EC2M", "EC2V", "EC3M", "EC3V", "EC4M", "EC4V", "WC1X", "WC2H",
                            "WC2R", "W1K", "W1J", "W1G", "SW1A", "SW1P", "SW1E", "SE1", "E1", "E14", "N1", "NW1"], "20", None),
        ("Manchester", [], 9, ["M1", "M2", "M3", "M4", "M15", "M50"], "161", None),
        ("Birmingham", [], 8, ["B1", "B2", "B3", "B4", "B15"], "121", None),
        ("Leeds", [], 6, ["LS1", "LS2", "LS11"], "113", None),
        ("Glasgow", [], 5, ["G1", "G2", "G3"], "141", "SC"),
        ("Edinburgh", [], 5, ["EH1", "EH2", "EH3", "EH12"], "131", "SC"),
        ("Bristol", [], 5, ["BS1", "BS2", "BS8"], "117", None),
        ("Cambridge", [], 4, ["CB1", "CB2", "CB4"], "1223", None),
        ("Reading", [], 4, ["RG1", "RG2", "RG7"], "118", None),
        ("Oxford", [], 3, ["OX1", "OX2", "OX4"], "1865", None),
        ("Newcastle upon Tyne", ["Newcastle"], 3, ["NE1", "NE2"], "191", None),
        ("Cardiff", [], 3, ["CF10", "CF11"], "29", None),
        ("Belfast", [], 3, ["BT1", "BT2"], "28", "NI"),
        ("Nottingham", [], 2, ["NG1", "NG2", "NG7"], "115", None),
    ],
    "IE": [
        ("Dublin", [], 60, ["D01", "D02", "D04", "D08", "D18", "D24"], "1", None),
        ("Cork", [], 15, ["T12", "T23"], "21", None),
        ("Galway", [], 8, ["H91"], "91", None),
        ("Limerick", [], 8, ["V94"], "61", None),
        ("Waterford", [], 5, ["X91"], "51", None),
        ("Kilkenny", [], 4, ["R95"], "56", None),
    ],
    "DE": [
        ("Berlin", [], 18, [(10115, 10999), (12043, 12689), (13086, 14199)], "30", "B"),
        ("Hamburg", [], 12, [(20095, 22769)], "40", "HH"),
        ("München", ["Muenchen", "Munchen", "Munich"], 14, [(80331, 81929)], "89", "M"),
        ("Köln", ["Koeln", "Koln", "Cologne"], 9, [(50667, 51149)], "221", "K"),
        ("Frankfurt am Main", ["Frankfurt", "Frankfurt a.M.", "Frankfurt/Main"], 11, [(60306, 60599)], "69", "F"),
        ("Stuttgart", [], 8, [(70173, 70619)], "711", "S"),
        ("Düsseldorf", ["Duesseldorf", "Dusseldorf"], 8, [(40210, 40629)], "211", "D"),
        ("Leipzig", [], 4, [(4103, 4357)], "341", "L"),
        ("Dortmund", [], 3, [(44135, 44388)], "231", "DO"),
        ("Essen", [], 3, [(45127, 45359)], "201", "E"),
        ("Bremen", [], 3, [(28195, 28779)], "421", "HB"),
        ("Hannover", ["Hanover"], 4, [(30159, 30669)], "511", "H"),
        ("Nürnberg", ["Nuernberg", "Nurnberg", "Nuremberg"], 4, [(90402, 90491)], "911", "N"),
    ],
    "FR": [
        ("Paris", ["PARIS"], 40, [(75001, 75020)], "1", "cedex"),
        ("Lyon", [], 10, [(69001, 69009)], "4", "cedex"),
        ("Marseille", [], 6, [(13001, 13016)], "4", "cedex"),
        ("Toulouse", [], 6, [(31000, 31000), (31100, 31100), (31200, 31200), (31300, 31300), (31400, 31400), (31500, 31500)], "5", None),
        ("Bordeaux", [], 5, [(33000, 33000), (33100, 33100), (33200, 33200), (33300, 33300), (33800, 33800)], "5", None),
        ("Lille", [], 5, [(59000, 59000), (59800, 59800)], "3", None),
        ("Nantes", [], 5, [(44000, 44000), (44100, 44100), (44200, 44200), (44300, 44300)], "2", None),
        ("Strasbourg", [], 4, [(67000, 67000), (67100, 67100), (67200, 67200)], "3", None),
        ("Nice", [], 3, [(6000, 6000), (6100, 6100), (6200, 6200), (6300, 6300)], "4", None),
        ("Rennes", [], 3, [(35000, 35000), (35200, 35200), (35700, 35700)], "2", None),
        ("Puteaux", ["Paris La Défense", "La Defense"], 4, [(92800, 92800)], "1", "cedex"),
        ("Courbevoie", [], 3, [(92400, 92400)], "1", "cedex"),
        ("Boulogne-Billancourt", ["Boulogne Billancourt", "Boulogne"], 3, [(92100, 92100)], "1", None),
        ("Neuilly-sur-Seine", ["Neuilly sur Seine", "Neuilly"], 2, [(92200, 92200)], "1", None),
        ("Levallois-Perret", ["Levallois Perret", "Levallois"], 2, [(92300, 92300)], "1", None),
    ],
    "NL": [
        ("Amsterdam", [], 30, [(1011, 1109)], "20", None),
        ("Rotterdam", [], 15, [(3011, 3089)], "10", None),
        ("Den Haag", ["'s-Gravenhage", "The Hague", "s-Gravenhage"], 10, [(2491, 2597)], "70", None),
        ("Utrecht", [], 10, [(3511, 3585)], "30", None),
        ("Eindhoven", [], 8, [(5611, 5658)], "40", None),
        ("Groningen", [], 4, [(9711, 9747)], "50", None),
        ("Tilburg", [], 4, [(5011, 5049)], "13", None),
        ("Almere", [], 3, [(1311, 1363)], "36", None),
        ("Breda", [], 4, [(4811, 4839)], "76", None),
        ("Amstelveen", [], 5, [(1181, 1189)], "20", None),
        ("Schiphol", ["Schiphol-Rijk", "Haarlemmermeer"], 3, [(1118, 1119)], "20", None),
    ],
    "US": [
        ("New York", ["New York City", "NYC", "New York, NY"], 28, [(10001, 10048), (10110, 10178)], ("212", "646", "917"), "NY"),
        ("Boston", ["Boston, MA"], 8, [(2108, 2137)], ("617",), "MA"),
        ("Chicago", ["Chicago, IL"], 10, [(60601, 60661)], ("312", "773"), "IL"),
        ("San Francisco", ["San Francisco, CA", "SF"], 9, [(94102, 94134)], ("415",), "CA"),
        ("Austin", ["Austin, TX"], 5, [(78701, 78759)], ("512",), "TX"),
        ("Seattle", ["Seattle, WA"], 6, [(98101, 98134)], ("206",), "WA"),
        ("Atlanta", ["Atlanta, GA"], 6, [(30301, 30363)], ("404", "678"), "GA"),
        ("Denver", ["Denver, CO"], 4, [(80201, 80239)], ("303", "720"), "CO"),
        ("Los Angeles", ["Los Angeles, CA", "LA"], 9, [(90001, 90089)], ("213", "310"), "CA"),
        ("Dallas", ["Dallas, TX"], 6, [(75201, 75254)], ("214", "972"), "TX"),
        ("Charlotte", ["Charlotte, NC"], 4, [(28202, 28280)], ("704",), "NC"),
        ("Philadelphia", ["Philadelphia, PA"], 5, [(19102, 19154)], ("215", "267"), "PA"),
    ],
    "ES": [
        ("Madrid", [], 40, [(28001, 28055)], "91", "M"),
        ("Barcelona", [], 30, [(8001, 8042)], "93", "B"),
        ("Valencia", ["València"], 8, [(46001, 46026)], "96", "V"),
        ("Sevilla", ["Seville"], 7, [(41001, 41020)], "95", "SE"),
        ("Bilbao", [], 6, [(48001, 48015)], "94", "BI"),
        ("Málaga", ["Malaga"], 5, [(29001, 29018)], "95", "MA"),
        ("Zaragoza", [], 4, [(50001, 50018)], "976", "Z"),
    ],
    "IT": [
        ("Milano", ["Milan", "Milano (MI)", "Milano MI"], 40, [(20121, 20162)], "02", "MI"),
        ("Roma", ["Rome", "Roma (RM)", "Roma RM"], 22, [(118, 199)], "06", "RM"),
        ("Torino", ["Turin", "Torino (TO)"], 9, [(10121, 10156)], "011", "TO"),
        ("Bologna", ["Bologna (BO)"], 7, [(40121, 40141)], "051", "BO"),
        ("Firenze", ["Florence", "Firenze (FI)"], 6, [(50121, 50145)], "055", "FI"),
        ("Napoli", ["Naples", "Napoli (NA)"], 5, [(80121, 80147)], "081", "NA"),
        ("Genova", ["Genoa", "Genova (GE)"], 4, [(16121, 16167)], "010", "GE"),
        ("Verona", ["Verona (VR)"], 4, [(37121, 37142)], "045", "VR"),
        ("Padova", ["Padua", "Padova (PD)"], 3, [(35121, 35143)], "049", "PD"),
    ],
    "BE": [
        ("Bruxelles", ["Brussel", "Brussels", "Bruxelles/Brussel"], 40, [(1000, 1000), (1040, 1040), (1050, 1050), (1060, 1060), (1200, 1200), (1210, 1210)], "2", "bi"),
        ("Antwerpen", ["Anvers", "Antwerp"], 20, [(2000, 2000), (2018, 2018), (2020, 2020), (2030, 2030), (2060, 2060)], "3", "nl"),
        ("Gent", ["Gand", "Ghent"], 12, [(9000, 9000), (9030, 9030), (9050, 9052)], "9", "nl"),
        ("Liège", ["Liege", "Luik"], 7, [(4000, 4000), (4020, 4020), (4030, 4032)], "4", "fr"),
        ("Leuven", ["Louvain"], 7, [(3000, 3001), (3010, 3012)], "16", "nl"),
        ("Mechelen", ["Malines"], 4, [(2800, 2800)], "15", "nl"),
        ("Namur", ["Namen"], 4, [(5000, 5000), (5100, 5100)], "81", "fr"),
        ("Charleroi", [], 3, [(6000, 6000), (6001, 6001)], "71", "fr"),
        ("Brugge", ["Bruges"], 3, [(8000, 8000), (8200, 8200)], "50", "nl"),
    ],
    "SE": [
        ("Stockholm", [], 45, [(11120, 11899)], "8", None),
        ("Göteborg", ["Goteborg", "Gothenburg", "Goeteborg"], 18, [(41101, 41878)], "31", None),
        ("Malmö", ["Malmo", "Malmoe"], 12, [(21111, 21774)], "40", None),
        ("Uppsala", [], 7, [(75103, 75655)], "18", None),
        ("Linköping", ["Linkoping"], 5, [(58101, 58941)], "13", None),
        ("Västerås", ["Vasteras"], 4, [(72130, 72482)], "21", None),
        ("Örebro", ["Orebro"], 4, [(70113, 70378)], "19", None),
        ("Lund", [], 5, [(22100, 22738)], "46", None),
    ],
}

# --------------------------------------------------------------------------
# Streets (full spelling) and the abbreviations systems use for them
# --------------------------------------------------------------------------

STREETS: dict[str, list[str]] = {
    "GB": """High Street|Station Road|Church Lane|King Street|Queen Street|Victoria Road|Park Lane|Mill Lane|
    London Road|Market Street|Bridge Street|New Road|Chapel Street|Albert Road|Green Lane|Castle Street|
    Bishopsgate|Cheapside|Fleet Street|Oxford Street|Regent Street|Moorgate|Gracechurch Street|Canal Street|
    Deansgate|Broad Street|George Street|Princes Street|Wellington Street|Commercial Road|Great Portland Street|
    Old Broad Street|Southwark Street|Victoria Street|Charlotte Street|Grosvenor Square|St James's Square|
    Berkeley Square|Colmore Row|Temple Quay|Whitehall Place|Canada Square|Cannon Street|Lombard Street|
    Queen Victoria Street|Sheldon Square|Hanover Square|Piccadilly Place|Spinningfields Square|Park Row""".split("|"),
    "IE": """Baggot Street Lower|Baggot Street Upper|Grafton Street|O'Connell Street Upper|Harcourt Street|
    Leeson Street Lower|Sir John Rogerson's Quay|Pembroke Street Upper|Patrick Street|Eyre Square|Shop Street|
    Main Street|Merrion Square|Fitzwilliam Square|Dawson Street|St Stephen's Green|Mount Street Lower|
    Hatch Street Upper|George's Quay|Custom House Quay|North Wall Quay|South Mall|Lapps Quay|O'Connell Street|
    Henry Street|Adelaide Road|Ballsbridge Terrace|Dock Road""".split("|"),
    "DE": """Hauptstraße|Bahnhofstraße|Friedrichstraße|Schillerstraße|Goethestraße|Gartenstraße|Berliner Straße|
    Kaiserstraße|Lindenstraße|Industriestraße|Am Markt|Marktplatz|Königsallee|Mühlenweg|Ringstraße|Lessingstraße|
    Leipziger Straße|Rosenstraße|Wilhelmstraße|Hafenstraße|Karl-Marx-Allee|Kurfürstendamm|Neue Mainzer Straße|
    Taunusanlage|Maximilianstraße|Leopoldstraße|Jungfernstieg|Mönckebergstraße|Hohenzollernring|Theodor-Heuss-Allee|
    Mainzer Landstraße|Unter den Linden|Potsdamer Platz|Prinzregentenstraße|Heidestraße|Rheinallee|Schlossplatz|
    Berliner Allee|Kölner Straße|Am Sandtorkai|Speicherstadt|Große Elbstraße|Bockenheimer Landstraße|Zeppelinstraße|
    Dieselstraße|Robert-Bosch-Straße|Carl-Zeiss-Ring|Siemensstraße|Gutenbergplatz""".split("|"),
    "FR": """rue de la Paix|rue du Faubourg Saint-Honoré|avenue des Champs-Élysées|boulevard Haussmann|rue de Rivoli|
    avenue de l'Opéra|rue Nationale|rue de la République|place Bellecour|quai de la Tournelle|rue Victor Hugo|
    avenue Jean Jaurès|rue Pasteur|boulevard Gambetta|rue du Général de Gaulle|rue des Lilas|allée des Tilleuls|
    chemin des Vignes|rue de Lyon|cours Lafayette|avenue de la Grande Armée|rue La Boétie|boulevard de Sébastopol|
    avenue Kléber|rue Saint-Lazare|place Vendôme|avenue Montaigne|rue du Quatre-Septembre|boulevard Malesherbes|
    esplanade du Général de Gaulle|cours Michelet|avenue du Président Wilson|rue de la Bourse|quai Perrache|
    boulevard Michelet|rue Sainte-Catherine|place de la Comédie|rue d'Alsace-Lorraine|rue de Metz|avenue Foch""".split("|"),
    "NL": """Keizersgracht|Herengracht|Prinsengracht|Damrak|Kalverstraat|Stationsplein|Coolsingel|Lange Voorhout|
    Oudegracht|Stationsweg|Dorpsstraat|Kerkstraat|Gustav Mahlerlaan|Strawinskylaan|Weena|Blaak|Markt|Industrieweg|
    Parallelweg|Nieuwe Binnenweg|Rokin|Leidseplein|Beursplein|Wilhelminakade|Kruisplein|Churchillplein|
    Prinses Beatrixlaan|Catharijnesingel|Croeselaan|Vestdijk|Fellenoord|Nieuwezijds Voorburgwal|Basisweg|
    Evert van de Beekstraat|Hoogoorddreef|De Entree|Stadsplateau|Jaarbeursplein|Laan van Kronenburg""".split("|"),
    "US": """Fifth Avenue|Madison Avenue|Park Avenue|Broadway|Main Street|Market Street|Wall Street|Lexington Avenue|
    Michigan Avenue|Congress Avenue|Mission Street|Pine Street|Boylston Street|Elm Street|Oak Street|Washington Street|
    State Street|Peachtree Street|Sixth Avenue|Third Avenue|Seventh Avenue|West Wacker Drive|North LaSalle Street|
    California Street|Montgomery Street|Howard Street|Second Avenue|First Avenue|Federal Street|Franklin Street|
    Wilshire Boulevard|Santa Monica Boulevard|Ross Avenue|McKinney Avenue|South Tryon Street|Market Street|
    Chestnut Street|Walnut Street|Seventeenth Street|Larimer Street|Lamar Boulevard|Hudson Yards""".split("|"),
    "ES": """Calle de Alcalá|Gran Vía|Paseo de la Castellana|Calle Mayor|Avenida Diagonal|Passeig de Gràcia|
    Calle de Serrano|Avenida de América|Calle de Velázquez|Rambla de Catalunya|Calle Colón|Avenida de la Constitución|
    Calle Larios|Plaza Mayor|Calle de Príncipe de Vergara|Paseo de Recoletos|Calle de José Ortega y Gasset|
    Avenida de Burgos|Calle de Orense|Carrer de Balmes|Via Augusta|Calle de Zurbano|Avenida de Europa|
    Calle de Goya|Plaza de Cataluña|Calle de Alfonso XII|Calle de María de Molina|Paseo de Gracia""".split("|"),
    "IT": """Via Roma|Via Garibaldi|Corso Buenos Aires|Via Montenapoleone|Via del Corso|Piazza del Duomo|Via Dante|
    Corso Vittorio Emanuele II|Via Torino|Via Nazionale|Viale Monza|Via Po|Piazza della Repubblica|Via Indipendenza|
    Via dei Mille|Corso Venezia|Via Manzoni|Piazza Cordusio|Via della Moscova|Viale Certosa|Via Lagrange|
    Corso Francia|Via XX Settembre|Via Larga|Piazza Cavour|Viale Europa|Via Marsala|Corso Magenta|Via Tortona|
    Piazza Gae Aulenti|Via Vittor Pisani|Via Veneto""".split("|"),
    "BE": """Rue de la Loi|Avenue Louise|Boulevard Anspach|Rue Royale|Avenue des Arts|Chaussée de Louvain|Rue Neuve|
    Boulevard du Roi Albert II|Rue du Marché aux Herbes|Avenue de Tervueren|Boulevard de Waterloo|Place Saint-Lambert|
    Boulevard d'Avroy|Rue de Fer|Boulevard Tirou|Avenue Marnix|Meir|Grote Markt|Kouter|Korenmarkt|Frankrijklei|
    Italiëlei|Veldstraat|Bondgenotenlaan|Naamsestraat|Bruul|Steenstraat|Noorderlaan|Kortrijksesteenweg|
    Wetstraat|Louizalaan|Kunstlaan|Koningsstraat|Nieuwstraat|Leuvensesteenweg|Koning Albert II-laan""".split("|"),
    "SE": """Drottninggatan|Kungsgatan|Sveavägen|Birger Jarlsgatan|Vasagatan|Hamngatan|Storgatan|Östra Hamngatan|
    Kungsportsavenyen|Södra Förstadsgatan|Stortorget|Regeringsgatan|Strandvägen|Klarabergsgatan|Mäster Samuelsgatan|
    Lilla Bommen|Lindholmspiren|Götgatan|Hornsgatan|Norrlandsgatan|Biblioteksgatan|Stora Nygatan|Västra Hamngatan|
    Kungsträdgårdsgatan|Torsgatan|Dag Hammarskjölds Väg|Vallgatan|Lundavägen""".split("|"),
}
for _k, _v in STREETS.items():
    STREETS[_k] = [s.strip() for s in _v if s.strip()]
# More everyday streets that exist in most towns of the country.
_MORE_STREETS = {
    "IE": ["Church Street", "Bridge Street", "Castle Street", "John Street", "Parnell Street", "Market Square",
           "Station Road", "William Street", "Mary Street", "Strand Street", "Sarsfield Street"],
    "ES": ["Calle Real", "Avenida de la Libertad", "Calle San Francisco", "Calle del Carmen", "Avenida de Andalucía",
           "Calle de la Iglesia", "Calle Nueva", "Avenida de España", "Calle del Sol", "Calle de Cervantes"],
    "SE": ["Järnvägsgatan", "Skolgatan", "Kyrkogatan", "Torggatan", "Industrigatan", "Stationsgatan", "Nygatan",
           "Trädgårdsgatan", "Parkvägen", "Västra Storgatan"],
    "IT": ["Via Mazzini", "Via Cavour", "Via Matteotti", "Corso Italia", "Via Verdi", "Piazza Garibaldi",
           "Via della Repubblica", "Via Marconi"],
    "US": ["Maple Avenue", "Park Street", "Center Street", "Pearl Street", "Lake Street", "Cedar Street",
           "Spring Street", "Jefferson Street", "Commerce Street", "Grand Avenue"],
    "NL": ["Hoofdstraat", "Molenstraat", "Schoolstraat", "Julianalaan", "Wilhelminastraat", "Nieuwstraat",
           "Beatrixlaan", "Kanaalweg"],
}
for _k, _v in _MORE_STREETS.items():
    STREETS[_k].extend(x for x in _v if x not in STREETS[_k])

# Streets that belong to one city (Deansgate is in Manchester, Wilshire
# Boulevard in Los Angeles); every other street of the country is "generic"
# and may appear in any of its cities.
CITY_STREETS: dict[str, dict[str, list[str]]] = {
    "GB": {
        "London": ["Bishopsgate", "Cheapside", "Fleet Street", "Oxford Street", "Regent Street", "Moorgate",
                   "Gracechurch Street", "Great Portland Street", "Old Broad Street", "Southwark Street",
                   "Victoria Street", "Charlotte Street", "Grosvenor Square", "St James's Square", "Berkeley Square",
                   "Whitehall Place", "Canada Square", "Cannon Street", "Lombard Street", "Queen Victoria Street",
                   "Sheldon Square", "Hanover Square", "Commercial Road"],
        "Manchester": ["Deansgate", "Spinningfields Square", "Piccadilly Place", "Canal Street"],
        "Birmingham": ["Colmore Row"],
        "Bristol": ["Temple Quay"],
        "Leeds": ["Park Row", "Wellington Street"],
        "Edinburgh": ["Princes Street", "George Street"],
    },
    "IE": {
        "Dublin": ["Baggot Street Lower", "Baggot Street Upper", "Grafton Street", "O'Connell Street Upper",
                   "Harcourt Street", "Leeson Street Lower", "Sir John Rogerson's Quay", "Pembroke Street Upper",
                   "Merrion Square", "Fitzwilliam Square", "Dawson Street", "St Stephen's Green",
                   "Mount Street Lower", "Hatch Street Upper", "George's Quay", "Custom House Quay",
                   "North Wall Quay", "Henry Street", "Adelaide Road", "Ballsbridge Terrace"],
        "Cork": ["Patrick Street", "South Mall", "Lapps Quay"],
        "Galway": ["Eyre Square", "Shop Street", "Dock Road"],
    },
    "DE": {
        "Berlin": ["Friedrichstraße", "Karl-Marx-Allee", "Kurfürstendamm", "Unter den Linden", "Potsdamer Platz",
                   "Heidestraße", "Leipziger Straße", "Wilhelmstraße"],
        "Hamburg": ["Jungfernstieg", "Mönckebergstraße", "Am Sandtorkai", "Speicherstadt", "Große Elbstraße"],
        "Frankfurt am Main": ["Taunusanlage", "Neue Mainzer Straße", "Mainzer Landstraße", "Bockenheimer Landstraße",
                              "Kaiserstraße"],
        "München": ["Maximilianstraße", "Leopoldstraße", "Prinzregentenstraße"],
        "Düsseldorf": ["Königsallee", "Berliner Allee", "Theodor-Heuss-Allee"],
        "Köln": ["Hohenzollernring", "Kölner Straße"],
        "Stuttgart": ["Zeppelinstraße", "Robert-Bosch-Straße", "Schlossplatz"],
    },
    "FR": {
        "Paris": ["rue de la Paix", "rue du Faubourg Saint-Honoré", "avenue des Champs-Élysées", "boulevard Haussmann",
                  "rue de Rivoli", "avenue de l'Opéra", "avenue de la Grande Armée", "rue La Boétie",
                  "boulevard de Sébastopol", "avenue Kléber", "rue Saint-Lazare", "place Vendôme", "avenue Montaigne",
                  "rue du Quatre-Septembre", "boulevard Malesherbes", "avenue du Président Wilson", "rue de la Bourse",
                  "quai de la Tournelle", "avenue Foch"],
        "Lyon": ["place Bellecour", "cours Lafayette", "quai Perrache", "rue de la République"],
        "Bordeaux": ["rue Sainte-Catherine", "cours de l'Intendance"],
        "Puteaux": ["esplanade du Général de Gaulle", "cours Michelet"],
        "Courbevoie": ["esplanade du Général de Gaulle", "boulevard Michelet"],
        "Toulouse": ["rue d'Alsace-Lorraine", "place du Capitole"],
        "Strasbourg": ["rue de Metz", "place Kléber"],
    },
    "NL": {
        "Amsterdam": ["Keizersgracht", "Herengracht", "Prinsengracht", "Damrak", "Kalverstraat", "Gustav Mahlerlaan",
                      "Strawinskylaan", "Rokin", "Leidseplein", "Beursplein", "Nieuwezijds Voorburgwal",
                      "Evert van de Beekstraat", "Hoogoorddreef", "De Entree"],
        "Rotterdam": ["Coolsingel", "Weena", "Blaak", "Wilhelminakade", "Kruisplein", "Nieuwe Binnenweg"],
        "Den Haag": ["Lange Voorhout", "Churchillplein", "Prinses Beatrixlaan"],
        "Utrecht": ["Oudegracht", "Catharijnesingel", "Croeselaan", "Jaarbeursplein", "Laan van Kronenburg"],
        "Eindhoven": ["Vestdijk", "Fellenoord"],
    },
    "US": {
        "New York": ["Fifth Avenue", "Madison Avenue", "Park Avenue", "Wall Street", "Lexington Avenue", "Sixth Avenue",
                     "Third Avenue", "Seventh Avenue", "Second Avenue", "Hudson Yards", "Broadway"],
        "Chicago": ["Michigan Avenue", "West Wacker Drive", "North LaSalle Street"],
        "Austin": ["Congress Avenue", "Lamar Boulevard"],
        "San Francisco": ["Mission Street", "California Street", "Montgomery Street", "Howard Street", "Pine Street"],
        "Boston": ["Boylston Street", "Federal Street", "Franklin Street"],
        "Atlanta": ["Peachtree Street"],
        "Los Angeles": ["Wilshire Boulevard", "Santa Monica Boulevard"],
        "Dallas": ["Ross Avenue", "McKinney Avenue"],
        "Charlotte": ["South Tryon Street"],
        "Philadelphia": ["Chestnut Street", "Walnut Street"],
        "Denver": ["Seventeenth Street", "Larimer Street"],
    },
    "ES": {
        "Madrid": ["Calle de Alcalá", "Gran Vía", "Paseo de la Castellana", "Calle de Serrano", "Avenida de América",
                   "Calle de Velázquez", "Calle de Príncipe de Vergara", "Paseo de Recoletos",
                   "Calle de José Ortega y Gasset", "Avenida de Burgos", "Calle de Orense", "Calle de Zurbano",
                   "Avenida de Europa", "Calle de Goya", "Calle de Alfonso XII", "Calle de María de Molina"],
        "Barcelona": ["Avenida Diagonal", "Passeig de Gràcia", "Rambla de Catalunya", "Carrer de Balmes", "Via Augusta",
                      "Plaza de Cataluña", "Paseo de Gracia"],
        "Málaga": ["Calle Larios"],
        "Sevilla": ["Avenida de la Constitución"],
    },
    "IT": {
        "Milano": ["Corso Buenos Aires", "Via Montenapoleone", "Piazza del Duomo", "Via Dante", "Viale Monza", "Corso Venezia",
                   "Via Manzoni", "Piazza Cordusio", "Via della Moscova", "Viale Certosa", "Corso Magenta", "Via Tortona",
                   "Piazza Gae Aulenti", "Via Vittor Pisani", "Via Torino"],
        "Roma": ["Via del Corso", "Via Nazionale", "Piazza della Repubblica", "Via Veneto", "Via Marsala",
                 "Corso Vittorio Emanuele II"],
        "Torino": ["Via Po", "Via Lagrange", "Corso Francia"],
        "Bologna": ["Via Indipendenza"],
        "Firenze": ["Via Larga", "Piazza Cavour"],
    },
    "SE": {
        "Stockholm": ["Drottninggatan", "Sveavägen", "Birger Jarlsgatan", "Vasagatan", "Hamngatan", "Regeringsgatan",
                      "Strandvägen", "Klarabergsgatan", "Mäster Samuelsgatan", "Götgatan", "Hornsgatan",
                      "Norrlandsgatan", "Biblioteksgatan", "Kungsträdgårdsgatan", "Torsgatan"],
        "Göteborg": ["Östra Hamngatan", "Kungsportsavenyen", "Lilla Bommen", "Lindholmspiren", "Västra Hamngatan",
                     "Vallgatan"],
        "Malmö": ["Södra Förstadsgatan", "Stortorget", "Stora Nygatan"],
        "Lund": ["Lundavägen"],
    },
}
for _c, _by_city in CITY_STREETS.items():
    for _city_streets in _by_city.values():
        for _s in _city_streets:
            if _s not in STREETS[_c]:
                STREETS[_c].append(_s)
_CITY_SPECIFIC = {c: {s for lst in by_city.values() for s in lst} for c, by_city in CITY_STREETS.items()}
GENERIC_STREETS: dict[str, list[str]] = {
    c: [s for s in streets if s not in _CITY_SPECIFIC.get(c, set())] for c, streets in STREETS.items()
}

# Belgian streets by language; Brussels ones come as FR/NL pairs.
BE_STREETS_FR = STREETS["BE"][:16]
BE_STREETS_NL = STREETS["BE"][16:29]
BE_BILINGUAL = dict(zip(
    ["Rue de la Loi", "Avenue Louise", "Avenue des Arts", "Rue Royale", "Rue Neuve", "Chaussée de Louvain",
     "Boulevard du Roi Albert II"],
    ["Wetstraat", "Louizalaan", "Kunstlaan", "Koningsstraat", "Nieuwstraat", "Leuvensesteenweg",
     "Koning Albert II-laan"],
))

# (pattern, [replacements]) applied to build abbreviated spellings.
_ABBREV: dict[str, list[tuple[str, list[str]]]] = {
    "GB": [(r"\bStreet\b", ["St", "St."]), (r"\bRoad\b", ["Rd", "Rd."]), (r"\bLane\b", ["Ln"]),
           (r"\bSquare\b", ["Sq", "Sq."]), (r"\bPlace\b", ["Pl"]), (r"\bAvenue\b", ["Ave"]),
           (r"\bSt James's\b", ["St James", "St. James's"]), (r"\bRow\b", ["Rw"]), (r"\bQuay\b", ["Qy"])],
    "IE": [(r"\bStreet\b", ["St", "St."]), (r"\bLower\b", ["Lr", "Lwr"]), (r"\bUpper\b", ["Upr", "Up."]),
           (r"'s\b", ["s"]), (r"\bSquare\b", ["Sq"]), (r"\bRoad\b", ["Rd"]), (r"\bTerrace\b", ["Tce"])],
    "US": [(r"\bAvenue\b", ["Ave", "Ave."]), (r"\bStreet\b", ["St", "St."]), (r"\bBoulevard\b", ["Blvd", "Blvd."]),
           (r"\bDrive\b", ["Dr", "Dr."]), (r"\bFifth\b", ["5th"]), (r"\bSixth\b", ["6th"]), (r"\bThird\b", ["3rd"]),
           (r"\bSeventh\b", ["7th"]), (r"\bSecond\b", ["2nd"]), (r"\bFirst\b", ["1st"]), (r"\bSeventeenth\b", ["17th"]),
           (r"\bNorth\b", ["N", "N."]), (r"\bSouth\b", ["S", "S."]), (r"\bWest\b", ["W", "W."])],
    "DE": [(r"straße\b", ["str.", "strasse", "str"]), (r"\bStraße\b", ["Str.", "Strasse"]),
           (r"platz\b", ["pl.", "platz"]), (r"\bPlatz\b", ["Pl."]), (r"allee\b", ["allee"]),
           (r"Landstraße\b", ["Landstr.", "Landstrasse"])],
    "FR": [(r"^avenue\b", ["av.", "ave", "Av."]), (r"^boulevard\b", ["bd", "bld", "Bd"]), (r"^place\b", ["pl.", "Pl."]),
           (r"\bFaubourg\b", ["Fbg", "Fg"]), (r"^rue\b", ["r.", "Rue"]), (r"\bSaint\b", ["St"]), (r"\bSainte\b", ["Ste"]),
           (r"\bGénéral\b", ["Gal", "Gén."]), (r"^quai\b", ["Qu."]), (r"^chemin\b", ["ch."]), (r"^allée\b", ["all."])],
    "NL": [(r"straat\b", ["str.", "str"]), (r"laan\b", ["ln"]), (r"gracht\b", ["gr."]),
           (r"\bPrinses\b", ["Pr."]), (r"singel\b", ["sngl"])],
    "ES": [(r"^Calle de ", ["C/ ", "C/", "Calle ", "c/ "]), (r"^Calle ", ["C/ ", "C/"]), (r"^Avenida de la ", ["Avda. de la ", "Av. de la "]),
           (r"^Avenida de ", ["Avda. de ", "Av. "]), (r"^Avenida ", ["Avda. ", "Av. "]), (r"^Paseo de ", ["Pº de ", "P.º ", "Pso. "]),
           (r"^Plaza de ", ["Pza. de ", "Pl. "]), (r"^Plaza ", ["Pza. ", "Pl. "]), (r"^Carrer de ", ["C/ ", "Calle "]),
           (r"^Passeig de ", ["Pg. de ", "Paseo de "])],
    "IT": [(r"^Via ", ["V. "]), (r"^Piazza ", ["P.zza ", "P.za ", "Pza "]), (r"^Corso ", ["C.so "]), (r"^Viale ", ["V.le "])],
    "BE": [(r"^Rue ", ["R. ", "rue "]), (r"^Avenue ", ["Av. ", "Ave "]), (r"^Boulevard ", ["Bd ", "Bld "]),
           (r"^Chaussée ", ["Chée ", "Ch. "]), (r"straat\b", ["str."]), (r"steenweg\b", ["stwg", "stwg."]),
           (r"laan\b", ["ln"])],
    "SE": [(r"gatan\b", ["g.", "gt"]), (r"vägen\b", ["v.", "vagen"]), (r"\bVäg\b", ["v.", "Vag"])],
}


def _street_variants(country: str, street: str) -> list[str]:
    """All abbreviated spellings of one street (the full one first)."""
    variants = [street]
    for pattern, reps in _ABBREV.get(country, []):
        rx = re.compile(pattern)
        if rx.search(street):
            new = []
            for v in variants:
                for rep in reps:
                    new.append(rx.sub(rep, v, count=1))
            variants.extend(new)
    out: list[str] = []
    for v in variants:
        if v not in out:
            out.append(v)
    return out[:12]


STREET_VARIANTS: dict[str, dict[str, list[str]]] = {
    c: {s: _street_variants(c, s) for s in streets} for c, streets in STREETS.items()
}
for _fr, _nl in BE_BILINGUAL.items():
    STREET_VARIANTS["BE"][_fr] = STREET_VARIANTS["BE"][_fr] + [f"{_fr} / {_nl}", _nl]

# Precomputed ASCII folding for every street/city spelling ("Hauptstraße" -> "Hauptstrasse").
ASCII = {}
for _c, _d in STREET_VARIANTS.items():
    for _s, _vs in _d.items():
        for _v in _vs:
            ASCII[_v] = unidecode(_v)
for _c, _cities in CITIES.items():
    for _city in _cities:
        for _n in [_city[0], *_city[1]]:
            ASCII[_n] = unidecode(_n)
# German-style transliteration for umlauts (ERP exports without Unicode).
_DE_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def fold_de(text: str) -> str:
    return text.translate(_DE_FOLD)


# UK building names used in the first address line ("Albion House, 12 High Street").
BUILDING_NAMES = """Albion House|Victoria House|Kings Place|The Shard|One Canada Square|Tower 42|Exchange House|
Bridgewater House|Centre Point|Castle Court|Central Point|Quayside House|Riverside House|Cathedral House|
Wellington House|Regent House|Sovereign House|Oxford House|Imperial House|Lancaster House""".replace("\n", "").split("|")

# --------------------------------------------------------------------------
# Contracts and projects
# --------------------------------------------------------------------------

SERVICES = [
    "ERP Implementation", "Finance Transformation", "Cloud Migration", "Managed Services", "Cyber Security Assessment",
    "Data Platform Build", "Strategy Review", "Audit Support", "Tax Advisory", "Operating Model Redesign",
    "CRM Rollout", "Supply Chain Optimisation", "Digital Strategy", "Post-Merger Integration", "Cost Reduction Programme",
    "HR Transformation", "Regulatory Compliance Review", "IT Due Diligence", "Data Governance", "SAP S/4HANA Migration",
    "Salesforce Implementation", "AI Readiness Assessment", "Procurement Excellence", "Risk Management Framework",
    "Application Support", "Payroll Outsourcing", "ESG Reporting", "Customer Experience Redesign", "PMO Support",
    "Network Modernisation", "Interim CFO Services", "Pricing Strategy", "Workday Deployment", "Target Operating Model",
]
PHASES = ["", "", "", " Phase 1", " Phase 2", " Phase 3", " – Wave 1", " – Wave 2", " 2024", " 2025", " 2026", " (Renewal)", " Extension"]
# Short forms ERP clerks type into a 40-character description field.
SERVICE_SHORT = {
    "ERP Implementation": "ERP IMPL", "Finance Transformation": "FIN TRANSF", "Cloud Migration": "CLOUD MIGR",
    "Managed Services": "MANAGED SVCS", "Cyber Security Assessment": "CYBER SEC ASSMT", "Data Platform Build": "DATA PLATF",
    "Operating Model Redesign": "OP MODEL REDESIGN", "Supply Chain Optimisation": "SUPPLY CHAIN OPT",
    "Post-Merger Integration": "PMI", "Cost Reduction Programme": "COST RED PROG", "Regulatory Compliance Review": "REG COMPL REV",
    "Customer Experience Redesign": "CX REDESIGN", "Target Operating Model": "TOM",
}
