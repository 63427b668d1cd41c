"""Build tests/data/real_pairs.tsv: labelled pairs of REAL ticker lines (and edits of real
lines, marked as such) for measuring the near-duplicate classifier (ticker/dedupe.py).

Run:  .venv/bin/python tests/data/make_real_pairs.py
Deterministic: standard library only, no network, no randomness. How the set was built, and
its counts, are in tests/data/real_pairs.md.

Labelling rule (human judgement; "story" = one event as a reader would tell it)
-----------------------------------------------------------------------------
duplicate -- the same facts; only spelling (vowel marks, tatweel, hamza, alef forms, digits
             written ٤٤ or 44, accents, a typo fixed, case), punctuation, spacing or the way the
             attribution is written differ ("Kremlin spokesperson Dmitry Peskov" / "Peskov",
             "Al Mayaden's" / "Al Mayadeen's", مراسل الميادين / مراسلنا, "Corresponsal de Al
             Mayadeen" / "Nuestro corresponsal"), or the same body re-credited to
             another source (a lawyer, then our correspondent). But an attribution that
             is a place (a dateline such as الكرك:) or a body tied to a place (the director
             of another hospital) is part of the facts: another one is another place.
update    -- the same event re-posted with a fact changed or added (a toll that rises, a detail,
             a place made precise) or in other words (a reworded re-post, with or without a
             new attribution form).
distinct  -- another event: another place (town, street, hospital, region), another person,
             another time (a toll of another day), another action, or another statement of
             the same speaker (two quotes from one speech that say different things are two
             lines the site posted on purpose), even when worded alike or under the same
             attribution.
Pairs whose label a careful reader could dispute were left out (listed in real_pairs.md).

Columns: label, lang (en/ar/es), source (real: both lines occur verbatim in
tests/data/real_strips/*.json; edit: at least one line was made or edited here), first (the
earlier line), second (the later one), note (what the pair shows).
"""

# ruff: noqa: E501 (a data file: each row keeps its two real lines whole, as the site wrote them)
from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
STRIPS = HERE / "real_strips"
OUT = HERE / "real_pairs.tsv"
COLUMNS = ("label", "lang", "source", "first", "second", "note")

Row = tuple[str, str, str, str, str, str]

_HARAKAT = re.compile("[\u064b-\u0652\u0670]")
_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_HAMZA_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})


def no_marks(text: str) -> str:
    """`text` without Arabic vowel marks (harakat, shadda, sukun, dagger alef)."""
    return _HARAKAT.sub("", text)


def indic(text: str) -> str:
    """ASCII digits written as Arabic-Indic digits."""
    return text.translate(_INDIC)


def persian(text: str) -> str:
    """ASCII digits written as Persian (Extended Arabic-Indic) digits."""
    return text.translate(_PERSIAN)


def no_hamza(text: str) -> str:
    """Alef with hamza or madda written as a bare alef, as many sites type it."""
    return text.translate(_HAMZA_ALEF)


def tatweel(text: str, word: str, at: int, count: int = 3) -> str:
    """`word` in `text` stretched with `count` tatweels after its first `at` letters (between
    two joining letters, where sites put it)."""
    assert word in text, word
    return text.replace(word, word[:at] + "\u0640" * count + word[at:], 1)


def no_accents(text: str) -> str:
    """Latin accents dropped (á -> a, ñ -> n), as typed on a keyboard without them."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def swap(text: str, old: str, new: str) -> str:
    """`text` with its one occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, (old, text)
    return text.replace(old, new)


def real(label: str, lang: str, first: str, second: str, note: str) -> Row:
    return (label, lang, "real", first, second, note)


def edit(label: str, lang: str, first: str, second: str, note: str) -> Row:
    return (label, lang, "edit", first, second, note)


# --- English: real lines of english.almayadeen.net's BREAKING strip --------------------------

