"""Site chrome on HTML pages: removing it improves the trusted extraction and never takes the release away."""

from __future__ import annotations

import pytest

from indexer.extract.chrome import is_chrome_line
from indexer.extract.clean import clean_file

TITLE = "Cabinet meets the Deputy Assistant Secretary of State"
RELEASE = [
    "On February 1 at the Museum of Free Belarus representatives of the United Transitional Cabinet met "
    "the Deputy Assistant Secretary of State responsible for Central and Eastern Europe.",
    "The representative of the Department of State confirmed that the American side continued to advocate "
    "free elections in Belarus and the release of all political prisoners.",
    "The parties also discussed the prospects of bringing the regime to account for the crimes that are of "
    "concern to the entire international community, and the proposals made by the Cabinet.",
    "During the meeting it was emphasised that the international security system is currently under a "
    "critical threat, and that further cooperation is needed to ensure a transition of power.",
]
# Link lists in plain <div>s, as many themes write their menus and footers: most of the page's text.
SITE_LINKS = "".join(
    f"<div class='site-links'><h4>Section {n}</h4><ul>"
    + "".join(f"<li><a href='/s{n}/{i}'>Programme area number {i} of section {n}</a></li>" for i in range(12))
    + "</ul></div>"
    for n in range(6)
)


def page(article: str, before: str = "", after: str = "") -> str:
    """Return a page holding an article between some site chrome."""
    return (
        f"<html><head><title>{TITLE} | United Cabinet</title></head><body>"
        f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>{before}{article}{after}"
        "<footer>© United Cabinet. All rights reserved.</footer></body></html>"
    )


def paragraphs(paras: list[str]) -> str:
    """Return paragraphs as HTML."""
    return "".join(f"<p>{p}</p>" for p in paras)


def clean(tmp_path, html: str):
    """Clean one HTML page the way `searchapp clean` does."""
    path = tmp_path / "release.html"
    path.write_text(html, encoding="utf-8")
    return clean_file(path)


@pytest.mark.parametrize(
    "container",
    [
        '<div class="sidebar-layout article-wrapper">',
        '<div class="content-sidebar-wrap">',
        '<div id="share-main">',
        '<div class="entry-content no-share">',
        '<div class="post-body" aria-hidden="true">',
        '<form id="aspnetForm" action="/news.aspx">',
    ],
)
def test_an_article_in_a_container_whose_words_look_like_chrome_keeps_its_body(tmp_path, container):
    tag = container[1 : container.index(" ")]
    article = f"{container}<h2>{TITLE}</h2>{paragraphs(RELEASE)}</{tag}>"
    doc = clean(tmp_path, page(article, after=SITE_LINKS))
    assert doc.title == TITLE
    assert doc.paragraphs == RELEASE


def test_chrome_around_a_real_article_is_still_stripped(tmp_path):
    article = (
        "<article><p>top of page</p><h1>" + TITLE + "</h1>"
        "<div class='share-buttons'><a>Share on Facebook</a> <a>Share on X</a></div>"
        + paragraphs(RELEASE)
        + "<div class='related-posts'><h3>Also on our site</h3>"
        "<p>The Cabinet presented its plan for the transfer of power to the envoys of the European Union "
        "at a meeting in Vilnius, where the delegations discussed sanctions and further support.</p></div>"
        "<p>bottom of page</p></article>"
    )
    doc = clean(tmp_path, page(article))
    assert doc.paragraphs == RELEASE


def test_a_page_whose_chrome_rules_would_remove_everything_keeps_the_trusted_text(tmp_path):
    # Each paragraph in its own block whose class says "social": removed, they would take the whole release.
    article = "".join(f"<div class='social-block'><p>{p}</p></div>" for p in RELEASE)
    doc = clean(tmp_path, page(f"<h1>{TITLE}</h1>{article}"))
    assert doc.paragraphs == RELEASE


def test_a_layout_table_loses_its_sidebar_cell_and_keeps_the_release(tmp_path):
    table = (
        "<table><tr><td>" + "<br><br>".join(RELEASE) + "</td>"
        "<td class='sidebar'>Archive: January, February, March, April, May, June</td></tr></table>"
    )
    doc = clean(tmp_path, page(f"<h1>{TITLE}</h1>{table}"))
    assert "Archive" not in doc.body
    assert all(p in doc.body for p in RELEASE)


@pytest.mark.parametrize(
    "classes",
    ["entry-content no-share", "article sticky-sidebar-parent", "entry themeform share", "post-body has-sidebar"],
)
def test_a_short_statement_in_a_container_named_as_the_article_is_not_chrome(tmp_path, classes):
    # Too short for trafilatura, so the page's own text is read: the container must survive chrome removal.
    statement = "The Cabinet condemns the arrest of journalists in Minsk and calls for their release."
    doc = clean(tmp_path, page(f"<h1>{TITLE}</h1><div class='{classes}'><p>{statement}</p></div>", after=SITE_LINKS))
    assert statement in doc.paragraphs


@pytest.mark.parametrize(
    "line, chrome",
    [
        ("Accueil » Actualités » Communiqués de presse", True),
        ("Home › News › Press releases", True),
        ("Retour sur les revues de rang « 1 » ou « 1* » où les chercheurs « placent » leurs articles", False),
        ("Der Minister sagte »Wir handeln« und »Das reicht nicht« dazu.", False),
        ("Teilen:", True),
        ("Mehr erfahren", True),
        ("weiterlesen →", True),
        ("Lire la suite", True),
        ("Lees meer", True),
        ("Mehr erfahren Sie unter der Telefonnummer der Pressestelle.", False),
    ],
)
def test_chrome_lines_in_the_corpus_languages_and_sentences_that_are_not(line, chrome):
    assert is_chrome_line(line) is chrome


def test_a_german_page_loses_its_buttons_and_the_list_after_das_koennte_sie_auch_interessieren(tmp_path):
    release = [
        "Das Kabinett hat am Mittwoch in Vilnius die Vertreter der Europäischen Union getroffen und über neue "
        "Sanktionen gegen das Regime in Minsk gesprochen.",
        "Die Delegationen vereinbarten, die Unterstützung für unabhängige Medien und politische Gefangene "
        "auszuweiten und sich im Frühjahr erneut zu treffen.",
        "Beide Seiten betonten, dass der Übergang zu freien Wahlen das Ziel der gemeinsamen Arbeit bleibt und "
        "die Zivilgesellschaft dabei eine tragende Rolle spielt.",
    ]
    teasers = "".join(
        f"<p><a href='/n/{i}'>Weitere Nachricht Nummer {i} über die Arbeit des Kabinetts in Europa</a></p>"
        for i in range(3)
    )
    article = (
        f"<article><h1>Kabinett trifft EU-Vertreter</h1><p>Teilen:</p>{paragraphs(release)}"
        f"<p>Mehr erfahren</p><h3>Das könnte Sie auch interessieren</h3>{teasers}</article>"
    )
    doc = clean(tmp_path, page(article).replace(f"<title>{TITLE} |", "<title>Kabinett trifft EU-Vertreter |"))
    assert doc.paragraphs == release


def test_a_page_inside_markup_that_says_navigation_keeps_its_release(tmp_path):
    html = (
        f"<html><head><title>{TITLE}</title></head><body><div role='navigation'>"
        f"<p><a href='/'>Home</a></p>{paragraphs(RELEASE)}</div></body></html>"
    )
    assert clean(tmp_path, html).paragraphs == RELEASE
