"""Is a word that one line has where the other has another word a name (another town,
another hospital, another person: another story), in a script without capital letters?

Where the script writes capitals (Latin, Greek, Cyrillic) the writer tells us: a name is
capitalised, and dedupe.py reads that. Arabic (and Hebrew, Persian...) has no capitals, so
this module decides from what is left, and decides for precision: a replaced word counts
as a name unless it is a number, a typo of its counterpart (dedupe.py checks those), a
function or number word (listed here), a clitic-prefixed form of its counterpart ("بغزة" /
"غزة"), another form of its stem ("بلدية" / "بلديات"), a word found elsewhere in the
other line (moved), or shorter than MIN_NAME_LETTERS letters.

Why not word rarity (how rare the replaced word is in its language)? Measured with the
`wordfreq` package (3.1.1, Zipf scale, Arabic): places and the words a re-post swaps are
equally common. غزة 5.12, بيروت 4.97, العودة (al-Awda hospital, and "the return") 5.04,
القدس 4.94 against قصف "shelling" 4.53, إصابة "injury" 4.63, استشهد "was martyred" 4.15;
only small places are rare (كفركلا 1.94, قويسنا 2.40). Any rarity threshold either merges
a strike on Gaza with one on Beirut or splits a re-post. wordfreq also costs memory the
daemon does not have (target ~60 MiB RSS): importing it and reading the Arabic, English and
Spanish lists adds 31 MiB RSS with its "small" lists and 168 MiB with the default "large"
ones (a 58 MB package; measured in a scratch venv: VmRSS of /proc/self/status before and
after `wordfreq.get_frequency_dict(lang, "small")` and `zipf_frequency(word, lang)`). A
bundled top-N list cut from it would cost little memory but carries the same flaw, and
wordfreq's data is CC-BY-SA 4.0 (share-alike, attribution) besides. The store's own
document frequencies have the same flaw as any frequency: on a Gaza ticker "Gaza" is the
commonest word of all.

The price of this rule: an Arabic re-post that swaps a content word for a synonym (not a
number, not a typo) is a new story. Two alerts for one story cost a reader a glance; one
alert for two stories hides the second (and sends nothing to `updates = "silent"`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ticker.fold import fold_word

MIN_NAME_LETTERS = 3  # an Arabic name of two letters is rare; particles of two are common
STEM_LETTERS = 4  # Arabic words sharing this many first letters are forms of one stem

# Arabic proclitics a name can carry: و "and", ف "so", ب "in/by", ل "for", ك "as", and the
# article ال; "في بغزة" and "غزة" name one place.
_PROCLITICS = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_CLITIC_LETTERS = frozenset(clitic[0] for clitic in _PROCLITICS)

# Arabic function words (prepositions, conjunctions, pronouns, particles, demonstratives,
# auxiliaries), time words, quantifiers and number words (a count changing is an update):
# replacing one never makes another story. Written plainly,
# folded at import time, so they match folded words.
_ARABIC_FUNCTION = """
في من على إلى الى عن مع بعد قبل حتى منذ خلال عند عندما بين ضد نحو حول لدى إثر اثر عبر
وسط قرب جراء بسبب أمام امام تحت فوق دون مثل غير سوى أن ان إن لن لم لا ما ماذا لماذا
كيف أين متى هل قد لقد ثم أو او أي اي أم بل لكن كل بعض جميع كافة هذا هذه ذلك تلك هؤلاء
الذي التي الذين اللذين اللتين هو هي هم هن نحن أنا انا أنت انت كان كانت يكون تكون كانوا
وقد وفي ومن وعلى وإلى والى وعن ومع وبعد وقبل وأن وان ولا ولم ولن وما وهو وهي وكان وكانت
فيه فيها منه منها عليه عليها إليه اليه له لها لهم به بها بهم عنه عنها أيضا ايضا حيث إذ اذ
إذا اذا لو كما مما عما بما فيما بينما يوم اليوم أمس امس غدا الليلة صباح مساء فجر
الأحد الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت عاجل الآن الان
عدة عدد أكثر اكثر أقل اقل حوالي قرابة نحو
واحد واحدة اثنان اثنين اثنتان ثلاثة ثلاث أربعة اربعة أربع خمسة خمس ستة ست سبعة سبع ثمانية
ثماني تسعة تسع عشرة عشر عشرات مئة مائة مئات ألف الف آلاف الاف مليون ملايين نصف ربع
"""
# English and Spanish function words of four letters or more (shorter ones are never
# counted): a re-post in other words adds and drops them. Their names are capitalised, so
# these lists never decide what a name is.
_LATIN_FUNCTION = """
from than that this these those with into onto over under after before while since about
more most less least very also have been were will would could should their there which
what when where whose being does said says amid
desde hasta para sobre entre contra durante tras ante bajo como cuando donde pero sino
este esta estos estas ese esos esas aquel otro otra otros otras cual cuales todo toda todos
todas mucho muchos muy también según sido será fueron había han hay
"""
FUNCTION_WORDS = frozenset(fold_word(word) for word in (_ARABIC_FUNCTION + _LATIN_FUNCTION).split())


def is_function(word: str) -> bool:
    """Whether the folded word `word` is a function word (with or without a proclitic)."""
    return word in FUNCTION_WORDS or bare(word) in FUNCTION_WORDS


@lru_cache(maxsize=65_536)
def bare(word: str) -> str:
    """`word` (folded) without an Arabic proclitic, if a word of MIN_NAME_LETTERS is left.
    Cached: a source's lines repeat their words, and this runs for every word compared."""
    if word[:1] not in _CLITIC_LETTERS:
        return word
    for clitic in _PROCLITICS:
        if word.startswith(clitic) and len(word) - len(clitic) >= MIN_NAME_LETTERS:
            return word[len(clitic) :]
    return word