PESKOV_FULL = (
    "Kremlin spokesperson Dmitry Peskov: Moscow is interested in maintaining a peaceful situation"
    " between Venezuela and the United States."
)
PESKOV_SHORT = (
    "Peskov: Moscow is closely monitoring developments in Venezuela and is keen for relations"
    " between Caracas and Washington to remain calm."
)
ABDALLAH_LAWYER = (
    "Defense Attorney: Lebanese activist George Ibrahim Abdallah will be released on July 25"
)
ABDALLAH_FRANCE = (
    "Al Mayadeen\u2019s correspondent in France: Georges Abdallah\u2019s lawyer has officially informed"
    " him of the court\u2019s decision granting his release"
)
HIJRI_LONG = (
    "Spiritual Leadership of the Druze Unitarian community, headed by Sheikh Hikmat al-Hijri: We"
    " call on the guarantors of the ceasefire in Sweida to shoulder their responsibilities"
)
HIJRI_SHORT = (
    "Al-Hijri: We call on the guarantor states of the ceasefire agreement to fulfill their pledges"
    " to halt this attack and impose direct international protection for the Druze of Syria"
)
HIJRI_OTHER = (
    "Al-Hijri: It is unfortunate and shameful that the other party is not abiding by the"
    " ceasefire and that the hostile gangs continue to commit shameful crimes"
)
QASSEM_ARMS = (
    "Sheikh Qassem: We will not abandon our arms, for they gave us dignity; we will not abandon"
    " our arms, for they protect us against our enemy."
)
QASSEM_SOUL = (
    "Sheikh Qassem: Stripping us of our arms is like stripping us of our very soul, and this will"
    " prompt us to show them our might."
)
QASSEM_PHASED = (
    "Sheikh Qassem: There will be no phased handing in of our arms. [The Israelis] must first"
    " enact the agreement before we start talking about a defensive strategy."
)
QASSEM_US_SABOTAGE = (
    "Sheikh Qassem: The US efforts we are seeing are aimed at sabotaging Lebanon and constitute a"
    " call for sedition."
)
QASSEM_US_TRUST = (
    "Sheikh Qassem: The United States, which is meddling in Lebanon, is not trustworthy but rather"
    " poses a danger to it."
)
QASSEM_BRAVE = (
    "Sheikh Qassem: Be brave in the face of foreign pressures, and we will be by your side in this"
    " stance."
)
ARMY_ARREST = (
    "Al Mayadeen's correspondent: The Lebanese army arrested a number of people in the Matn area"
    " of Mount Lebanon with possession it has not disclosed"
)
ARMY_AROUND10 = (
    "Al Mayadeen's correspondent: Around 10 people of different nationalities, including Lebanese"
    " nationals, were detained"
)
ARMY_ISIS = (
    "Al Mayadeen's correspondent: It has not yet been determined whether the detainees belong to"
    " ISIS or another organization"
)
ARMY_INVESTIGATE = (
    "Al Mayadeen's correspondent: The Lebanese Army is continuing its investigations and will later"
    " announce any information that does not affect the confidentiality of the investigation"
)
CD_INDICATIONS = (
    "Gaza Civil Defense spokesman: We have strong indications that there are martyrs, injuries,"
    " and trapped people in the Salah al-Din area"
)
CD_AVOID = (
    "Gaza Civil Defense spokesman: Citizens should avoid Salah al-Din Street because anyone who"
    " approaches it is at risk of being directly targeted"
)
CD_RETREAT = (
    "Gaza Civil Defense spokesman: Reality is that there is a very limited retreat of the vehicles,"
    " with the occupation forces providing cover undeer fire up to Salah al-Din Street"
)
CD_CLAIMS = (
    "Gaza Civil Defense spokesman: Claims that the Israeli occupation has withdrawn from areas in"
    " the neighborhoods of al-Zaytoun, al-Tuffah, and al-Shujaiya are false"
)
HAMAS_STRESSED = (
    "Hamas: The two delegations stressed that any negotiations must lead to the achievement of our"
    " people's goals and aspirations, foremost among which is ending the war and the complete"
    " withdrawal of enemy forces"
)
HAMAS_MET = (
    "Hamas: A delegation from the Hamas leadership, led by the head of the leadership council,"
    " Mohammad Darwish, met with an Islamic Jihad delegation, headed by its Secretary-General,"
    " Ziyad al-Nakhalah"
)
THREAT_NEW = (
    "Israeli occupation forces issue a new bombing threat against civilian buildings in the"
    " Southern Lebanese towns of Borj Qalaouiye and Chehabiyeh."
)
THREAT_OLD = "Israeli occupation forces issued bombing threats to bomb civilian buildings in Southern Lebanon."
SRC_TEST = (
    "Sources to Al Mayadeen: Extending the snapback mechanism deadline will test how independent"
    " Europeans truly are from the US."
)
SRC_NULLIFY = (
    "Sources to Al Mayadeen: Activating the snapback mechanism will nullify the Cairo Agreement,"
    " shut the door on cooperation between the IAEA and Tehran, and bar inspections."
)
SRC_WINDOW = (
    "Sources to Al Mayadeen: The diplomatic window remains open, but signs of activating the"
    " snapback sanctions mechanism on Iran are increasing."
)
SRC_CAIRO = (
    "Sources to Al Mayadeen: Although the Cairo Agreement meets an important part of European"
    " demands, they have begun speaking of new conditions in recent communications."
)
SRC_NO_INDEPENDENCE = (
    "Sources to Al Mayadeen: European countries show no independence in their stance toward Iran"
    " during the talks."
)
MEDIA_ALLENBY = "Israeli media: Person behind shooting operation at Allenby Crossing is a Jordanian Army soldier."
MEDIA_YEMEN = "Israeli media: Israeli Air Force currently carrying out attacks on Yemen."
MOHAJERANI = (
    "Iranian government spokesperson Fatemeh Mohajerani: The Foreign Ministry has received messages"
    " to resume talks, and we will announce the details in due course"
)
HEGSETH_VESSEL = (
    "Pete Hegseth announces US strike on a vessel in the Caribbean Sea, which killed three people"
    " on board."
)
HEGSETH_EITHER = (
    "Hegseth: Either the Nigerian government protects the Christians, or we will kill the"
    " terrorists committing these horrific atrocities."
)
HEGSETH_KILLING = (
    "Hegseth: The killing of innocent Christians in Nigeria must stop immediately... The"
    " Department of War is preparing to take action."
)
HEGSETH_AGREED = (
    "Hegseth: Admiral Dong Jun and I agreed that peace, stability, and good relations are the best"
    " path forward for our two great and powerful countries."
)
HEGSETH_MEETING = (
    "Pete Hegseth: I held a positive meeting with my Chinese counterpart, Admiral Dong Jun, in"
    " Malaysia, and we spoke again last night."
)
ERDOGAN_OWN = "Erdogan: US understands it needs to own this issue more."
ERDOGAN_SHARAA = (
    "Erdogan: Syrian President al-Sharaa has shown a strong stance in conflict with Israel, made no"
    " compromises."
)
ERDOGAN_DRUZE = (
    "Erdogan: All but one druze faction agreed to respect ceasefire during talks in Amman."
)
ERDOGAN_CONTROL = (
    "Turkish President Erdogan: Syrian government has established some control in the South."
)
CORR_NASR = (
    "Al Mayadeen's correspondent: Injuries reported as Israeli warplanes targeted a residential"
    " building on al-Nasr Street, west of Gaza City"
)
SHIFA = (
    "Occupied Palestine: Director of Al-Shifa Hospital: There is no longer room for any wounded"
    " inside."
)
CORR_TOLL50 = (
    "Al Mayadeen's correspondent: Death toll nears 50 in northern Gaza aid massacre, with more"
    " casualties expected"
)
GMO_PRECIPICE = (
    "Gaza Government Media Office: We are on the precipice of mass deaths on account of occupation"
    " closing all crossings for more than 140 days."
)
GMO_WATCHES = (
    "Gaza Government Media Office: World watches as Gaza is slaughtered without batting an eye."
)
DEIR_KEEFA = (
    "The Israeli occupation targets Deir Keefa in South Lebanon with 2 surface-to-surface missiles"
)
LAZZ_RESULT = (
    "Philippe Lazzarini: The famine in Gaza is a direct result of banning food and other basic"
    " supplies for months including from UNRWA ."
)
LAZZ_SPREAD = (
    "Philippe Lazzarini: The spread of famine can still be controlled by a ceasefire and allowing"
    " humanitarian organizations to do their work and reach starving people with aid."
)
UN_FAMINE = (
    "The United Nations on the Israeli-induced famine in Gaza: The starvation of civilians for"
    " military objectives is a war crime."
)
LAZZ_CONFIRMED = (
    "UNRWA Commissioner-General Philippe Lazzarini: famine is now confirmed in Gaza city. This is"
    " starvation by design and manmade by the Government of Israel."
)
MORE_THAN_30 = (
    "More than 30 people have been martyred in Gaza since Friday dawn in Israeli bombardment"
    " targeting refugee camps throughout the blockaded strip."
)
CORR_TUFFAH = (
    "Al Mayadeen correspondent: The Israeli occupation forces are carrying out demolitions of"
    " residential buildings in Gaza's al-Tuffah neighborhood amid intensifying airstrikes."
)
OUTLET_ASSESSMENT = (
    "Israeli media outlet: Netanyahu and Katz are expected to conduct a security assessment soon,"
    " and a wave of attacks in Gaza is anticipated later"
)
OUTLET_TUNNEL = (
    "Israeli media outlet: Gunmen emerged from a tunnel in Rafah and attacked forces in the area"
    " with gunfire and anti-tank missiles"
)
BEIT_JINN = (
    "Local sources from Damascus countryside: An Israeli occupation drone targeted the road"
    " connecting the town of Beit Jinn and Tell Bat al-Warda with 3 airstrikes, without any"
    " reported casualties"
)
BUREAU_ENVOY = (
    "Al Mayadeen's Beirut Bureau chief: Addition of non-military envoy was agreed upon to pursue"
    " non-technical matters."
)
BUREAU_READINESS = (
    "Al Mayadeen's Beirut Bureau Chief: Lebanese Presidency's statement affirms Lebanon's readiness"
    " to attend talks in an effective capacity."
)
PRESIDENCY_KARAM = (
    "Lebanese Presidency: President has assigned former Ambassador Simon Karam to head military"
    " technical committee in talks."
)
SURIF = (
    "Israeli occupation forces carry out an arrest campaign during a raid on Surif, north of"
    " Al-Khalil in the southern occupied West Bank."
)
YOHMOR = (
    "Al Mayadeen's correspondent in South Lebanon: One was killed in the raid carried out by an"
    " Israeli drone on a motorcycle in the town of Yohmor al-Shaqif"
)
CORR_62 = (
    "Al Mayadeen's correspondent: 62 martyrs killed by IOF in Gaza since morning, including 32 aid"
    " seekers."
)
REUTERS_LA = (
    "Reuters: More than 20 injured in Los Angeles, including four critically, after a car rammed"
    " into a crowd"
)
NNA_MATAL = (
    "NNA: A civilian was killed in a drone strike while fixing plumbing on a rooftop in Matal"
    " al-Jabal, on the outskirts of al-Khiam"
)
LOCAL_QATANA = (
    "Local sources: The Israeli force, which crossed into southern rural Damascus, has reached the"
    " town of Qatana, located just 10 kilometers from the Syrian capital"
)
LOCAL_UNIT = (
    "Local sources: An Israeli ground unit, comprising more than 15 military and armored vehicles,"
    " carried out an incursion into southern rural Damascus from the occupied Syrian Golan"
)
BELGIAN = (
    "Belgian court orders regional government to stop military exports to Israel, Belga reports"
)
PATRIARCHATE = (
    "Latin Patriarchate in occupied al-Quds: The Holy Family Church in Gaza was subjected to Israeli"
    " shelling, resulting in injuries, including Father Gabriele Romanelli"
)
KFOUR = (
    "Al Mayadeen's correspondent in South Lebanon: One was martyred in a raid that targeted the town"
    " of Kfour, Nabatieh District"
)
NAQOURA = (
    "Al Mayadeen's correspondent in South Lebanon: One was martyred in an Israeli drone strike that"
    " targeted a truck in the town of Naqoura"
)
QLAILAH = (
    "Al Mayadeen correspondent: An Israeli drone strike targeted the town of Al-Qlailah, Southern"
    " Lebanon."
)
HAROUF = (
    "Al Mayadeen's correspondent in South Lebanon: Israeli drone strikes town of Harouf, Nabatieh"
    " district."
)
FACT_CEASEFIRE = (
    "Factions' statement: The attendees agreed to support and continue implementing the ceasefire"
    " agreement measures, including the withdrawal of the occupation and lifting the siege."
)
FACT_TORTURE = (
    "Factions' statement: Calling for an end to all forms of torture and violations against"
    " prisoners in occupation prisons and the necessity of obligating the occupation to do so."
)
FACT_STATEMENT = (
    "Statement: The current moment is crucial, making the meeting a true turning point toward"
    " national unity in defense of our people and their right to life, dignity, and freedom."
)
FACT_MEETING = (
    "Factions' statement: Call for an urgent meeting of all Palestinian forces and factions to"
    " agree on a national strategy."
)
FACT_JOINT = (
    "Factions' statement: Continuing joint work to unify visions and positions to confront the"
    " challenges facing the Palestinian cause."
)

