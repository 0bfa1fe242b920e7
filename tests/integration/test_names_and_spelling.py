"""Names across scripts and spellings, and honest spelling variants, through the product's search() and the API."""

from __future__ import annotations

import pytest

from indexer.engine.backends import open_view
from searchapp import create_app
from searchapp.search import SearchRequest, search

from search_fixtures import index_of, searching

# (file, source, date, language, title, body)
DOCUMENTS = [
    ("be.txt", "X", "2023-01-01", "be", "Лукашэнка сустрэўся", "Аляксандр Лукашэнка сустрэўся з міністрам."),
    ("ru.txt", "X", "2023-01-02", "ru", "Лукашенко встретился", "Александр Лукашенко встретился с министром."),
    ("en.txt", "X", "2023-01-03", "en", "Lukashenko met", "Alexander Lukashenko met the minister."),
    ("lt.txt", "X", "2023-01-04", "en", "Lukašenka signs", "Lukašenka signed a decree."),
    ("uk.txt", "X", "2023-01-05", "uk", "Зеленський звернувся", "Володимир Зеленський звернувся до партнерів."),
    ("zen.txt", "X", "2023-01-06", "en", "Zelenskyy spoke", "President Zelenskyy spoke to partners."),
    ("tbe.txt", "X", "2023-01-07", "be", "Ціханоўская выступіла", "Святлана Ціханоўская выступіла."),
    ("tru.txt", "X", "2023-01-08", "ru", "Тихановская выступила", "Светлана Тихановская выступила."),
    ("ten.txt", "X", "2023-01-09", "en", "Tsikhanouskaya spoke", "Sviatlana Tsikhanouskaya spoke."),
    ("other.txt", "X", "2023-01-10", "ru", "Лукашук сказал", "Журналист Лукашук сказал это."),
    ("sanctions.txt", "X", "2023-01-11", "en", "Sanctions extended", "The sanctions were extended."),
    ("sanctions2.txt", "X", "2023-01-12", "en", "New measures", "New sanctions on imports."),
]
LUKASHENKA = {"Лукашэнка сустрэўся", "Лукашенко встретился", "Lukashenko met", "Lukašenka signs"}
ZELENSKY = {"Зеленський звернувся", "Zelenskyy spoke"}
TSIKHANOUSKAYA = {"Ціханоўская выступіла", "Тихановская выступила", "Tsikhanouskaya spoke"}


@pytest.fixture(scope="module")
def index(tmp_path_factory, search_backend):
    """A real index of the names corpus, built by the product's reindex."""
    return index_of(tmp_path_factory.mktemp("names"), DOCUMENTS, search_backend)


@pytest.fixture(scope="module")
def run(index):
    """Search the index with URL-style parameters through search()."""
    with searching(index) as run_search:
        yield run_search


def titles(result) -> list[str]:
    """Return the titles of a result's hits, best first."""
    return [hit["title"] for hit in result.hits]


@pytest.mark.parametrize(
    ("names", "found"),
    [
        (["Lukashenka", "Lukashenko", "Lukašenka", "Лукашэнка", "Лукашенко", "lukashenko"], LUKASHENKA),
        (["Zelensky", "Zelenskyy", "Zelenskyi", "Зеленський", "Зеленский"], ZELENSKY),
        (["Tsikhanouskaya", "Tikhanovskaya", "Ціханоўская", "Тихановская"], TSIKHANOUSKAYA),
    ],
)
def test_a_name_finds_its_spellings_in_every_script(run, names, found):
    """Each spelling of a name finds all of them, and never another person with a like name (Лукашук)."""
    for name in names:
        assert set(titles(run(q=name))) == found, name


def test_a_warmed_view_holds_the_names_so_no_visitor_reads_them(index):
    """Warming reads the names' vocabulary, which the first name a visitor types would otherwise read."""
    with open_view(index) as view:
        assert not view.vocabulary.held("names")
        view.prefetch(1 << 20)
        assert view.vocabulary.held("names")
        assert set(titles(search(view, SearchRequest(q="Lukashenka")))) == LUKASHENKA


def test_the_spelling_typed_ranks_first(run):
    """Cross-script and other spellings rank below the spelling as typed."""
    assert titles(run(q="Lukashenko"))[0] == "Lukashenko met"
    assert titles(run(q="Лукашэнка"))[0] == "Лукашэнка сустрэўся"
    assert titles(run(q="Ціханоўская"))[0] == "Ціханоўская выступіла"
    assert titles(run(q="Тихановская"))[0] == "Тихановская выступила"