def is_cased(word: str) -> bool:
    """Whether `word`'s script has capital letters (so a name would show as one)."""
    return word.lower() != word.upper()


def same_word(a: str, b: str) -> bool:
    """Whether the folded words `a` and `b` are one word, one with a proclitic ("بغزة"),
    either or both stripped ("بلبنان" / "لبنان", where ل is the name's own)."""
    return a == b or bare(a) in (b, bare(b)) or bare(b) == a


def same_stem(a: str, b: str) -> bool:
    """Whether the folded words `a` and `b`, both of a script without capitals, are two
    forms of one stem (singular and plural, verb and noun: "بلدية" / "بلديات"): they
    share their first STEM_LETTERS letters. Latin words are never compared this way
    ("Khan" / "Khanyounis" are told apart by their capitals and typo distance)."""
    return (
        not is_cased(a)
        and min(len(a), len(b)) >= STEM_LETTERS
        and a[:STEM_LETTERS] == b[:STEM_LETTERS]
    )


def stem(word: str) -> str:
    """The folded word `word` of a script with capitals reduced to its stem, for measuring
    how much of a line's wording a re-post keeps ("killed" / "killing" -> "kill", "attacks"
    -> "attack"), by the Snowball English stemmer (Porter2, PyStemmer's C build); any other
    word as it is (its forms are compared by `same_stem`). PyStemmer keeps its own cache
    of 10,000 words, so no second one is kept here (each would hold its words for good)."""
    if not is_cased(word) or len(word) < STEM_LETTERS:
        return word
    return _english_stemmer().stemWord(word)


@lru_cache(maxsize=1)
def _english_stemmer() -> Any:
    import Stemmer  # PyStemmer: ~1 ms and ~1 MiB; only a line close to another needs it

    return Stemmer.Stemmer("english")


def may_be_name(word: str) -> bool:
    """Whether the folded word `word` of an uncased script could be a name: long enough
    and not a function word, with or without its proclitic."""
    stem = bare(word)
    return (
        len(stem) >= MIN_NAME_LETTERS and word not in FUNCTION_WORDS and stem not in FUNCTION_WORDS
    )


# What a toll counts. The same numbers counting another kind ("44 martyrs" / "44 wounded")
# are another story, the labelling rule of tests/data/real_pairs.md says; a number that
# changes with the kind ("4 injured" / "1 dead, 3 injured") is an update.
_COUNTED = {
    "dead": """killed dead deaths martyred martyrs martyr mártires mártir muertos muertes
    fallecidos asesinados شهيد شهيدا شهداء استشهاد قتيل قتلى مقتل وفاة وفيات""",
    "wounded": """wounded injured injuries injuring heridos herido lesionados جريح جرحى مصاب
    مصابا مصابين اصابة اصابات إصابة إصابات""",
    "held": """arrested detained detainees arrests detenidos arrestados detenciones معتقل
    معتقلين معتقلا اعتقال اعتقالات اسير اسرى أسير أسرى""",
    "missing": """missing desaparecidos مفقود مفقودين مفقودا""",
}
COUNTED = {fold_word(word): kind for kind, words in _COUNTED.items() for word in words.split()}


# Words a re-post in other words swaps for one another: the kinds of toll above, and acts
# of war reported one way or another ("carrying out attacks on" / "striking targets in").
# Only the wording is compared this way (how much of a line a re-post keeps): names and
# numbers still decide whether two lines tell one story.
_SAME_SENSE = {
    "strike": """attack attacks attacked attacking strike strikes struck striking hit hits
    hitting bomb bombs bombed bombing bombard bombarded bombardment bombardments shell
    shells shelled shelling raid raids raided target targets targeted targeting airstrike
    airstrikes ataque ataques atacan ataca atacó bombardeo bombardeos bombardea bombardean
    bombardeó قصف غارة غارات استهداف استهدف هجوم هجمات""",
}


def sense(word: str) -> str:
    """The folded word `word` as what it says, for measuring how much of a line's wording
    a re-post keeps: its kind of toll or of act ("killed" / "killing" / "martyred" ->
    "dead", "attacks" / "striking" -> "strike"), else its stem."""
    table = _senses()
    found = table.get(word) or table.get(bare(word))
    if found:
        return found
    stemmed = stem(word)
    return table.get(stemmed, stemmed)


@lru_cache(maxsize=1)
def _senses() -> dict[str, str]:
    """Each word of _COUNTED and _SAME_SENSE, folded and stemmed, -> its sense."""
    table: dict[str, str] = {}
    for kind, words in (_COUNTED | _SAME_SENSE).items():
        for word in words.split():
            table[fold_word(word)] = kind
            table.setdefault(stem(fold_word(word)), kind)
    return table


def counted(word: str) -> str | None:
    """What the folded word `word` counts ("dead", "wounded", "held", "missing"), if it
    names a kind of toll, with or without an Arabic proclitic."""
    return COUNTED.get(word) or COUNTED.get(bare(word))