EN_REAL: list[Row] = [
    # Re-posts found in the captures (newest first in a strip: the lower line is the earlier).
    real(
        "update",
        "en",
        PESKOV_FULL,
        PESKOV_SHORT,
        "re-post reworded; attribution full name -> surname",
    ),
    real(
        "update",
        "en",
        ABDALLAH_LAWYER,
        ABDALLAH_FRANCE,
        "re-post reworded under another attribution (lawyer -> correspondent in France)",
    ),
    real(
        "update",
        "en",
        HIJRI_LONG,
        HIJRI_SHORT,
        "re-post reworded with detail added; long attribution -> surname",
    ),
    real("duplicate", "en", QASSEM_ARMS, QASSEM_ARMS, "re-poll: the same block on two pages"),
    real("duplicate", "en", QASSEM_BRAVE, QASSEM_BRAVE, "re-poll: the same block on two pages"),
    # Hard distinct: same attribution (or speaker), same topic, another statement.
    real("distinct", "en", QASSEM_ARMS, QASSEM_SOUL, "same speech, another statement on arms"),
    real("distinct", "en", QASSEM_PHASED, QASSEM_ARMS, "same speech, another statement on arms"),
    real("distinct", "en", QASSEM_SOUL, QASSEM_PHASED, "same speech, another statement on arms"),
    real(
        "distinct",
        "en",
        QASSEM_US_TRUST,
        QASSEM_US_SABOTAGE,
        "same speech, another statement on the US",
    ),
    real(
        "distinct",
        "en",
        ARMY_ARREST,
        ARMY_AROUND10,
        "same attribution, same operation, another fact",
    ),
    real(
        "distinct", "en", ARMY_AROUND10, ARMY_ISIS, "same attribution, same operation, another fact"
    ),
    real(
        "distinct",
        "en",
        ARMY_ISIS,
        ARMY_INVESTIGATE,
        "same attribution, same operation, another fact",
    ),
    real(
        "distinct", "en", CD_CLAIMS, CD_RETREAT, "same attribution, same topic, another statement"
    ),
    real(
        "distinct", "en", CD_RETREAT, CD_AVOID, "same attribution, same street, another statement"
    ),
    real(
        "distinct",
        "en",
        CD_AVOID,
        CD_INDICATIONS,
        "same attribution, same place, another statement",
    ),
    real(
        "distinct", "en", HAMAS_MET, HAMAS_STRESSED, "same attribution, same meeting, another fact"
    ),
    real("distinct", "en", THREAT_OLD, THREAT_NEW, "a new threat: another event, worded alike"),
    real(
        "distinct",
        "en",
        SRC_NO_INDEPENDENCE,
        SRC_TEST,
        "same attribution, same topic, another statement",
    ),
    real(
        "distinct", "en", SRC_CAIRO, SRC_WINDOW, "same attribution, same topic, another statement"
    ),
    real(
        "distinct", "en", SRC_WINDOW, SRC_NULLIFY, "same attribution, same topic, another statement"
    ),
    real(
        "distinct", "en", SRC_NULLIFY, SRC_TEST, "same attribution, same topic, another statement"
    ),
    real("distinct", "en", MEDIA_YEMEN, MEDIA_ALLENBY, "same attribution, another event"),
    real(
        "distinct",
        "en",
        HEGSETH_MEETING,
        HEGSETH_AGREED,
        "same speaker, same meeting, another statement; attribution short form",
    ),
    real(
        "distinct",
        "en",
        HEGSETH_KILLING,
        HEGSETH_EITHER,
        "same speaker, same topic, another statement",
    ),
    real("distinct", "en", HEGSETH_EITHER, HEGSETH_VESSEL, "same speaker, another event"),
    real("distinct", "en", PESKOV_SHORT, MOHAJERANI, "another speaker, another event"),
    real(
        "distinct",
        "en",
        ERDOGAN_CONTROL,
        ERDOGAN_DRUZE,
        "same speaker, another statement; attribution short form",
    ),
    real(
        "distinct",
        "en",
        ERDOGAN_DRUZE,
        ERDOGAN_SHARAA,
        "same speaker, same topic, another statement",
    ),
    real("distinct", "en", ERDOGAN_SHARAA, ERDOGAN_OWN, "same speaker, another statement"),
    real("distinct", "en", CORR_TOLL50, CORR_NASR, "same attribution, another event in Gaza"),
    real(
        "distinct",
        "en",
        GMO_WATCHES,
        GMO_PRECIPICE,
        "same attribution, same topic, another statement",
    ),
    real("distinct", "en", CORR_TOLL50, CORR_62, "same attribution, a toll of another day"),
    real("distinct", "en", CORR_TOLL50, SHIFA, "same massacre, another fact and speaker"),
    real("distinct", "en", MORE_THAN_30, CORR_62, "a toll of another day"),
    real("distinct", "en", MORE_THAN_30, CORR_TOLL50, "a toll of another day, another massacre"),
    real(
        "distinct",
        "en",
        LAZZ_CONFIRMED,
        LAZZ_SPREAD,
        "same speaker (full / short form), same topic, another statement",
    ),
    real("distinct", "en", LAZZ_SPREAD, LAZZ_RESULT, "same speaker, same topic, another statement"),
    real(
        "distinct",
        "en",
        LAZZ_CONFIRMED,
        LAZZ_RESULT,
        "same speaker (full / short form), famine in Gaza, another statement",
    ),
    real("distinct", "en", LAZZ_CONFIRMED, UN_FAMINE, "same topic, another speaker and statement"),
    real("distinct", "en", QLAILAH, DEIR_KEEFA, "strike in South Lebanon, another town"),
    real("distinct", "en", OUTLET_TUNNEL, OUTLET_ASSESSMENT, "same attribution, another event"),
    real(
        "distinct",
        "en",
        BUREAU_READINESS,
        BUREAU_ENVOY,
        "same attribution (case differs), same talks, another fact",
    ),
    real("distinct", "en", PRESIDENCY_KARAM, BUREAU_ENVOY, "same talks, another fact"),
    real(
        "distinct",
        "en",
        LOCAL_UNIT,
        BEIT_JINN,
        "local sources (two forms), southern rural Damascus, another event months later",
    ),
    real(
        "distinct",
        "en",
        LOCAL_QATANA,
        BEIT_JINN,
        "local sources (two forms), Damascus countryside, another event",
    ),
    real("distinct", "en", HIJRI_OTHER, HIJRI_SHORT, "same speaker, same topic, another statement"),
    real(
        "distinct",
        "en",
        HIJRI_LONG,
        HIJRI_OTHER,
        "same speaker (long / short form), another statement",
    ),
    real("distinct", "en", YOHMOR, KFOUR, "same attribution and template, another town"),
    real("distinct", "en", NAQOURA, YOHMOR, "same attribution and template, another town"),
    real("distinct", "en", NAQOURA, KFOUR, "same attribution and template, another town"),
    real("distinct", "en", KFOUR, HAROUF, "same attribution, same district, another town"),
    real("distinct", "en", HAROUF, QLAILAH, "drone strike in South Lebanon, another town"),
    real("distinct", "en", NAQOURA, QLAILAH, "drone strike in South Lebanon, another town"),
    real(
        "distinct", "en", NNA_MATAL, YOHMOR, "one killed by a drone in South Lebanon, another town"
    ),
    real("distinct", "en", FACT_TORTURE, FACT_CEASEFIRE, "same statement, another point"),
    real("distinct", "en", FACT_MEETING, FACT_JOINT, "same statement, another point"),
    real("distinct", "en", FACT_JOINT, FACT_STATEMENT, "same statement, another point"),
    real("distinct", "en", FACT_CEASEFIRE, FACT_MEETING, "same statement, another point"),
    real("distinct", "en", CORR_TUFFAH, CD_CLAIMS, "same neighbourhood, another event"),
    real("distinct", "en", ARMY_INVESTIGATE, ABDALLAH_LAWYER, "unrelated"),
    real("distinct", "en", BELGIAN, REUTERS_LA, "unrelated"),
]

EN_AUTHORED_YAF = (
    "Yemeni Armed Forces: We targeted Ben Gurion Airport in occupied Jaffa with a hypersonic"
    " ballistic missile"
)
EN_TOLL_30 = (
    "Al Mayadeen's correspondent: Death toll from Israeli strikes on Gaza since dawn rises to 30"
)

