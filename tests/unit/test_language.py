"""Tests for indexer.extract.language: ISO 639-1 codes from real release text, letters and lang hints."""

import time

import pytest

from indexer.extract import language
from indexer.extract.language import detect_language

# First sentences of releases in the shared corpus (belarusians_nl_news_2022_2023 and
# ua_president_office_statements_2022), copied here because the corpus is not in the repository.
CORPUS_SENTENCES = [
    ("be", "Сёння 25 сакавіка, а значыць беларусы ўсяго свету адзначаюць Дзень Волі."),
    ("be", "Арганізацыя MARA віншуе вас усіх з гэтым вялікім святам!"),
    ("be", "Збор сродкаў на квіткі ў Efteling для дзетак бежанцаў"),
    ("be", "Цяпло і святло для Украіны"),
    (
        "be",
        "Шаноўнае спадарства, шчыра запрашаем вас на гутарку з вядомым беларускім журналістам Змітром "
        'Лукашуком. Падчас сустрэчы адбудзецца прэзентацыя кнігі "Беларуская нацыянальная ідэя ў выгнанні '
        'і на вайне".',
    ),
    ("ru", "Сегодня 25 марта, а это значит, что белорусы всего мира отмечают День Воли."),
    ("ru", "Организация МАРА поздравляет всех вас с этим великим праздником!"),
    ("ru", "Сбор средств на билеты в Efteling для детей беженцев"),
    ("ru", "Купалье на Северном море 2023"),
    (
        "ru",
        "Друзья, сердечно приглашаем вас на встречу с известным беларуским журналистом Змитром Лукашуком. "
        "В ходе встречи будет представлена книга «Белорусская национальная идея в изгнании и на войне».",
    ),
    ("nl", "Het is vandaag 25 maart, wat betekent dat Belarusen over de hele wereld Vrijheidsdag vieren."),
    ("nl", "Organisatie MARA feliciteert u allen met deze geweldige feestdag!"),
    ("nl", "Geld inzamelen voor Efteling-kaartjes voor vluchtelingenkinderen"),
    (
        "nl",
        "Meer dan 100 Belarusen uit Nederland, maar ook België en Duitsland kwamen samen op de Noordzee om "
        "Kupala voor de tweede keer te vieren!",
    ),
    ("uk", "Сьогодні – Прощена неділя. День, коли ми завжди просили пробачення."),
    ("uk", "Ірина Верещук розповідає про 9 погоджених на 17 березня гуманітарних коридорів"),
    ("uk", "Ми не пробачимо розстріляних житлових будинків."),
    (
        "uk",
        "У День прикордонника Президент Володимир Зеленський зустрівся із захисниками державного кордону "
        "України та вручив їм державні нагороди.",
    ),
    (
        "uk",
        "«Останні дії РФ – це порушення суверенітету й територіальної цілісності нашої держави. Уся "
        "відповідальність за наслідки у зв’язку зі згаданими рішеннями покладається на Росію» – заява "
        "Президента України Володимира Зеленського.",
    ),
    ("en", "It is the 11th day of war."),
    ("en", "Iryna Vereshchuk talks about 9 humanitarian corridors coordinated on March 17"),
    ("en", "We are proud of all those who are fighting for a free Ukraine."),
    ("en", "Unbreakable people of the bravest country!"),
    (
        "en",
        "Today we marked the Border Guard Day. It is clear that there can be no celebrations during the war. "
        "But it is necessary to support Ukrainian men and women who defend the state in the ranks of the "
        "Border Guard Service.",
    ),
]

WRITTEN_SENTENCES = [
    ("en", "The ministry will publish its annual report on Monday."),
    (
        "en",
        "Human rights groups called for the release of all political prisoners held in the country, saying "
        "that the detentions violate international law and the government's own constitution.",
    ),
    ("de", "Die Regierung hat neue Sanktionen beschlossen."),
    ("de", "Wir danken allen Spendern für ihre Unterstützung."),
    (
        "de",
        "Menschenrechtsorganisationen fordern die sofortige Freilassung aller politischen Gefangenen und "
        "werfen den Behörden vor, Journalisten systematisch einzuschüchtern.",
    ),
    ("fr", "Le gouvernement a annoncé de nouvelles sanctions."),
    ("fr", "Nous remercions tous les donateurs pour leur soutien."),
    (
        "fr",
        "Les organisations de défense des droits humains demandent la libération immédiate de tous les "
        "prisonniers politiques et dénoncent l'intimidation des journalistes.",
    ),
    ("pl", "Rząd ogłosił nowe sankcje wobec Białorusi."),
    ("pl", "Dziękujemy wszystkim darczyńcom za wsparcie."),
    (
        "pl",
        "Organizacje praw człowieka domagają się natychmiastowego uwolnienia wszystkich więźniów "
        "politycznych i oskarżają władze o zastraszanie dziennikarzy.",
    ),
    ("cs", "Vláda oznámila nové sankce proti Bělorusku."),
    ("cs", "Děkujeme všem dárcům za jejich podporu."),
    (
        "cs",
        "Organizace pro lidská práva požadují okamžité propuštění všech politických vězňů a obviňují úřady "
        "ze zastrašování novinářů.",
    ),
]