def test_quoted_names_are_exact(run):
    """A name in quotes is that spelling alone: no other scripts, no variants."""
    assert titles(run(q='"Lukashenko"')) == ["Lukashenko met"]
    assert titles(run(q='"Лукашенко"')) == ["Лукашенко встретился"]


def test_a_known_word_is_never_fuzzed(run):
    """A word the index has finds only itself; a misspelt one finds its word, and is corrected honestly."""
    assert titles(run(q="Лукашук")) == ["Лукашук сказал"]
    result = run(q="sanctoins")
    assert set(titles(result)) == {"Sanctions extended", "New measures"}
    assert result.suggestion == "sanctions"


def test_a_quoted_or_fielded_misspelling_finds_nothing(run):
    """Inside quotes or after a field name a word is exact, misspelt or not."""
    assert run(q='"sanctoins"').total == 0
    assert run(q="title:sanctoins").total == 0


def test_did_you_mean_never_names_another_person(run):
    """An unknown name is not "corrected" to a different name sharing a stem."""
    assert run(q="Лукашинко").suggestion in (None, "Лукашенко")
    assert run(q="Лукашенкович").suggestion is None


def test_the_api_finds_names_across_scripts(index):
    """The JSON API gives the same hits for a Latin query of a Cyrillic name."""
    client = create_app({"TESTING": True, "INDEX": str(index)}).test_client()
    body = client.get("/api/search", query_string={"q": "Tsikhanouskaya"}).get_json()
    assert {hit["title"] for hit in body["results"]} == TSIKHANOUSKAYA


INFLECTED = [
    ("uk1.txt", "Y", "2023-02-01", "uk", "Нові санкції", "Партнери запровадили нові санкції проти Росії."),
    ("uk2.txt", "Y", "2023-02-02", "uk", "Звернення", "Ми звернулися до партнерів щодо санкцій та зброї."),
    (
        "nl1.txt",
        "Y",
        "2023-02-03",
        "nl",
        "Generatoren voor Oekraïne",
        "De stichting stuurde generatoren naar Oekraïne.",
    ),
    ("nl2.txt", "Y", "2023-02-04", "nl", "Nieuwe sancties", "De EU kondigde nieuwe sancties aan."),
    ("ru1.txt", "Y", "2023-02-05", "ru", "Санкции продлены", "Евросоюз продлил санкции против режима."),
    ("en1.txt", "Y", "2023-02-06", "en", "Guardsmen deployed", "Two guardsmen were deployed."),
]


@pytest.fixture(scope="module")
def inflected(tmp_path_factory, search_backend):
    """Search a real index of releases in several languages through search()."""
    with searching(index_of(tmp_path_factory.mktemp("inflected"), INFLECTED, search_backend)) as run_search:
        yield run_search


@pytest.mark.parametrize(
    ("q", "found"),
    [
        # Ukrainian by its lemmas: "санкціями" and "санкцій" are "санкція".
        ("санкціями", {"Нові санкції", "Звернення"}),
        ("партнерам", {"Нові санкції", "Звернення"}),
        # Dutch plural and singular, with and without the diaeresis.
        ("generator oekraine", {"Generatoren voor Oekraïne"}),
        ("sanctie", {"Nieuwe sancties"}),
        # Russian and English by Snowball.
        ("санкциями", {"Санкции продлены"}),
        ("guardsman", {"Guardsmen deployed"}),
    ],
)
def test_inflected_words_find_their_forms_in_each_language(inflected, q, found):
    """A query word finds the other forms of its word in the language of each release."""
    assert {hit["title"] for hit in inflected(q=q).hits} >= found


def test_a_phrase_is_analysed_in_each_language(inflected):
    """A quoted phrase of Ukrainian words matches their inflected forms in a Ukrainian release."""
    assert [hit["title"] for hit in inflected(q='"нова санкція"').hits] == ["Нові санкції"]