EN_EDITS: list[Row] = [
    # duplicate: attribution written another way
    edit(
        "duplicate",
        "en",
        swap(CORR_NASR, "Mayadeen's", "Mayaden's"),
        CORR_NASR,
        "attribution typo Al Mayaden's (as on the site) -> Al Mayadeen's",
    ),
    edit(
        "duplicate",
        "en",
        CORR_TOLL50,
        swap(CORR_TOLL50, "Mayadeen's", "Mayaden's"),
        "attribution typo Al Mayaden's",
    ),
    edit(
        "duplicate",
        "en",
        PESKOV_FULL,
        swap(PESKOV_FULL, "Kremlin spokesperson Dmitry Peskov:", "Peskov:"),
        "attribution full name -> surname",
    ),
    edit(
        "duplicate",
        "en",
        swap(PESKOV_SHORT, "Peskov:", "Kremlin spokesperson Dmitry Peskov:"),
        PESKOV_SHORT,
        "attribution full name -> surname",
    ),
    edit(
        "duplicate",
        "en",
        OUTLET_TUNNEL,
        swap(OUTLET_TUNNEL, "media outlet:", "media:"),
        "Israeli media outlet -> Israeli media",
    ),
    edit(
        "duplicate",
        "en",
        swap(MEDIA_YEMEN, "media:", "media outlet:"),
        MEDIA_YEMEN,
        "Israeli media outlet -> Israeli media",
    ),
    edit(
        "duplicate",
        "en",
        EN_AUTHORED_YAF,
        swap(EN_AUTHORED_YAF, "Yemeni Armed Forces:", "YAF:"),
        "Yemeni Armed Forces -> YAF (line written here)",
    ),
    edit(
        "duplicate",
        "en",
        LOCAL_UNIT,
        swap(LOCAL_UNIT, "Local sources:", "Local Syrian sources:"),
        "Local sources -> Local Syrian sources",
    ),
    edit(
        "duplicate",
        "en",
        BEIT_JINN,
        swap(BEIT_JINN, "Local sources from Damascus countryside:", "Local sources:"),
        "Local sources from Damascus countryside -> Local sources",
    ),
    edit(
        "duplicate",
        "en",
        HAROUF,
        swap(HAROUF, "Al Mayadeen's correspondent", "Our correspondent"),
        "Al Mayadeen's correspondent -> Our correspondent",
    ),
    edit(
        "duplicate",
        "en",
        QLAILAH,
        swap(QLAILAH, "Al Mayadeen correspondent", "Al Mayadeen's correspondent"),
        "Al Mayadeen correspondent -> Al Mayadeen's correspondent",
    ),
    edit(
        "duplicate",
        "en",
        ABDALLAH_LAWYER,
        swap(ABDALLAH_LAWYER, "Defense Attorney:", "Al Mayadeen's correspondent in France:"),
        "same body under another attribution",
    ),
    edit(
        "duplicate",
        "en",
        ERDOGAN_CONTROL,
        swap(ERDOGAN_CONTROL, "Turkish President Erdogan: Syrian", "Erdogan: The Syrian"),
        "title dropped from attribution, article added",
    ),
    edit(
        "duplicate",
        "en",
        MOHAJERANI,
        swap(MOHAJERANI, "Iranian government spokesperson Fatemeh Mohajerani:", "Mohajerani:"),
        "attribution title and first name dropped",
    ),
    edit(
        "duplicate",
        "en",
        LAZZ_CONFIRMED,
        "Lazzarini: Famine is now confirmed in Gaza City. This is starvation by design and manmade by the Government of Israel.",
        "attribution title dropped, case",
    ),
    edit(
        "duplicate",
        "en",
        BUREAU_ENVOY,
        swap(BUREAU_ENVOY, "Bureau chief:", "Bureau Chief:"),
        "attribution case",
    ),
    edit("duplicate", "en", SHIFA, swap(SHIFA, "Occupied Palestine: ", ""), "place prefix dropped"),
    edit(
        "duplicate",
        "en",
        CD_RETREAT,
        swap(CD_RETREAT, "undeer", "under"),
        "typo fixed (real typo undeer)",
    ),
    edit(
        "duplicate",
        "en",
        ABDALLAH_FRANCE,
        ABDALLAH_FRANCE.replace("\u2019", "'"),
        "curly -> straight apostrophes",
    ),
    edit(
        "duplicate",
        "en",
        LAZZ_RESULT,
        swap(LAZZ_RESULT, "UNRWA .", "UNRWA."),
        "stray space before the period fixed",
    ),
    edit(
        "duplicate",
        "en",
        REUTERS_LA,
        swap(REUTERS_LA, "Reuters: More than 20", "More than 20"),
        "attribution dropped",
    ),
    # update: tolls, numbers and details
    edit(
        "update",
        "en",
        MORE_THAN_30,
        swap(MORE_THAN_30, "More than 30", "More than 70"),
        "toll rises 30 -> more than 70",
    ),
    edit(
        "update",
        "en",
        EN_TOLL_30,
        "Al Mayadeen's correspondent: More than 70 martyred in Israeli strikes on Gaza since dawn",
        "toll rises to 30, then more than 70, reworded",
    ),
    edit(
        "update",
        "en",
        CORR_TOLL50,
        "Al Mayadeen's correspondent: Death toll rises to 67 in northern Gaza aid massacre",
        "toll nears 50 -> rises to 67",
    ),
    edit(
        "update",
        "en",
        CORR_62,
        "Al Mayadeen's correspondent: The number of martyrs killed by IOF in Gaza since morning rises to 75, including 38 aid seekers.",
        "toll rises, reworded",
    ),
    edit(
        "update",
        "en",
        DEIR_KEEFA,
        swap(DEIR_KEEFA, "with 2", "with 3"),
        "number of missiles corrected",
    ),
    edit(
        "update", "en", DEIR_KEEFA, DEIR_KEEFA + ", causing heavy damage to homes", "detail added"
    ),
    edit(
        "update",
        "en",
        YOHMOR,
        swap(YOHMOR, "One was killed", "Two were killed"),
        "toll rises (number in words)",
    ),
    edit(
        "update",
        "en",
        ARMY_AROUND10,
        swap(
            ARMY_AROUND10, "Al Mayadeen's correspondent: Around 10", "Our correspondent: Around 12"
        ),
        "number updated, our-correspondent form",
    ),
    edit(
        "update",
        "en",
        swap(EN_AUTHORED_YAF, "Yemeni Armed Forces:", "YAF:"),
        EN_AUTHORED_YAF + ", and the operation achieved its goal",
        "detail added, YAF -> Yemeni Armed Forces",
    ),
    edit(
        "update",
        "en",
        REUTERS_LA,
        swap(REUTERS_LA, "More than 20 injured", "More than 30 injured"),
        "toll rises",
    ),
    # update: reworded re-posts with the same facts
    edit(
        "update",
        "en",
        SURIF,
        "IOF raid the town of Surif, north of al-Khalil, and launch a campaign of arrests in the occupied West Bank",
        "reworded re-post",
    ),
    edit(
        "update",
        "en",
        BELGIAN,
        "Belga: A Belgian court ordered the regional government to halt military exports to Israel",
        "reworded, source moved into the attribution",
    ),
    edit(
        "update",
        "en",
        REUTERS_LA,
        "Reuters: A car rammed into a crowd in Los Angeles, injuring more than 20 people, four of them critically",
        "reworded re-post",
    ),
    edit(
        "update",
        "en",
        HEGSETH_VESSEL,
        "Hegseth: US forces struck a vessel in the Caribbean Sea, killing three people on board",
        "reworded, speaker moved into the attribution",
    ),
    edit(
        "update",
        "en",
        PRESIDENCY_KARAM,
        "Lebanese Presidency: President Aoun tasks former Ambassador Simon Karam with heading the military technical committee in the talks",
        "reworded, name added",
    ),
    edit(
        "update",
        "en",
        MEDIA_YEMEN,
        "Israeli media: The Israeli Air Force is now striking targets in Yemen",
        "reworded re-post",
    ),
    edit(
        "update",
        "en",
        SHIFA,
        "Director of Al-Shifa Hospital: There is no more room for any wounded inside the hospital",
        "reworded, place prefix dropped",
    ),
    edit(
        "update",
        "en",
        PATRIARCHATE,
        "Latin Patriarchate of Jerusalem: Israeli shelling hit the Holy Family Church in Gaza, injuring several people including Father Gabriele Romanelli",
        "reworded, attribution renamed",
    ),
    edit(
        "update",
        "en",
        CORR_NASR,
        "Al Mayaden's correspondent: Several people injured as Israeli warplanes struck a residential building on al-Nasr Street in western Gaza City",
        "reworded, attribution typo",
    ),
    # distinct: same template, another place or person
    edit(
        "distinct",
        "en",
        HAROUF,
        swap(HAROUF, "Harouf", "Kfar Roummane"),
        "same template, another town",
    ),
    edit(
        "distinct",
        "en",
        DEIR_KEEFA,
        swap(DEIR_KEEFA, "Deir Keefa", "Kfar Kila"),
        "same template, another town",
    ),
    edit(
        "distinct",
        "en",
        QLAILAH,
        swap(QLAILAH, "Al-Qlailah", "Bint Jbeil"),
        "same template, another town",
    ),
    edit(
        "distinct", "en", SURIF, swap(SURIF, "Surif", "Beit Ummar"), "same template, another town"
    ),
    edit(
        "distinct",
        "en",
        SURIF,
        "Israeli occupation forces carry out an arrest campaign during a raid on Qabatiya, south of Jenin in the northern occupied West Bank.",
        "same template, another town and region",
    ),
    edit(
        "distinct",
        "en",
        CORR_NASR,
        swap(CORR_NASR, "al-Nasr Street, west", "al-Jalaa Street, north"),
        "same template, another street",
    ),
    edit(
        "distinct",
        "en",
        HEGSETH_VESSEL,
        swap(HEGSETH_VESSEL, "Caribbean Sea", "Eastern Pacific"),
        "same template, another sea: another strike",
    ),
    edit(
        "distinct",
        "en",
        HAMAS_MET,
        swap(
            HAMAS_MET,
            "an Islamic Jihad delegation, headed by its Secretary-General, Ziyad al-Nakhalah",
            "a PFLP delegation, headed by its deputy Secretary-General, Jamil Mezher",
        ),
        "same template, another person and group",
    ),
    edit(
        "distinct",
        "en",
        ABDALLAH_LAWYER,
        swap(
            ABDALLAH_LAWYER,
            "Lebanese activist George Ibrahim Abdallah",
            "Palestinian detainee Khalida Jarrar",
        ),
        "same template, another person",
    ),
    edit(
        "distinct",
        "en",
        OUTLET_TUNNEL,
        swap(OUTLET_TUNNEL, "Rafah", "Beit Hanoun"),
        "same template, another town",
    ),
    edit(
        "distinct",
        "en",
        LOCAL_UNIT,
        swap(LOCAL_UNIT, "southern rural Damascus", "the Quneitra countryside"),
        "same template, another region",
    ),
    edit(
        "distinct",
        "en",
        REUTERS_LA,
        swap(REUTERS_LA, "Los Angeles", "Chicago"),
        "same template, another city",
    ),
    edit(
        "distinct",
        "en",
        PESKOV_FULL,
        swap(PESKOV_FULL, "Venezuela", "Iran"),
        "same template, another country",
    ),
    edit(
        "distinct",
        "en",
        YOHMOR,
        swap(YOHMOR, "Yohmor al-Shaqif", "Kfar Kila"),
        "same template, another town",
    ),
    edit(
        "distinct",
        "en",
        KFOUR,
        swap(KFOUR, "Kfour, Nabatieh", "Srifa, Tyre"),
        "same template, another town and district",
    ),
    # distinct: the attribution written another way AND another place or country (what
    # attribution equivalence must not merge)
    edit(
        "distinct",
        "en",
        HAROUF,
        "Our correspondent in South Lebanon: Israeli drone strikes town of Kfar Roummane, Nabatieh district.",
        "our-correspondent form, another town",
    ),
    edit(
        "distinct",
        "en",
        PESKOV_FULL,
        "Peskov: Moscow is interested in maintaining a peaceful situation between Iran and the United States.",
        "surname form, another country",
    ),
    edit(
        "distinct",
        "en",
        EN_AUTHORED_YAF,
        "YAF: We targeted the port of Umm al-Rashrash (Eilat) with a hypersonic ballistic missile",
        "YAF form, another target",
    ),
    edit(
        "distinct",
        "en",
        OUTLET_TUNNEL,
        swap(swap(OUTLET_TUNNEL, "media outlet:", "media:"), "Rafah", "Beit Hanoun"),
        "Israeli media form, another town",
    ),
    edit(
        "distinct",
        "en",
        LOCAL_UNIT,
        swap(
            swap(LOCAL_UNIT, "Local sources:", "Local Syrian sources:"),
            "southern rural Damascus",
            "the Quneitra countryside",
        ),
        "Local Syrian sources form, another region",
    ),
    edit(
        "distinct",
        "en",
        swap(CORR_NASR, "Mayadeen's", "Mayaden's"),
        swap(CORR_NASR, "al-Nasr Street, west", "al-Jalaa Street, north"),
        "attribution typo, another street",
    ),
    edit(
        "distinct",
        "en",
        swap(SHIFA, "Occupied Palestine: ", ""),
        "Director of Al-Awda Hospital: There is no longer room for any wounded inside.",
        "same body, a hospital director of another hospital: another place",
    ),
]

