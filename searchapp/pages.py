"""The HTML pages: the search page at / and a page per document; each links its JSON twin."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for

from searchapp import chart, highlight, refine
from searchapp.index_access import cached_page, get_view, remember
from searchapp.search import MAX_QUERY_CHARS, SearchRequest, document

bp = Blueprint("pages", __name__)
# Past this many sources the facet gets a box to filter its list as you type.
SOURCE_FILTER_FROM = 8
# Parameters the search form shows as fields; the rest of the state rides along as hidden inputs.
FORM_FIELDS = {"q", "source", "from", "to", "page"}


@bp.get("/")
def search_page():
    """Search with facets; every state of the page is in its URL."""
    view = get_view()
    result = cached_page(view, SearchRequest.from_args(request.args))
    remember(result.request)
    # The request as the search read it: sources by their full names, for every link the page makes.
    req = result.request
    filters = refine.active_filters(req)
    link = refine.linker(req)
    return render_template(
        "search.html",
        result=result,
        req=req,
        link=link,
        filters=filters,
        hidden=[(k, v) for k, v in req.to_args() if k not in FORM_FIELDS],
        clear_all=refine.clear_all(req),
        year_chart=chart.year_chart(result.facets["year"], req, link),
        month_chart=chart.month_chart(result.facets.get("month", []), req, link),
        undated_href=link(undated=True, year=None, month=None, date_from=None, date_to=None, page=1),
        sorts=refine.sort_choices(req),
        pages=refine.page_choices(req, result.pages),
        alternatives=refine.alternatives(view, req, filters) if result.total == 0 else [],
        suggestion_href=link(q=result.suggestion, page=1) if result.suggestion else None,
        search_instead_href=link(q=result.search_instead, page=1) if result.search_instead else None,
        api_href=refine.search_url(req.to_args(), "api.api_search"),
        feed_href=refine.search_url(req.to_args(sort="relevance", page=1), "feeds.atom"),
        language_links=refine.language_links(req, result.facets["language"]),
        source_filter=len(result.facets["source"]) >= SOURCE_FILTER_FROM,
    )


@bp.get("/documents/<doc_id>")
def document_page(doc_id: str):
    """One press release: its text with the searched words marked, the original, and similar ones."""
    view = get_view()
    found = document(view, doc_id)
    if found is None:
        abort(404, f"No press release with id {doc_id!r}: it may have left the index; search for it by its words.")
    q = request.args.get("q", "")[:MAX_QUERY_CHARS].strip()
    return render_template(
        "document.html",
        doc=found,
        q=q,
        paragraphs=highlight.paragraphs(found["body"], highlight.query_terms(view, q)),
        api_href=url_for("api.api_document", doc_id=doc_id),
    )