def test_names_in_ukrainian_transliteration(tmp_path, search_backend):
    """Kyiv finds Київ, Hrushevsky finds Грушевський, Yermak finds Єрмак: and back."""
    docs = [
        ("k.txt", "Z", "2023-03-01", "uk", "Київ", "У Києві Київ зустрів гостей."),
        ("h.txt", "Z", "2023-03-02", "uk", "Грушевський", "Михайло Грушевський писав."),
        ("y.txt", "Z", "2023-03-03", "uk", "Єрмак", "Андрій Єрмак заявив."),
        ("e.txt", "Z", "2023-03-04", "en", "Kyiv talks", "Hrushevsky and Yermak in Kyiv."),
    ]
    with open_view(index_of(tmp_path, docs, search_backend)) as view:
        for q, title in [("Kyiv", "Київ"), ("Hrushevsky", "Грушевський"), ("Yermak", "Єрмак"), ("Київ", "Kyiv talks")]:
            assert title in {hit["title"] for hit in search(view, SearchRequest(q=q)).hits}, q


def test_results_only_from_variants_say_so(run):
    """When the results come from a misspelt word's variants: "Showing results for X; search instead for Y"."""
    result = run(q="sanctoins extended")
    assert result.showing_for == "sanctions extended"
    assert result.search_instead == '"sanctoins" extended'
    assert run(q=result.search_instead).total_all_words == 0
    exact = run(q="sanctions extended")
    assert exact.showing_for is None and exact.suggestion is None


def test_the_page_shows_results_for_and_the_words_a_hit_lacks(index):
    """The page says what it shows results for, links the query as typed, and marks what partial hits lack."""
    client = create_app({"TESTING": True, "INDEX": str(index)}).test_client()
    html = client.get("/", query_string={"q": "sanctoins extended"}).get_data(as_text=True)
    assert "Showing results for" in html and "search instead for" in html
    assert "q=%22sanctoins%22+extended" in html
    html = client.get("/", query_string={"q": "sanctions imports extended"}).get_data(as_text=True)
    assert 'class="hit-missing"' in html
    body = client.get("/api/search", query_string={"q": "sanctoins extended"}).get_json()
    assert body["showing_results_for"] == "sanctions extended"
    assert body["search_instead_for"] == '"sanctoins" extended'


def test_highlighting_marks_the_spelling_found(run):
    """A Latin query marks the Cyrillic spelling in the Cyrillic release, and the typed one where it is written."""
    marked = {hit["title"]: hit["snippet_html"] for hit in run(q="Lukashenko").hits}
    assert "<mark>Лукашэнка</mark>" in marked["Лукашэнка сустрэўся"]
    assert "<mark>Lukashenko</mark>" in marked["Lukashenko met"]
    assert "<mark>Lukašenka</mark>" in marked["Lukašenka signs"]
    titled = {hit["title"]: hit["title_html"] for hit in run(q="Tsikhanouskaya").hits}
    assert titled["Тихановская выступила"] == "<mark>Тихановская</mark> выступила"


def test_a_form_of_another_language_matches_only_releases_in_it(tmp_path, search_backend):
    """German analysis makes "again" of "against": it must not find English releases that say "again"."""
    docs = [
        ("en1.txt", "W", "2023-04-01", "en", "Against the war", "They spoke against the war."),
        ("en2.txt", "W", "2023-04-02", "en", "Once more", "They met again."),
    ]
    with searching(index_of(tmp_path, docs, search_backend)) as run_search:
        assert [hit["title"] for hit in run_search(q="against").hits] == ["Against the war"]


def test_another_spelling_of_a_name_is_not_a_misspelling(tmp_path, search_backend):
    """A name found in another spelling is searched as that name: no spelling variants, no "showing results for"."""
    docs = [("a.txt", "W", "2023-05-01", "en", "Decree", "Lukashenko signed a decree.")]
    with searching(index_of(tmp_path, docs, search_backend)) as run_search:
        result = run_search(q="Lukashenka decree")
        assert [hit["title"] for hit in result.hits] == ["Decree"] and result.total_all_words == 1
        assert result.showing_for is None


def test_a_name_in_another_spelling_weighs_as_the_name(tmp_path, search_backend):
    """A name no release spells as typed weighs as much as a word found as typed: the release with it comes first."""
    docs = [
        ("n.txt", "W", "2023-05-01", "en", "Meeting", "Yesterday Lukashenko met an envoy."),
        ("d.txt", "W", "2023-05-02", "en", "Taxes", "Yesterday a decree on taxes was signed."),
        ("d2.txt", "W", "2023-05-03", "en", "Schools", "Today another decree on schools was published."),
    ]
    with searching(index_of(tmp_path, docs, search_backend)) as run_search:
        assert [hit["title"] for hit in run_search(q="Lukashenka decree").hits][0] == "Meeting"