# --- Arabic: real lines of six Arabic sites' strips ------------------------------------------

AR_FIRE_700 = 'حريق سوق البالة "كبير جدًا" والأضرار تُقدّر بـ700 ألف دينار'
AR_FIRE_HALF = "الأردن .. نصف مليون دينار قيمة خسائر حريق البالة بإربد"
AR_SAFADI_PROUD = "الصفدي: يحق لنا التباهي بحكمنا الهاشمي ونفخر بدفاع الملك عن غزة"
AR_SAFADI_GOV = "الصفدي: حكومة جعفر حسان تقدم بيان الثقة للنواب الأسبوع المقبل"
AR_SAFADI_OFFER = "الصفدي: عرضنا على العمل الإسلامي موقعًا بالمكتب الدائم"
AR_RIGHTS = "حقوقيون : مذكرة اعتقال نتنياهو خطوة حاسمة نحو تحقيق العدالة الدولية"
AR_MITHAQ = 'الميثاق: قرار "الجنائية الدولية" خطوة تاريخية نحو تحقيق العدالة للشعب الفلسطيني'
AR_BRITAIN = "بريطانيا: نتنياهو معرض للاعتقال إذا سافر للمملكة المتحدة"
AR_KARAK = "الكرك: مزارعون ومربو أغنام يطالبون بإعادة تأهيل الطريق الموصل إلى مزارعهم"
AR_AJLOUN = "عجلون .. مطالب بتوسعة طريق وادي الطواحين"
AR_NYT = "نيويورك تايمز: هدنة محتملة بلبنان لـ60 يوما"
AR_YEDIOTH = "يديعوت أحرونوت: وقف لإطلاق النار في لبنان خلال أيام"
AR_STUDENTS = "إصابة أربعة طلاب أردنيين بحادث سير في جورجيا"
AR_KAMAL_ADWAN = "إصابة طبيب ومراجعين في مستشفى كمال عدوان"
AR_OIL = "الازمة الاوكرانية تقود أسعار النفط تجاه ارتفاع أسبوعي"
AR_DAWOOD = "الداوود يستقيل من تدريب فريق شباب العقبة"
AR_MINYA = "سماء صفراء ورياح مثيرة للأتربة تضرب المنيا وتحجب الرؤية"
AR_HEALTH_TIPS = "«الصحة» تقدم نصائح مهمة لمواجهة التقلبات الجوية والعواصف الترابية"
AR_TRUMP_FORCES = "مصادر: ترامب سيعلن عن نشر قوات وخطة إعادة إعمار غزة بمليارات الدولارات في أول اجتماع لمجلس السلام"
AR_HEALTH_REPORT = (
    "وزير الصحة يتلقى تقريرًا بإنجاز 33 زيارة ميدانية ل58 مستشفى و62 وحدة صحية ب12 محافظة"
)
AR_LUXOR = "قبل حلول رمضان.. أوقاف الأقصر تفتتح 4 مساجد في سابقة هي الأولى من نوعها"
AR_ISRAEL_IRAN = (
    "عاجل- إسرائيل تتهيأ لسيناريو هجوم أمريكي على إيران مع توقع إطلاق رشقات صاروخية مكثفة"
)
AR_CARS = "تلف 4 سيارات ملاكي إثر سقوط تندة حديد بسبب سوء الأحوال الجوية بالعاشر من رمضان"
AR_CULTURE_SUNDAY = "الأحد.. قصور الثقافة تطلق ثاني فعاليات مشروع مقتطفات حرفية بالشرقية"
AR_MENOUFIA = "وزير الأوقاف ومحافظ المنوفية يفتتحان مسجدا قباء والعمري الكبير بقويسنا البلد"
AR_PM_SILK = "رئيس الوزراء يتابع جهود توطين صناعة الحرير في مصر"
AR_ARABIYA = "العربية: حماس وإسرائيل وافقا على وقف النار لمدة 60 يوما.. وترامب سيعلن التفاصيل"
AR_AHLY = "الأهلي يعلن أسماء الجهاز المعاون لخوسيه ريفيرو"
AR_CULTURE_DELTA = "قصور الثقافة تختتم عروض مسرح إقليم شرق الدلتا ب«موسم الدم»"
AR_CITY = "تقارير: مانشستر سيتي يبدأ مفاوضات ضم ريان شرقي"
AR_NAG_HAMMADI = "إحباط تهريب صفقة مخدرات وأسلحة في نجع حمادي"
AR_DABAA = "رواتب مجزية ومزايا.. 600 فرصة عمل بمحطة الضبعة النووية"
AR_PRISONERS = "عن السجناء السوريين في لبنان.. هذا ما كشفه الشيباني"
AR_COUNTING = "وزير الداخلية يتفقد عمليات الفرز في بيروت"
AR_ACCLAMATION = "فوز عدة بلديات بالتزكية في الجنوب"
AR_AOUN = "عون عشية زيارة رسمية الى القاهرة: مصر تتفهم ظروف لبنان"
AR_KFARKILA = "الاحتلال يطلق الرصاص على رابيد في كفركلا"
AR_UNIFIL = "قائد القطاع الغربي في اليونيفيل: مستمرون بدعم الجيش اللبناني"
AR_ARMY_WARNS = "مع ظهور النتائج الأوليّة.. الجيش يحذر المواطنين من إطلاق النار"
AR_ENEMY_ARRESTS = "جيش العدو: “قوات الجيش والشاباك وحرس الحدود اعتقلت خلال الليل 15 فلسطينياً من أنحاء الضفة الغربية”."
AR_SECURITY_OFFICIAL = "مسؤول أمني للقناة 14: بعد فترة طويلة ركز خلالها الفلسطينيون على عمليات إطلاق النار، ندرك الآن محاولاتهم العديدة لتنفيذ عمليات تفجيرية، هذا اتجاه مقلق وخطوة أعلى في التصعيد."
AR_KAN = "قناة كان العبرية: العبوة التي انفجرت في مجدو، لها مميزات مختلفة عن تلك المعتادة في الساحة الفلسطينية، معظم تفاصيل القضية يحظر نشرها وفقا لتعليمات الرقابة – في المنظومة الأمنية قلقون جداً من تفاصيل القضية."
AR_RESCUE = "إنقاذ بلا حدود: مستوطن أبلغ عن تعرض مركبته لإطلاق نار قرب الخليل، لا إصابات."
AR_MAARIV = "معاريف: ستبدأ اليوم الأربعاء مناورة عسكرية في فرقة الضفة."
AR_VANCE = "نائب ترامب: صمود اتفاق وقف النار بغزة لن يكون سهلاً"
AR_44 = "44 شهيدا بنيران الاحتلال منذ فجر اليوم في قطاع غزة"
AR_HAYYA = "وفد من قيادة حماس برئاسة خليل الحية يتابع بالقاهرة تنفيذ اتفاق وقف النار في غزة"
AR_AID_STOP = "إسرائيل تُقرّر وقف إدخال المساعدات وإغلاق جميع المعابر مع قطاع غزة"

AR_REAL: list[Row] = [
    real("update", "ar", AR_FIRE_HALF, AR_FIRE_700, "same fire, damage estimate changed, reworded"),
    real("distinct", "ar", AR_SAFADI_PROUD, AR_SAFADI_GOV, "same attribution, another statement"),
    real(
        "distinct",
        "ar",
        AR_SAFADI_GOV,
        AR_SAFADI_OFFER,
        "same attribution, same politics, another statement",
    ),
    real("distinct", "ar", AR_SAFADI_OFFER, AR_SAFADI_PROUD, "same attribution, another statement"),
    real(
        "distinct",
        "ar",
        AR_MITHAQ,
        AR_RIGHTS,
        "same topic, same template (step towards justice), another speaker",
    ),
    real(
        "distinct",
        "ar",
        AR_BRITAIN,
        AR_RIGHTS,
        "same topic (Netanyahu warrant), another speaker and statement",
    ),
    real("distinct", "ar", AR_AJLOUN, AR_KARAK, "same template (road demands), another place"),
    real(
        "distinct",
        "ar",
        AR_MENOUFIA,
        AR_LUXOR,
        "same template (mosques opened), another governorate",
    ),
    real("distinct", "ar", AR_HEALTH_TIPS, AR_MINYA, "same weather, another event"),
    real("distinct", "ar", AR_CARS, AR_MINYA, "same weather, another place and event"),
    real("distinct", "ar", AR_HEALTH_TIPS, AR_HEALTH_REPORT, "same ministry, another event"),
    real("distinct", "ar", AR_ARABIYA, AR_TRUMP_FORCES, "Trump will announce: another plan"),
    real("distinct", "ar", AR_NYT, AR_ARABIYA, "same template (60-day truce), another front"),
    real("distinct", "ar", AR_ACCLAMATION, AR_COUNTING, "same elections, another event"),
    real("distinct", "ar", AR_ARMY_WARNS, AR_COUNTING, "same elections, another event"),
    real(
        "distinct",
        "ar",
        AR_SECURITY_OFFICIAL,
        AR_KAN,
        "same bombing topic, another source and statement",
    ),
    real("distinct", "ar", AR_RESCUE, AR_ENEMY_ARRESTS, "West Bank, another event"),
    real("distinct", "ar", AR_MAARIV, AR_ENEMY_ARRESTS, "West Bank, another event"),
    real("distinct", "ar", AR_VANCE, AR_HAYYA, "same ceasefire, another statement"),
    real("distinct", "ar", AR_44, AR_AID_STOP, "Gaza, another event"),
    real("distinct", "ar", AR_44, AR_ENEMY_ARRESTS, "a count of Palestinians, another event"),
    real(
        "distinct",
        "ar",
        AR_STUDENTS,
        AR_KAMAL_ADWAN,
        "same template (injury of ...), another event",
    ),
    real(
        "distinct",
        "ar",
        AR_CULTURE_DELTA,
        AR_CULTURE_SUNDAY,
        "same subject (culture palaces), another event and region",
    ),
    real("distinct", "ar", AR_AHLY, AR_CITY, "football transfers, another club"),
    real("distinct", "ar", AR_KFARKILA, AR_UNIFIL, "South Lebanon, another event"),
    real("distinct", "ar", AR_PRISONERS, AR_AOUN, "Lebanon-Syria / Egypt, another event"),
    real("distinct", "ar", AR_NAG_HAMMADI, AR_DABAA, "unrelated"),
    real("distinct", "ar", AR_PM_SILK, AR_DAWOOD, "unrelated"),
    real("distinct", "ar", AR_OIL, AR_ISRAEL_IRAN, "unrelated"),
    real("distinct", "ar", AR_YEDIOTH, AR_AOUN, "Lebanon, another event"),
]