@pytest.mark.parametrize("expected, text", CORPUS_SENTENCES)
def test_corpus_sentences(expected, text):
    assert detect_language(text) == expected


@pytest.mark.parametrize("expected, text", WRITTEN_SENTENCES)
def test_written_sentences(expected, text):
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "expected, text",
    [
        ("es", "Las organizaciones de derechos humanos exigen la liberación inmediata de todos los presos políticos."),
        ("it", "Le organizzazioni per i diritti umani chiedono il rilascio immediato di tutti i prigionieri politici."),
        ("sv", "Människorättsorganisationer kräver att alla politiska fångar omedelbart friges."),
        ("bg", "Правителството обяви нови санкции."),
        ("el", "Η κυβέρνηση ανακοίνωσε νέες κυρώσεις."),
        ("ja", "政府は新たな制裁を発表した。"),
    ],
)
def test_other_languages_are_not_forced_into_ours(expected, text):
    assert detect_language(text) == expected


# Short texts the model alone gives to a neighbour, and the letters settle.
@pytest.mark.parametrize(
    "expected, text",
    [
        ("uk", "Мер Харкова Терехов Ігор Олександрович"),
        ("uk", "І Хрещатик побачить парад"),
        ("uk", "Такі самі люди. У вас"),
        ("ru", "Музыка для Беларуси"),
        ("be", "Ці ўсё добра?"),
        ("be", "Вялікі дзякуй"),
        ("ru", "Эти люди"),
        ("uk", "Їхні діти"),
    ],
)
def test_cyrillic_letters_separate_belarusian_ukrainian_russian(expected, text):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "   \n\t", "2023-03-25 12:00", "!!! ??? … — «»", "🙂🙂🙂", "١٢٣ ٤٥٦"])
@pytest.mark.parametrize("hint", [None, "en"])
def test_no_letters_means_no_language(text, hint):
    assert detect_language(text, hint=hint) is None


# --- the page's lang tag ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, hint, expected",
    [
        # Too short for the model, and the tag fits: the tag decides.
        # Ukrainian without a letter Russian lacks: alone it reads as Russian.
        ("Пане Президенте Стортингу!", None, "ru"),
        ("Пане Президенте Стортингу!", "uk", "uk"),
        ("Вельмишановний пане Хосодо!", "uk", "uk"),
        ("Дзень волі", "be", "be"),
        ("Kupala 2022: hoe het was", "en", "en"),
        # Long, but the model is unsure: the tag decides.
        ("Zmitry Lukashuk Den Haag presentation boek book Belarusian national idea", "en", "en"),
        ("Zmitry Lukashuk Den Haag presentation boek book Belarusian national idea", "nl", "nl"),
        # The text clearly disagrees: a template's lang="en", the wrong script, impossible letters.
        (CORPUS_SENTENCES[5][1], "en", "ru"),
        ("Українці!", "en", "uk"),
        ("Dear Mr.", "uk", "en"),
        ("Vrijheidsdag", "en", "nl"),
        ("Дзеткі бежанцаў у Efteling", "ru", "be"),
        ("Γεια σου", "en", "el"),
    ],
)
def test_hint_decides_only_when_the_text_cannot(text, hint, expected):
    assert detect_language(text, hint=hint) == expected


@pytest.mark.parametrize("hint", ["uk", "uk-UA", "UK", "uk_UA", " uk-ua ", "ua"])
def test_hint_is_normalised_to_its_language_code(hint):
    assert detect_language("Пане Президенте Стортингу!", hint=hint) == "uk"


@pytest.mark.parametrize("hint", ["", "x-default", "und", "zz", "ukr", "-"])
def test_hint_without_a_known_language_is_ignored(hint):
    assert detect_language("Пане Президенте Стортингу!", hint=hint) == "ru"


# --- sampling and the model ------------------------------------------------------------------


def test_only_the_start_of_the_text_is_read():
    english = "The ministry will publish its annual report on Monday. " * 40
    russian = CORPUS_SENTENCES[9][1] * 40
    assert len(english) > language.SAMPLE_CHARS
    assert detect_language(english + russian) == "en"
    assert detect_language(russian + english) == "ru"


def test_a_megabyte_of_text_is_fast():
    text = CORPUS_SENTENCES[17][1] * 8000
    detect_language("warm up the model")
    start = time.perf_counter()
    assert detect_language(text) == "uk"
    assert time.perf_counter() - start < 0.5


def test_the_model_is_loaded_once_and_answers_iso_639_1():
    assert language._model() is language._model()
    assert all(len(code) == 2 for code in language._model().nb_classes)
    assert "zxx" not in language._model().nb_classes