AR_KFARKILA_VOWELLED = "الاحتِلالُ يُطلِقُ الرَّصاصَ عَلى رابيد في كَفركِلا"
AR_44_VOWELLED = "44 شَهيداً بِنيرانِ الاحتلالِ مُنذُ فَجرِ اليَومِ في قِطاعِ غَزّة"
AR_CORR = "مراسل الميادين: غارة إسرائيلية على بلدة عيتا الشعب جنوب لبنان"

AR_EDITS: list[Row] = [
    # duplicate: spelling of the same line
    edit("duplicate", "ar", AR_FIRE_700, no_marks(AR_FIRE_700), "vowel marks dropped"),
    edit("duplicate", "ar", AR_ARMY_WARNS, no_marks(AR_ARMY_WARNS), "shadda dropped"),
    edit("duplicate", "ar", AR_AID_STOP, no_marks(AR_AID_STOP), "vowel marks dropped"),
    edit("duplicate", "ar", AR_KFARKILA, AR_KFARKILA_VOWELLED, "fully vowelled"),
    edit("duplicate", "ar", AR_44_VOWELLED, AR_44, "vowel marks dropped"),
    edit(
        "duplicate",
        "ar",
        AR_SAFADI_GOV,
        "الصفدي: حكومةُ جعفر حسّان تُقدِّمُ بيانَ الثقة للنواب الأسبوعَ المقبل",
        "vowel marks added",
    ),
    edit("duplicate", "ar", AR_ISRAEL_IRAN, tatweel(AR_ISRAEL_IRAN, "عاجل", 3), "tatweel"),
    edit(
        "duplicate",
        "ar",
        AR_SAFADI_PROUD,
        tatweel(AR_SAFADI_PROUD, "الصفدي", 4, 1),
        "tatweel in the attribution",
    ),
    edit(
        "duplicate",
        "ar",
        AR_NYT,
        tatweel(tatweel(AR_NYT, "هدنة", 3, 1), "محتملة", 4, 2),
        "tatweel in two words",
    ),
    edit("duplicate", "ar", AR_44, indic(AR_44), "Arabic-Indic digits"),
    edit("duplicate", "ar", indic(AR_NYT), AR_NYT, "Arabic-Indic digits -> ASCII"),
    edit(
        "duplicate",
        "ar",
        AR_HEALTH_REPORT,
        indic(AR_HEALTH_REPORT),
        "Arabic-Indic digits, four numbers",
    ),
    edit("duplicate", "ar", AR_ENEMY_ARRESTS, persian(AR_ENEMY_ARRESTS), "Persian digits"),
    edit("duplicate", "ar", AR_STUDENTS, no_hamza(AR_STUDENTS), "hamza dropped"),
    edit(
        "duplicate",
        "ar",
        AR_AID_STOP,
        no_hamza(no_marks(AR_AID_STOP)),
        "hamza and vowel marks dropped",
    ),
    edit(
        "duplicate",
        "ar",
        AR_OIL,
        "الأزمة الأوكرانية تقود أسعار النفط تجاه ارتفاع أسبوعي",
        "hamza added (the site dropped it)",
    ),
    edit(
        "duplicate",
        "ar",
        AR_KAMAL_ADWAN,
        "إصابه طبيب ومراجعين في مستشفي كمال عدوان",
        "ta marbuta as ha, alef maqsura as ya",
    ),
    edit(
        "duplicate",
        "ar",
        AR_KAN,
        swap(AR_KAN, "قناة كان العبرية", "قناه كان العبريه"),
        "ta marbuta as ha in the attribution",
    ),
    edit(
        "duplicate",
        "ar",
        AR_RIGHTS,
        swap(AR_RIGHTS, "حقوقيون :", "حقوقيون:"),
        "space before the colon dropped",
    ),
    edit("duplicate", "ar", AR_44, indic(AR_44_VOWELLED), "vowel marks and Arabic-Indic digits"),
    edit(
        "duplicate",
        "ar",
        AR_STUDENTS,
        tatweel(no_hamza(AR_STUDENTS), "طلاب", 1, 2),
        "hamza dropped and tatweel",
    ),
    # duplicate: attribution written another way
    edit("duplicate", "ar", AR_ARABIYA, "قناة " + AR_ARABIYA, "العربية -> قناة العربية"),
    edit("duplicate", "ar", AR_NYT, "صحيفة " + AR_NYT, "نيويورك تايمز -> صحيفة نيويورك تايمز"),
    edit(
        "duplicate",
        "ar",
        AR_CORR,
        swap(AR_CORR, "مراسل الميادين", "مراسلنا"),
        "مراسل الميادين -> مراسلنا (line written here)",
    ),
    edit(
        "duplicate",
        "ar",
        "مراسلنا: " + AR_KFARKILA,
        "مراسل الميادين: " + AR_KFARKILA,
        "مراسلنا -> مراسل الميادين",
    ),
    edit(
        "duplicate",
        "ar",
        AR_YEDIOTH,
        "صحيفة " + AR_YEDIOTH,
        "يديعوت أحرونوت -> صحيفة يديعوت أحرونوت",
    ),
    # update: tolls, numbers, details, rewording
    edit("update", "ar", AR_44, swap(AR_44, "44", "51"), "toll rises"),
    edit(
        "update",
        "ar",
        AR_44,
        "ارتفاع عدد الشهداء بنيران الاحتلال منذ فجر اليوم في قطاع غزة إلى 58",
        "toll rises, reworded",
    ),
    edit(
        "update",
        "ar",
        indic(AR_44),
        swap(AR_44, "44", "60"),
        "toll rises, Arabic-Indic -> ASCII digits",
    ),
    edit(
        "update",
        "ar",
        AR_FIRE_700,
        swap(AR_FIRE_700, "بـ700 ألف دينار", "بمليون دينار"),
        "damage estimate rises",
    ),
    edit("update", "ar", AR_ENEMY_ARRESTS, swap(AR_ENEMY_ARRESTS, "15", "21"), "count rises"),
    edit(
        "update",
        "ar",
        AR_HEALTH_REPORT,
        swap(AR_HEALTH_REPORT, "33 زيارة", "35 زيارة"),
        "number corrected",
    ),
    edit("update", "ar", AR_ACCLAMATION, "فوز 12 بلدية بالتزكية في الجنوب", "number made precise"),
    edit(
        "update",
        "ar",
        AR_STUDENTS,
        "وفاة طالب وإصابة ثلاثة طلاب أردنيين بحادث سير في جورجيا",
        "toll changed: one of four died",
    ),
    edit("update", "ar", AR_KFARKILA, AR_KFARKILA + " ولا إصابات", "detail added"),
    edit(
        "update", "ar", AR_KAMAL_ADWAN, AR_KAMAL_ADWAN + " بقصف إسرائيلي شمال غزة", "detail added"
    ),
    edit(
        "update",
        "ar",
        AR_AID_STOP,
        "إسرائيل توقف دخول المساعدات إلى غزة وتغلق جميع المعابر",
        "reworded re-post",
    ),
    edit(
        "update",
        "ar",
        AR_NYT,
        "صحيفة نيويورك تايمز: هدنة محتملة في لبنان لمدة 60 يوما",
        "reworded, attribution long form",
    ),
    edit(
        "update",
        "ar",
        AR_VANCE,
        "نائب الرئيس الأمريكي: صمود اتفاق وقف إطلاق النار في غزة لن يكون سهلا",
        "reworded, attribution another form",
    ),
    edit(
        "update",
        "ar",
        AR_HAYYA,
        "وفد حماس برئاسة خليل الحية يبحث في القاهرة تنفيذ اتفاق وقف إطلاق النار",
        "reworded re-post",
    ),
    edit(
        "update",
        "ar",
        AR_CORR,
        "مراسلنا: غارة إسرائيلية على بلدة عيتا الشعب جنوب لبنان تسفر عن شهيدين",
        "detail added, مراسلنا",
    ),
    # distinct: only the town, hospital, region or person differs
    edit("distinct", "ar", AR_KFARKILA, swap(AR_KFARKILA, "كفركلا", "ميس الجبل"), "another town"),
    edit(
        "distinct",
        "ar",
        AR_KAMAL_ADWAN,
        swap(AR_KAMAL_ADWAN, "كمال عدوان", "العودة"),
        "another hospital",
    ),
    edit(
        "distinct",
        "ar",
        AR_KAMAL_ADWAN,
        swap(AR_KAMAL_ADWAN, "كمال عدوان", "الشفاء"),
        "another hospital",
    ),
    edit("distinct", "ar", AR_MINYA, swap(AR_MINYA, "المنيا", "أسيوط"), "another governorate"),
    edit(
        "distinct", "ar", AR_NAG_HAMMADI, swap(AR_NAG_HAMMADI, "نجع حمادي", "إدفو"), "another town"
    ),
    edit(
        "distinct",
        "ar",
        AR_KARAK,
        swap(AR_KARAK, "الكرك", "الطفيلة"),
        "another governorate (in the attribution)",
    ),
    edit(
        "distinct", "ar", AR_ACCLAMATION, swap(AR_ACCLAMATION, "الجنوب", "البقاع"), "another region"
    ),
    edit("distinct", "ar", AR_COUNTING, swap(AR_COUNTING, "بيروت", "طرابلس"), "another city"),
    edit("distinct", "ar", AR_STUDENTS, swap(AR_STUDENTS, "جورجيا", "تركيا"), "another country"),
    edit(
        "distinct",
        "ar",
        AR_CARS,
        swap(AR_CARS, "بالعاشر من رمضان", "بمدينة السادات"),
        "another town",
    ),
    edit("distinct", "ar", AR_AJLOUN, swap(AR_AJLOUN, "وادي الطواحين", "عين جنا"), "another road"),
    edit("distinct", "ar", AR_LUXOR, swap(AR_LUXOR, "الأقصر", "أسوان"), "another governorate"),
    edit("distinct", "ar", AR_RESCUE, swap(AR_RESCUE, "الخليل", "نابلس"), "another city"),
    edit(
        "distinct",
        "ar",
        AR_HAYYA,
        swap(AR_HAYYA, "خليل الحية", "زاهر جبارين"),
        "another person heads the delegation",
    ),
    edit("distinct", "ar", AR_DAWOOD, swap(AR_DAWOOD, "الداوود", "الخطيب"), "another person"),
    edit(
        "distinct",
        "ar",
        AR_CORR,
        swap(AR_CORR, "عيتا الشعب", "الخيام"),
        "another town (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_KFARKILA_VOWELLED,
        swap(AR_KFARKILA, "كفركلا", "ميس الجبل"),
        "another town, first fully vowelled",
    ),
    edit(
        "distinct",
        "ar",
        AR_44,
        swap(AR_44, "في قطاع غزة", "في جنوب لبنان"),
        "same toll, another region",
    ),
]

# Arabic lines written here in the style of almayadeen.net's Arabic strip (the real Arabic
# captures have no war-ticker lines under a correspondent or a ministry).
AR_W_CD = "الدفاع المدني في غزة: انتشال جثامين 13 شهيداً من تحت أنقاض منزل في حي تل الهوى بمدينة غزة"
AR_W_TOLL = "وزارة الصحة في غزة: ارتفاع حصيلة الشهداء منذ فجر اليوم إلى 44 شهيداً"
AR_W_YOHMOR = "مراسل الميادين في جنوب لبنان: مسيّرة إسرائيلية تستهدف دراجة نارية في بلدة يحمر الشقيف"
AR_W_CH12 = (
    "القناة 12 الإسرائيلية: المجلس الوزاري المصغر يجتمع الليلة لبحث الوضع على الجبهة الشمالية"
)
AR_W_YAF = "القوات المسلحة اليمنية: استهدفنا مطار بن غوريون في يافا المحتلة بصاروخ باليستي فرط صوتي"
AR_W_SOURCES = (
    "مصادر للميادين: الوفد المصري نقل إلى حماس رداً إسرائيلياً مكتوباً على مقترح وقف إطلاق النار"
)
AR_W_PESKOV = "الناطق باسم الكرملين دميتري بيسكوف: موسكو مهتمة بالحفاظ على وضع سلمي بين فنزويلا والولايات المتحدة"

AR_WRITTEN: list[Row] = [
    edit(
        "duplicate",
        "ar",
        AR_W_CD,
        swap(AR_W_CD, "الدفاع المدني في غزة", "الدفاع المدني بغزة"),
        "attribution another form (line written here)",
    ),
    edit("duplicate", "ar", AR_W_CD, indic(AR_W_CD), "Arabic-Indic digits (line written here)"),
    edit("update", "ar", AR_W_CD, swap(AR_W_CD, "13", "17"), "toll rises (line written here)"),
    edit(
        "distinct",
        "ar",
        AR_W_CD,
        swap(AR_W_CD, "حي تل الهوى", "حي الشجاعية"),
        "another neighbourhood (line written here)",
    ),
    edit(
        "update",
        "ar",
        AR_W_TOLL,
        indic(swap(AR_W_TOLL, "44", "51")),
        "toll rises, in Arabic-Indic digits (line written here)",
    ),
    edit(
        "duplicate",
        "ar",
        AR_W_TOLL,
        tatweel(AR_W_TOLL, "الشهداء", 4, 2),
        "tatweel (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_W_TOLL,
        swap(AR_W_TOLL, "الشهداء منذ فجر اليوم إلى 44 شهيداً", "الجرحى منذ فجر اليوم إلى 44 جريحاً"),
        "same number, another count: wounded, not martyrs (line written here)",
    ),
    edit(
        "duplicate",
        "ar",
        AR_W_YOHMOR,
        swap(AR_W_YOHMOR, "مراسل الميادين", "مراسلنا"),
        "مراسل الميادين -> مراسلنا (line written here)",
    ),
    edit(
        "duplicate", "ar", AR_W_YOHMOR, no_marks(AR_W_YOHMOR), "shadda dropped (line written here)"
    ),
    edit(
        "update",
        "ar",
        AR_W_YOHMOR,
        AR_W_YOHMOR + " ما أدى إلى ارتقاء شهيد",
        "detail added: one martyr (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_W_YOHMOR,
        swap(AR_W_YOHMOR, "يحمر الشقيف", "كفرتبنيت"),
        "another town (line written here)",
    ),
    edit(
        "duplicate",
        "ar",
        AR_W_CH12,
        swap(AR_W_CH12, "القناة 12", "القناة الـ12"),
        "attribution another form (line written here)",
    ),
    edit(
        "duplicate",
        "ar",
        AR_W_YAF,
        swap(AR_W_YAF, "باليستي", "بالستي"),
        "spelling variant (line written here)",
    ),
    edit(
        "update",
        "ar",
        AR_W_YAF,
        AR_W_YAF + " وحققت العملية هدفها بنجاح",
        "detail added (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_W_YAF,
        swap(AR_W_YAF, "مطار بن غوريون في يافا المحتلة", "ميناء أم الرشراش"),
        "another target (line written here)",
    ),
    edit(
        "update",
        "ar",
        AR_W_SOURCES,
        "مصادر للميادين: مصر تسلّم حماس الرد الإسرائيلي المكتوب على مقترح وقف النار",
        "reworded re-post (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_W_SOURCES,
        swap(AR_W_SOURCES, "الوفد المصري", "الوفد القطري"),
        "another mediator (line written here)",
    ),
    edit(
        "duplicate",
        "ar",
        AR_W_PESKOV,
        swap(AR_W_PESKOV, "الناطق باسم الكرملين دميتري بيسكوف", "بيسكوف"),
        "attribution full name -> surname (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_W_PESKOV,
        swap(AR_W_PESKOV, "فنزويلا", "إيران"),
        "another country (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_CORR,
        "مراسلنا: غارة إسرائيلية على بلدة الخيام جنوب لبنان",
        "مراسلنا form, another town (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_W_YOHMOR,
        swap(swap(AR_W_YOHMOR, "مراسل الميادين", "مراسلنا"), "يحمر الشقيف", "كفرتبنيت"),
        "مراسلنا form, another town (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_W_PESKOV,
        "بيسكوف: موسكو مهتمة بالحفاظ على وضع سلمي بين إيران والولايات المتحدة",
        "surname form, another country (line written here)",
    ),
    edit(
        "distinct",
        "ar",
        AR_W_CD,
        no_marks(
            swap(
                swap(AR_W_CD, "الدفاع المدني في غزة", "الدفاع المدني بغزة"),
                "حي تل الهوى",
                "حي الزيتون",
            )
        ),
        "attribution another form, another neighbourhood (line written here)",
    ),
]

# --- Spanish: lines written here in the style of español.almayadeen.net (no real capture) ------

ES_YOHMOR = "Corresponsal de Al Mayadeen: Un ataque israelí con drones alcanzó una motocicleta en la localidad de Yohmor al-Shaqif, en el sur del Líbano"
ES_CD = "Defensa Civil de Gaza: Nuestros equipos recuperaron los cuerpos de 13 mártires bajo los escombros de una vivienda en el barrio de Tal al-Hawa"
ES_TOLL = "Ministerio de Salud de Gaza: El número de mártires desde el amanecer asciende a 44"
ES_HAMAS = "Fuentes a Al Mayadeen: La delegación de Hamás llegó a El Cairo para discutir la segunda fase del acuerdo"
ES_SIRENS = (
    "Medios israelíes: Suenan las sirenas en Kiryat Shmona y sus alrededores en la Alta Galilea"
)
ES_PESKOV = "Portavoz del Kremlin, Dmitri Peskov: Moscú está interesado en mantener una situación pacífica entre Venezuela y Estados Unidos"
ES_YAF = "Fuerzas Armadas Yemeníes: Atacamos el aeropuerto Ben Gurión en Jaffa ocupada con un misil balístico hipersónico"
ES_SURIF = "Las fuerzas de ocupación israelíes lanzan una campaña de detenciones durante una incursión en Surif, al norte de Al-Jalil"
ES_NAQOURA = "Nuestro corresponsal en el sur del Líbano: Un mártir en un ataque con drones contra un camión en la localidad de Naqoura"
ES_QASSEM = (
    "Jeque Naim Qassem: La resistencia no entregará sus armas mientras continúe la agresión israelí"
)
ES_SHIFA = "Director del Hospital Al-Shifa: Ya no hay lugar para ningún herido dentro del hospital"
ES_REUTERS = "Reuters: Más de 20 heridos en Los Ángeles, cuatro de ellos de gravedad, tras el atropello de una multitud"
ES_ISRAEL = "España y Noruega exigen a la UE suspender el acuerdo de asociación con «Israel»"

ES_EDITS: list[Row] = [
    edit("duplicate", "es", ES_ISRAEL, no_accents(ES_ISRAEL), "accents dropped (España -> Espana)"),
    edit("duplicate", "es", ES_HAMAS, swap(ES_HAMAS, "Hamás", "Hamas"), "accent dropped in a name"),
    edit(
        "duplicate",
        "es",
        ES_CD,
        swap(ES_CD, "Defensa Civil de Gaza", "Defensa Civil en Gaza"),
        "attribution another form",
    ),
    edit("update", "es", ES_QASSEM, swap(ES_QASSEM, "continúe", "siga"), "one word reworded"),
    # duplicate
    edit("duplicate", "es", ES_YOHMOR, no_accents(ES_YOHMOR), "accents dropped"),
    edit("duplicate", "es", no_accents(ES_TOLL), ES_TOLL, "accents added"),
    edit("duplicate", "es", ES_SIRENS, no_accents(ES_SIRENS), "accents dropped"),
    edit("duplicate", "es", ES_SHIFA, no_accents(ES_SHIFA), "accents dropped"),
    edit("duplicate", "es", ES_YAF, no_accents(ES_YAF), "accents dropped"),
    edit(
        "duplicate",
        "es",
        ES_YOHMOR,
        swap(ES_YOHMOR, "Corresponsal de Al Mayadeen", "Nuestro corresponsal"),
        "Corresponsal de Al Mayadeen -> Nuestro corresponsal",
    ),
    edit(
        "duplicate",
        "es",
        ES_NAQOURA,
        swap(ES_NAQOURA, "Nuestro corresponsal", "Corresponsal de Al Mayadeen"),
        "Nuestro corresponsal -> Corresponsal de Al Mayadeen",
    ),
    edit(
        "duplicate",
        "es",
        ES_NAQOURA,
        no_accents(swap(ES_NAQOURA, "Nuestro corresponsal", "Corresponsal de Al Mayadeen")),
        "our-correspondent form and accents dropped",
    ),
    edit(
        "duplicate",
        "es",
        ES_PESKOV,
        swap(ES_PESKOV, "Portavoz del Kremlin, Dmitri Peskov:", "Peskov:"),
        "attribution full name -> surname",
    ),
    edit(
        "duplicate",
        "es",
        ES_SIRENS,
        swap(ES_SIRENS, "Medios israelíes", "Medios Israelíes"),
        "attribution case",
    ),
    edit("duplicate", "es", ES_ISRAEL, swap(ES_ISRAEL, "«Israel»", '"Israel"'), "quote style"),
    edit(
        "duplicate",
        "es",
        ES_HAMAS,
        swap(ES_HAMAS, "Fuentes a Al Mayadeen", "Fuentes a Al Mayaden"),
        "attribution typo",
    ),
    # update
    edit("update", "es", ES_TOLL, swap(ES_TOLL, "44", "51"), "toll rises"),
    edit(
        "update",
        "es",
        ES_TOLL,
        "Ministerio de Salud de Gaza: Asciende a 60 el número de mártires desde el amanecer",
        "toll rises, reworded",
    ),
    edit("update", "es", ES_CD, swap(ES_CD, "13", "17"), "toll rises"),
    edit("update", "es", ES_REUTERS, swap(ES_REUTERS, "Más de 20", "Más de 30"), "toll rises"),
    edit(
        "update",
        "es",
        ES_HAMAS,
        "Fuentes a Al Mayadeen: Una delegación de Hamás arribó a El Cairo para tratar la segunda fase del acuerdo",
        "reworded re-post",
    ),
    edit(
        "update",
        "es",
        ES_SURIF,
        "Fuerzas de ocupación israelíes irrumpen en Surif, al norte de Al-Jalil, y detienen a varios palestinos",
        "reworded re-post",
    ),
    edit(
        "update",
        "es",
        ES_SIRENS,
        ES_SIRENS + " tras un lanzamiento desde el Líbano",
        "detail added",
    ),
    edit(
        "update",
        "es",
        ES_YOHMOR,
        swap(
            ES_YOHMOR,
            "Corresponsal de Al Mayadeen: Un ataque israelí con drones alcanzó",
            "Nuestro corresponsal: Un mártir en un ataque israelí con drones que alcanzó",
        ),
        "toll added, our-correspondent form",
    ),
    edit(
        "update",
        "es",
        ES_YAF,
        swap(ES_YAF, "Fuerzas Armadas Yemeníes:", "FFAA yemeníes:")
        + " y la operación logró su objetivo",
        "detail added, attribution abbreviated",
    ),
    edit(
        "update",
        "es",
        ES_SHIFA,
        "Director del Hospital Al-Shifa: El hospital ya no tiene capacidad para recibir más heridos",
        "reworded re-post",
    ),
    # distinct
    edit(
        "distinct",
        "es",
        ES_YOHMOR,
        swap(ES_YOHMOR, "Yohmor al-Shaqif", "Kfar Kila"),
        "another town",
    ),
    edit("distinct", "es", ES_NAQOURA, swap(ES_NAQOURA, "Naqoura", "Bint Jbeil"), "another town"),
    edit("distinct", "es", ES_SIRENS, swap(ES_SIRENS, "Kiryat Shmona", "Metula"), "another town"),
    edit("distinct", "es", ES_CD, swap(ES_CD, "Tal al-Hawa", "Shujaiya"), "another neighbourhood"),
    edit("distinct", "es", ES_SURIF, swap(ES_SURIF, "Surif", "Beit Ummar"), "another town"),
    edit(
        "distinct",
        "es",
        ES_SHIFA,
        swap(ES_SHIFA, "Al-Shifa", "Al-Awda"),
        "another hospital (in the attribution)",
    ),
    edit("distinct", "es", ES_PESKOV, swap(ES_PESKOV, "Venezuela", "Cuba"), "another country"),
    edit("distinct", "es", ES_HAMAS, swap(ES_HAMAS, "Hamás", "la Yihad Islámica"), "another group"),
    edit("distinct", "es", ES_REUTERS, swap(ES_REUTERS, "Los Ángeles", "Chicago"), "another city"),
    edit(
        "distinct", "es", ES_YOHMOR, ES_NAQOURA, "two correspondent forms, another strike and town"
    ),
    edit(
        "distinct",
        "es",
        ES_TOLL,
        "Ministerio de Salud de Gaza: El número de heridos desde el amanecer asciende a 44",
        "same number, another count (wounded, not martyrs)",
    ),
    edit(
        "distinct",
        "es",
        ES_QASSEM,
        "Jeque Naim Qassem: La resistencia está lista para enfrentar cualquier escalada en el sur del Líbano",
        "same speaker, another statement",
    ),
    edit(
        "distinct",
        "es",
        ES_YAF,
        swap(ES_YAF, "el aeropuerto Ben Gurión en Jaffa ocupada", "el puerto de Eilat"),
        "another target",
    ),
    edit(
        "distinct",
        "es",
        ES_YOHMOR,
        swap(
            swap(ES_YOHMOR, "Corresponsal de Al Mayadeen", "Nuestro corresponsal"),
            "Yohmor al-Shaqif",
            "Kfar Kila",
        ),
        "our-correspondent form, another town",
    ),
    edit(
        "distinct",
        "es",
        ES_PESKOV,
        "Peskov: Moscú está interesado en mantener una situación pacífica entre Cuba y Estados Unidos",
        "surname form, another country",
    ),
]


def real_lines() -> set[str]:
    """Every line of the captures in tests/data/real_strips (verbatim)."""
    lines: set[str] = set()
    for path in sorted(STRIPS.glob("*.json")):
        for capture in json.loads(path.read_text(encoding="utf-8")):
            lines.update(capture["lines"])
    return lines


def rows() -> list[Row]:
    """All pairs, checked: real lines occur in the captures, no pair twice."""
    everything = EN_REAL + EN_EDITS + AR_REAL + AR_EDITS + AR_WRITTEN + ES_EDITS
    known = real_lines()
    seen: set[frozenset[str]] = set()
    for label, _lang, source, first, second, note in everything:
        if source == "real":
            assert first in known and second in known, (first, second)
        pair = frozenset((first, second)) if first != second else frozenset((first, note))
        assert pair not in seen, (first, second)
        seen.add(pair)
        assert "\t" not in first + second + note and "\n" not in first + second + note
        assert label in {"duplicate", "update", "distinct"}
    return everything


def counts_table(pairs: list[Row]) -> str:
    """The pairs counted per language, label and source, as the table of real_pairs.md."""
    count = Counter((lang, label, source) for label, lang, source, *_ in pairs)
    lines = ["| lang | label | real | edit | total |", "|---|---|---|---|---|"]
    for lang in ("en", "ar", "es"):
        for label in ("duplicate", "update", "distinct", "all"):
            labels = ("duplicate", "update", "distinct") if label == "all" else (label,)
            real_n = sum(count[lang, one, "real"] for one in labels)
            edit_n = sum(count[lang, one, "edit"] for one in labels)
            lines.append(f"| {lang} | {label} | {real_n} | {edit_n} | {real_n + edit_n} |")
    return "\n".join(lines)


def main() -> None:
    """Write real_pairs.tsv and print its counts (for real_pairs.md)."""
    pairs = rows()
    print(f"{len(pairs)} pairs.\n\n{counts_table(pairs)}")
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(
            handle, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None, lineterminator="\n"
        )
        writer.writerow(COLUMNS)
        writer.writerows(pairs)


if __name__ == "__main__":
    main()
